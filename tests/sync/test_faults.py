"""Exactly once under faults, over real HTTP to a register on loopback: a register that
trickles its answer is cut at the total deadline; answers cut short, payloads that cannot be
built and results that cannot be written are each handled on their own (nothing stays
leased, and what always fails ends dead); backoff counts from the end of the send and the
times recorded are the send's own; a worker killed mid-batch, and several workers with a
batch longer than the lease, send nothing twice but what the idempotency key drops."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from server.models.deliveries import Delivery
from server.models.submissions import SubmissionVersion
from server.models.types import utcnow
from sync.payload import idempotency_key
from sync.worker import drain
from tests.support.register import Scripted
from tests.support.xmls import instance
from tests.sync.test_workers import ROOT, delivered_count, wait_for

LATER = timedelta(hours=2)
AFTER_MAX_AGE = timedelta(days=15)  # DELIVERY_MAX_AGE_DAYS is 14


class NoJitter(random.Random):
    """Backoff at its floor (one second), so the test can say when the retry must be."""

    def uniform(self, a: float, b: float) -> float:
        return a


def rows(db) -> dict[str, Delivery]:
    """Deliveries by their version's instanceID."""
    with db.transaction(write=False) as session:
        return {
            instance_id: delivery
            for delivery, instance_id in session.execute(
                select(Delivery, SubmissionVersion.instance_id).join(
                    SubmissionVersion, SubmissionVersion.id == Delivery.submission_version_id
                )
            )
        }


def submit_many(submit, prefix: str, n: int) -> list[str]:
    ids = [f"uuid:{prefix}-{i:03d}" for i in range(n)]
    for instance_id in ids:
        submit(instance("visit", instance_id, gap="co"))
    return ids


def test_a_register_that_trickles_its_answer_is_cut_at_the_total_deadline(
    app, db, register, submit, visit_form
):
    # One byte every 0.5 s: each read comes well inside the 3 s timeout, the whole answer
    # would take 6 s. A per-read timeout lets it through; the deadline does not.
    register.script.append(Scripted(trickle=0.5))
    submit(instance("visit", "uuid:slow", gap="co"))
    now = utcnow()
    assert drain(app, now) == 1
    slow = rows(db)["uuid:slow"]
    assert (slow.state, slow.last_error, slow.lease_until) == ("pending", "timeout", None)
    assert slow.attempts == 1
    wait_for(lambda: register.abandoned == 1, "the register to see the send given up")
    drain(app, now + LATER)
    assert rows(db)["uuid:slow"].state == "delivered"
    assert len(register.stored) == 1  # the first copy was stored, the resend dropped by key


def test_answers_cut_short_are_retried_alone_then_dead_and_nothing_stays_leased(
    app, db, register, submit, visit_form
):
    register.always = Scripted(cut=True)  # announces more bytes than it sends, then closes
    ids = submit_many(submit, "cut", 3)
    now = utcnow()
    assert drain(app, now) == 1  # the first fails; the rest waits for the probe
    state = rows(db)
    assert state[ids[0]].attempts == 1
    assert state[ids[0]].last_error.startswith("connection: IncompleteRead")
    assert {d.lease_until for d in state.values()} == {None}
    assert [state[i].attempts for i in ids[1:]] == [0, 0]
    drain(app, now + AFTER_MAX_AGE)
    state = rows(db)
    assert state[ids[0]].state == "dead"
    assert "gave up after 2 attempts" in state[ids[0]].last_error
    assert {d.lease_until for d in state.values()} == {None}
    assert {d.state for d in state.values()} <= {"dead", "pending"}


def test_a_payload_that_cannot_be_built_is_retried_alone_and_ends_dead(
    app, db, register, submit, visit_form
):
    ids = submit_many(submit, "build", 3)
    with db.transaction() as session:
        session.execute(
            update(SubmissionVersion)
            .where(SubmissionVersion.instance_id == ids[1])
            .values(xml=b"<data><broken")
        )
    now = utcnow()
    assert drain(app, now) == 3
    state = rows(db)
    assert [state[i].state for i in ids] == ["delivered", "pending", "delivered"]
    assert state[ids[1]].last_error.startswith("payload: ")
    assert state[ids[1]].lease_until is None
    drain(app, now + AFTER_MAX_AGE)
    assert rows(db)[ids[1]].state == "dead"
    assert len(register.stored) == 2


