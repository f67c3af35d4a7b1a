"""Fixtures: a migrated database (SQLite, or PostgreSQL from TEST_DATABASE_URL), the app on real
parts, a live HTTP server on loopback, and factories that go through the product's services."""

from __future__ import annotations

import contextlib
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

import forms
import server.models  # noqa: F401
from server.app import create_app
from server.auth import totp
from server.auth.permissions import SYSTEM
from server.db import Base
from server.migrate import upgrade
from server.models import audits
from server.services import app_users, projects, second_factor, users
from server.services import forms as form_service
from server.settings import Settings
from tests.support.collect import Collect

SECRET = "test-secret-key-not-for-production"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        if "test" not in url.rsplit("/", 1)[-1]:
            pytest.exit("TEST_DATABASE_URL must name a database with 'test' in it: it is wiped.")
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def migrated(database_url) -> str:
    """The test database, emptied and migrated to head once per run."""
    if database_url.startswith("postgresql"):
        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(database_url)
    return database_url


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch):
    for name in ("DATABASE_URL", "BLOB_STORE", "REGISTER_TARGET", "INSTANCE_PATH", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings(migrated, tmp_path) -> Settings:
    return Settings.from_env(
        {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": migrated,
            "BLOB_STORE": f"file:{tmp_path}/blobs",
            "REGISTER_TARGET": f"dir:{tmp_path}/register",
            "SECRET_KEY": SECRET,
            "PUBLIC_URL": "https://donghanh.example.org",
        }
    )


@pytest.fixture
def app(settings):
    app = create_app(settings)
    yield app
    empty_all_tables(app.extensions["donghanh"].db)
    app.extensions["donghanh"].db.dispose()


def empty_all_tables(db) -> None:
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql(
                "UPDATE forms SET current_version_id = NULL, draft_version_id = NULL"
            )
            for statement in audits.DROP_SQLITE:  # the log is append-only, but tests start empty
                conn.exec_driver_sql(statement)
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
            for statement in audits.APPEND_ONLY_SQLITE:
                conn.exec_driver_sql(statement)
        else:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(app):
    return app.extensions["donghanh"].db


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on 127.0.0.1 (threaded werkzeug server)."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def project(db):
    with db.transaction() as session:
        return projects.create_project(session, None, "Phường Bồ Đề")


@pytest.fixture
def make_form(app, db, project):
    """Publish an XLSForm written as a markdown table (pyxform's idiom) through the service."""

    def make(md: str, project_id: int | None = None, validate: bool = False):
        compiled = forms.compile_xlsform(md.encode(), filename="form.md", validate=validate)
        with db.transaction() as session:
            return form_service.publish_form(
                session,
                app.extensions["donghanh"].blobs,
                SYSTEM,
                project_id or project.id,
                compiled.xform,
                None,
                compiled.warnings,
            )

    return make


VISIT_MD = """
| survey   |               |          |                        |                      |
|          | type          | name     | label::Tiếng Việt (vi) | label::English (en)  |
|          | text          | ma_kh    | Mã khách hàng          | Client code          |
|          | select_one yn | gap      | Gặp được?              | Met?                 |
|          | image         | anh      | Ảnh                    | Photo                |
|          | begin_repeat  | ho_tro   | Hỗ trợ                 | Support              |
|          | image         | anh_ht   | Ảnh hỗ trợ             | Support photo        |
|          | end_repeat    |          |                        |                      |
| choices  |               |          |                        |                      |
|          | list_name     | name     | label::Tiếng Việt (vi) | label::English (en)  |
|          | yn            | co       | Có                     | Yes                  |
|          | yn            | khong    | Không                  | No                   |
| settings |               |          |                        |                      |
|          | form_id       | version  | form_title             |                      |
|          | visit         | {version} | Thăm                  |                      |
"""


@pytest.fixture
def visit_form(make_form):
    """A small home-visit form with a photo and a repeat of photos, version 1."""
    return make_form(VISIT_MD.format(version="1"))


@pytest.fixture
def app_user(db, project):
    with db.transaction() as session:
        return app_users.create_app_user(session, SYSTEM, project.id, "TNV Lan", all_forms=True)


@pytest.fixture
def collect(live_server, app_user):
    """A Collect-like client set up from the app user's server URL (as a QR code would)."""
    return Collect(app_user.server_url(live_server))


@pytest.fixture
def make_user(db, settings):
    """make_user(email, password, role, project_id, wards, digest=None) -> User. ``digest``
    None: on for data collectors (who use ODK Collect with a password), off for the others."""

    def make(
        email: str,
        password: str = "correct horse battery",
        role: str | None = "collector",
        project_id: int | None = None,
        wards: tuple[str, ...] = (),
        digest: bool | None = None,
    ):
        with db.transaction() as session:
            return users.create_user(
                session,
                None,
                email,
                password,
                settings.digest_realm,
                role,
                project_id,
                wards,
                digest=role == "collector" if digest is None else digest,
            )

    return make


@pytest.fixture
def enrol_totp(db, settings):
    """enrol_totp(email) -> the TOTP secret, set up through the product's service. Confirmed
    with the previous step's code, so that the current code is still free for a log-in."""

    def enrol(email: str) -> str:
        with db.transaction() as session:
            actor_id = users.find_user(session, email).actor_id
            secret = second_factor.begin_enrolment(session, actor_id, settings.secret_key).secret
            earlier = totp.code_at(secret, datetime.now(UTC) - timedelta(seconds=30))
            assert second_factor.confirm_enrolment(session, actor_id, earlier, settings.secret_key)
        return secret

    return enrol


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def gunicorn_server(settings, app, tmp_path):
    """The app under gunicorn (4 worker processes) on loopback, configured from the environment
    exactly as `make run` and docker-compose configure it."""
    with running_gunicorn(settings) as url:
        yield url


@contextlib.contextmanager
def running_gunicorn(settings: Settings, *extra_args: str, workers: int = 4):
    """Serve the app under gunicorn on a free loopback port until the block ends; gunicorn has
    stopped (and flushed its logs) when the block is left."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "BLOB_STORE": settings.blob_store,
        "INSTANCE_PATH": settings.instance_path,
        "SECRET_KEY": settings.secret_key,
        "REGISTER_TARGET": settings.register_target,
        "REGISTER_SECRET": settings.register_secret,
        "LOG_LEVEL": "WARNING",
    }
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            *extra_args,
            "wsgi:app",
        ],
        cwd=root,
        env=env,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("gunicorn did not start")
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3 API on loopback: moto in server mode."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch):
    """Credentials boto3 needs to talk to moto (it accepts any)."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
