"""Real worker processes: `python -m sync` killed with SIGKILL mid-batch loses nothing, and
two workers on PostgreSQL never send the same row at the same time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.models.deliveries import Delivery
from server.models.types import utcnow
from sync.worker import LEASE_SECONDS, SEND_CONCURRENCY, drain
from tests.support.xmls import instance

ROOT = Path(__file__).resolve().parent.parent.parent


def start_worker(settings) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "BLOB_STORE": settings.blob_store,
        "INSTANCE_PATH": settings.instance_path,
        "SECRET_KEY": settings.secret_key,
        "REGISTER_TARGET": settings.register_target,
        "REGISTER_SECRET": settings.register_secret,
        "DELIVERY_TIMEOUT_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "sync"], cwd=ROOT, env=env)


def wait_for(condition, what: str, seconds: float = 60) -> None:
    """Wait for a condition a real process brings about (not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def delivered_count(db) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.state == "delivered")
        )


def test_worker_killed_mid_batch_loses_nothing_and_duplicates_are_dropped_by_key(
    app, db, settings, register, submit, visit_form
):
    for n in range(40):
        submit(instance("visit", f"uuid:kill-{n:02d}", gap="co"))
    register.delay = 0.1
    worker = start_worker(settings)
    try:
        wait_for(lambda: len(register.posts) >= 10, "the worker to start sending")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert delivered_count(db) < 40  # it really died in the middle of its batch
    register.delay = 0
    # The restarted worker finds the dead one's rows once their lease has run out.
    drain(app, utcnow() + timedelta(seconds=LEASE_SECONDS + 1))
    assert delivered_count(db) == 40
    assert len(register.stored) == 40
    assert set(register.posts) == set(register.stored)  # every resend was one the key dropped
    # At most the sends that were in flight or not recorded yet when it died went twice.
    assert len(register.posts) - len(register.stored) <= 2 * SEND_CONCURRENCY


@pytest.mark.postgres_only
def test_two_workers_on_postgresql_never_send_the_same_row_at_once(
    app, db, settings, register, submit, visit_form
):
    if settings.is_sqlite:
        pytest.skip("SKIP LOCKED with several workers is a PostgreSQL behaviour; SQLite runs one")
    for n in range(200):
        submit(instance("visit", f"uuid:two-{n:03d}", gap="co"))
    register.delay = 0.01
    workers = [start_worker(settings), start_worker(settings)]
    try:
        wait_for(lambda: delivered_count(db) == 200, "200 deliveries", seconds=120)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(30)
    assert register.max_in_flight_per_key == 1
    assert len(register.posts) == 200  # no row was sent twice
    assert len(register.stored) == 200
