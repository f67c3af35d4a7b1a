"""The instance is the owner's only (issue 11): the instance folder, the SQLite database and its
-wal and -shm, the generated secret key, the blob folder and the embedded register are created
0700 (folders) and 0600 (files), never world-readable; an older, looser instance is tightened."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest

from server.app import create_app
from server.migrate import upgrade
from server.settings import Settings
from sync.worker import drain
from tests.support.xmls import instance

PHOTO = b"\xff\xd8\xff\xe0 a photo of a client"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def settings(tmp_path) -> Settings:
    """The embedded default, as `make run` has it: everything under one instance folder."""
    settings = Settings.from_env(
        {"INSTANCE_PATH": str(tmp_path / "instance"), "PUBLIC_URL": "https://donghanh.example.org"}
    )
    # `flask --app wsgi init`: the app is made, then the database is migrated.
    create_app(settings).extensions["donghanh"].db.dispose()
    upgrade(settings.database_url)
    return settings


def test_every_folder_and_file_of_the_instance_is_the_owners_only(
    settings, app, db, collect, visit_form
):
    root = Path(settings.instance_path)
    xml = instance("visit", f"uuid:{uuid.uuid4()}", gap="co", anh="a.jpg")
    assert collect.submit(xml, {"a.jpg": PHOTO})[-1].status == 201
    drain(app)
    with db.engine.connect() as connection:  # while open, SQLite keeps its -wal and -shm
        connection.exec_driver_sql("SELECT count(*) FROM submissions").scalar()
        database = root / "donghanh.db"
        files = [database, root / "donghanh.db-wal", root / "donghanh.db-shm"]
        files += [root / "secret_key"]
        files += [p for p in (root / "blobs").rglob("*") if p.is_file()]
        files += [p for p in (root / "register").rglob("*") if p.is_file()]
        folders = [root, root / "blobs", root / "register"]
        folders += [p for p in (root / "blobs").rglob("*") if p.is_dir()]
        folders += [p for p in (root / "register").rglob("*") if p.is_dir()]
        assert len([p for p in files if p.suffix == ".json"]) == 1  # the record forwarded
        assert {str(p.relative_to(root)): mode(p) for p in files} == {
            str(p.relative_to(root)): 0o600 for p in files
        }
        assert {str(p.relative_to(root)): mode(p) for p in folders} == {
            str(p.relative_to(root)): 0o700 for p in folders
        }


def test_an_older_world_readable_instance_is_tightened(tmp_path):
    root = tmp_path / "instance"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    settings = Settings.from_env({"INSTANCE_PATH": str(root)})
    upgrade(settings.database_url)
    database = root / "donghanh.db"
    database.chmod(0o644)
    app = create_app(settings)
    app.extensions["donghanh"].db.dispose()
    assert mode(root) == 0o700
    assert mode(database) == 0o600
