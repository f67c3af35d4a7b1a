"""Shared set-up for the benchmarks: a fresh instance on SQLite or PostgreSQL, built through
the product's own services, and gunicorn started the way `make run` starts it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

import forms
from server.app import create_app
from server.auth.permissions import SYSTEM
from server.migrate import upgrade
from server.services import app_users, projects
from server.services import forms as form_service
from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"

FIELDS = (
    [("text", f"t{i}") for i in range(10)]
    + [("integer", f"n{i}") for i in range(5)]
    + [("decimal", f"d{i}") for i in range(3)]
    + [("date", f"dt{i}") for i in range(3)]
    + [("select_one yn", f"s{i}") for i in range(3)]
    + [("image", "anh")]
)
FORM_MD = (
    "| survey | | | |\n| | type | name | label |\n"
    + "".join(f"| | {t} | {n} | {n} |\n" for t, n in FIELDS)
    + (
        "| choices | | | |\n| | list_name | name | label |\n"
        "| | yn | co | Co |\n| | yn | khong | Khong |\n"
        "| settings | | | |\n| | form_id | version | |\n| | bench | 1 | |\n"
    )
)


def reset_database(kind: str, instance: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{instance}/bench.db"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname='bench'")).scalar():
            conn.execute(text("CREATE DATABASE bench"))
    admin.dispose()
    engine = create_engine(PG_BENCH)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return PG_BENCH


@contextmanager
def instance(kind: str, register_target: str | None = None):
    """Yield (env, app, server_url_of_app_user) for a fresh, migrated, seeded instance."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        path = Path(tmp)
        env = {
            "INSTANCE_PATH": str(path),
            "DATABASE_URL": reset_database(kind, path),
            "BLOB_STORE": f"file:{path}/blobs",
            "SECRET_KEY": "bench",
            "LOG_LEVEL": "WARNING",
            "EMBEDDED_WORKER": "no",
            "REGISTER_TARGET": register_target or f"dir:{path}/register",
        }
        upgrade(env["DATABASE_URL"])
        app = create_app(Settings.from_env(env))
        ext = app.extensions["donghanh"]
        compiled = forms.compile_xlsform(FORM_MD.encode(), filename="bench.md", validate=False)
        with ext.db.transaction() as session:
            project = projects.create_project(session, None, "bench")
            form_service.publish_form(session, ext.blobs, SYSTEM, project.id, compiled.xform)
            issued = app_users.create_app_user(session, SYSTEM, project.id, "bench")
        yield env, app, issued
        ext.db.dispose()


@contextmanager
def gunicorn(env: dict, workers: int):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
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
            "wsgi:app",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (gunicorn master and workers)."""
    total = 0
    pids = [
        str(pid),
        *subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
        ).stdout.split(),
    ]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total
