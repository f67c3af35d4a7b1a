"""Fixtures of the fuzz tests: the server's temporary files redirected to a folder the test
owns (so leftovers are seen), a field client that can send any bytes, and an administrator."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import requests

from tests.fuzz.support import Field

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def spool_dir(settings, tmp_path, monkeypatch) -> Path:
    """The instance's spool folder, where the server spools bodies. The live server runs in
    this process: anything it would put in the system's temporary folder lands under
    tmp_path instead, where the tests see it as a file outside the blob store."""
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))
    return Path(settings.spool_path)


@pytest.fixture
def store_root(settings) -> Path:
    return Path(settings.blob_store.removeprefix("file:"))


@pytest.fixture
def field(live_server, app_user, visit_form) -> Field:
    return Field(app_user.server_url(live_server))


@pytest.fixture
def admin(live_server, make_user):
    """An administrator's Bearer session, as tests/api/test_forms_api.py opens it."""
    make_user("fuzz.admin@example.org", PASSWORD, "admin")
    token = requests.post(
        f"{live_server}/v1/sessions",
        timeout=10,
        json={"email": "fuzz.admin@example.org", "password": PASSWORD},
    ).json()["token"]

    def call(method, path, **kwargs):
        headers = {
            "Authorization": f"Bearer {token}",
            "Connection": "close",
            **kwargs.pop("headers", {}),
        }
        return requests.request(
            method, f"{live_server}/v1{path}", headers=headers, timeout=120, **kwargs
        )

    return call