@pytest.fixture
def unwritable(db):
    """A trigger that refuses to mark one delivery delivered: a database error while
    recording that one result, the others unaffected."""
    made: list[str] = []

    def make(delivery_id: int) -> None:
        with db.engine.begin() as conn:
            if db.is_sqlite:
                conn.execute(
                    text(
                        "CREATE TRIGGER refuse_delivered BEFORE UPDATE OF state ON deliveries "
                        f"WHEN NEW.id = {delivery_id} AND NEW.state = 'delivered' "
                        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
                    )
                )
            else:
                conn.execute(
                    text(
                        "CREATE FUNCTION refuse_delivered() RETURNS trigger AS $$ BEGIN "
                        f"IF NEW.id = {delivery_id} AND NEW.state = 'delivered' THEN "
                        "RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$ "
                        "LANGUAGE plpgsql"
                    )
                )
                conn.execute(
                    text(
                        "CREATE TRIGGER refuse_delivered BEFORE UPDATE ON deliveries "
                        "FOR EACH ROW EXECUTE FUNCTION refuse_delivered()"
                    )
                )
        made.append("trigger")

    def drop() -> None:
        if made:
            with db.engine.begin() as conn:
                if db.is_sqlite:
                    conn.execute(text("DROP TRIGGER IF EXISTS refuse_delivered"))
                else:
                    conn.execute(text("DROP TRIGGER IF EXISTS refuse_delivered ON deliveries"))
                    conn.execute(text("DROP FUNCTION IF EXISTS refuse_delivered()"))
            made.clear()

    make.drop = drop
    yield make
    drop()


def test_a_result_that_cannot_be_written_keeps_neither_the_others_nor_its_key(
    app, db, settings, register, submit, visit_form, project, unwritable
):
    ids = submit_many(submit, "write", 4)
    unwritable(rows(db)[ids[2]].id)
    now = utcnow()
    drain(app, now)
    state = rows(db)
    assert [state[i].state for i in ids] == ["delivered", "delivered", "pending", "delivered"]
    assert state[ids[2]].lease_until is not None  # held until its lease runs out
    assert len(register.stored) == 4
    unwritable.drop()
    drain(app, now + timedelta(seconds=settings.delivery_lease_seconds + 1))
    assert rows(db)[ids[2]].state == "delivered"
    assert len(register.stored) == 4  # sent again with the same key, and dropped by it
    assert register.posts.count(idempotency_key(project.id, "visit", ids[2])) == 2
    assert len(register.posts) == 5


def test_backoff_counts_from_the_end_of_the_send_and_the_times_are_the_sends_own(
    app, db, register, submit, visit_form
):
    register.script.extend([Scripted(delay=0.6), Scripted(500)])
    first, second = submit_many(submit, "times", 2)
    now = utcnow()
    drain(app, now, rng=NoJitter())
    state = rows(db)
    assert state[first].delivered_at >= now + timedelta(seconds=0.6)
    # The second request went after the first answer came back, not at the cycle's start.
    assert state[second].last_attempt_at >= now + timedelta(seconds=0.6)
    assert state[second].next_attempt_at >= state[second].last_attempt_at + timedelta(seconds=1)


def test_after_a_timeout_the_retry_counts_from_the_deadline_not_the_start(
    app, db, register, submit, visit_form
):
    register.script.append(Scripted(delay=5))  # hangs past the 3 s deadline
    submit(instance("visit", "uuid:hang", gap="co"))
    drain(app, utcnow(), rng=NoJitter())
    hang = rows(db)["uuid:hang"]
    assert hang.last_error == "timeout"
    # Three seconds of the send, then the one second of backoff from its end.
    assert hang.next_attempt_at >= hang.last_attempt_at + timedelta(seconds=4)


def start_worker(settings, **env) -> subprocess.Popen:
    environ = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "BLOB_STORE": settings.blob_store,
        "INSTANCE_PATH": settings.instance_path,
        "SECRET_KEY": settings.secret_key,
        "REGISTER_TARGET": settings.register_target,
        "REGISTER_SECRET": settings.register_secret,
        "DELIVERY_TIMEOUT_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.Popen([sys.executable, "-m", "sync"], cwd=ROOT, env=environ)


def test_a_worker_killed_during_trickling_sends_resends_only_with_the_same_keys(
    app, db, settings, register, submit, visit_form, project
):
    ids = submit_many(submit, "kill", 30)
    register.always = Scripted(trickle=0.05)  # 12 bytes in 0.6 s: slow, inside the deadline
    worker = start_worker(settings)
    try:
        wait_for(lambda: len(register.posts) >= 12, "the worker to be sending")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert delivered_count(db) < 30
    register.always = None
    drain(app, utcnow() + timedelta(seconds=settings.delivery_lease_seconds + 1))
    assert delivered_count(db) == 30
    keys = {idempotency_key(project.id, "visit", i) for i in ids}
    assert set(register.stored) == keys  # each version held once
    assert set(register.posts) == keys  # every resend carried its version's own key


@pytest.mark.postgres_only
def test_two_workers_with_a_batch_longer_than_the_lease_send_each_row_once(
    app, db, settings, register, submit, visit_form
):
    if settings.is_sqlite:
        pytest.skip("several workers is a PostgreSQL set-up; SQLite runs one")
    submit_many(submit, "lease", 60)
    register.delay = 0.4  # 60 rows, 8 at a time: about 3.5 s for the batch, the lease is 3 s
    env = {"DELIVERY_LEASE_SECONDS": "3"}
    workers = [start_worker(settings, **env), start_worker(settings, **env)]
    try:
        wait_for(lambda: delivered_count(db) == 60, "60 deliveries", seconds=120)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(30)
    assert register.max_in_flight_per_key == 1
    assert len(register.posts) == 60  # the lease was renewed: no row went twice
    assert len(register.stored) == 60
