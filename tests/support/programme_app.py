"""The app as a programme site runs it, for the indicator tests: its own instance folder, blobs
and register under a temporary folder, on the test database, built with create_app (and, with
``init``, after `flask init` has published the real forms F1-F7)."""

from __future__ import annotations

from pathlib import Path

from server.app import create_app
from server.settings import Settings
from tests.conftest import SECRET


def programme_app(database_url: str, tmp: Path, init: bool = True):
    settings = Settings.from_env(
        {
            "INSTANCE_PATH": str(tmp / "instance"),
            "DATABASE_URL": database_url,
            "BLOB_STORE": f"file:{tmp}/blobs",
            "REGISTER_TARGET": f"dir:{tmp}/register",
            "SECRET_KEY": SECRET,
            "PUBLIC_URL": "https://donghanh.example.org",
        }
    )
    app = create_app(settings)
    if init:
        assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    return app
