"""The forwarding loop: claim -> build -> send -> record. No transaction is open while a
request is in flight. ``drain(app, now)`` runs it to exhaustion for tests (time is passed in,
never slept on); ``run`` loops until stopped; ``start_in_thread`` is the embedded default."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import Flask

from server.models.types import utcnow
from sync import policy, queue
from sync.payload import Payload, build, build_event
from sync.targets import Target, from_config

log = logging.getLogger("donghanh.sync")
LEASE_SECONDS = 120.0
BATCH = 50
ATTACHMENT_GRACE = timedelta(hours=1)
SEND_CONCURRENCY = 8  # wait this long for split uploads to finish


class Worker:
    """One worker: the app's database, blobs and targets, and a random source for jitter."""

    def __init__(self, app: Flask, rng: random.Random | None = None):
        ext = app.extensions["donghanh"]
        self.db, self.blobs, self.settings = ext.db, ext.blobs, ext.settings
        self.configs = {t.name: t for t in ext.targets}
        self.targets: dict[str, Target] = {
            name: from_config(config, self.settings.s3_endpoint_url)
            for name, config in self.configs.items()
        }
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self.max_age = timedelta(days=self.settings.delivery_max_age_days)
        self.pool = ThreadPoolExecutor(
            max_workers=SEND_CONCURRENCY, thread_name_prefix="donghanh-send"
        )

    def cycle(self, now: datetime) -> int:
        """Claim one batch and process it; return how many rows were processed."""
        with self.db.transaction() as session:
            claims = queue.claim_due(session, list(self.targets), now, LEASE_SECONDS, BATCH)
        payloads = self.build_all(claims)
        failing: set[str] = set()
        skipped: list[queue.Claim] = []
        lock = threading.Lock()

        def one(claim: queue.Claim) -> None:
            with lock:
                if claim.target in failing:  # its target just failed: keep the rest for later
                    skipped.append(claim)
                    return
            decision = self.process(claim, payloads[claim.id], now)
            if isinstance(decision, policy.Retry) and decision.counts_as_failure:
                with lock:
                    failing.add(claim.target)

        # Each target's first send goes alone: if the register is down, only it fails, and the
        # target is then probed one request at a time (queue.py). The rest overlap (a register
        # far away answers in 100 ms, not 1 ms); each records its own result.
        firsts = {c.target: c for c in reversed(claims)}
        for claim in firsts.values():
            one(claim)
        list(self.pool.map(one, [c for c in claims if firsts[c.target] is not c]))
        if skipped:
            with self.db.transaction() as session:
                queue.release(session, skipped)
        return len(claims) - len(skipped)

    def build_all(self, claims: list[queue.Claim]) -> dict[int, Payload | policy.Outcome]:
        """Build the batch's payloads in one read-only session (forms and submitters are read
        once); a row that cannot be built gets an Outcome to retry, not an exception."""
        built: dict[int, Payload | policy.Outcome] = {}
        with self.db.transaction(write=False) as session:
            for claim in claims:
                try:
                    with session.begin_nested():
                        built[claim.id] = (
                            build_event(claim.event)
                            if claim.event is not None
                            else build(
                                session,
                                claim.submission_version_id,
                                self.configs[claim.target],
                                self.settings.public_url,
                            )
                        )
                except Exception as e:  # a broken row must not stop the queue: retried, logged
                    log.exception("delivery %s: payload could not be built", claim.id)
                    built[claim.id] = policy.Outcome(None, error=f"payload: {type(e).__name__}")
        return built

    def process(self, claim: queue.Claim, payload: Payload | policy.Outcome, now: datetime):
        """Attempt one delivery and record the decision (its own short transaction, so a
        killed worker resends at most what was in flight), which is returned."""
        started = time.monotonic()
        outcome = self.attempt(claim, payload, now)
        first = claim.first_attempt_at or now
        decision = policy.classify(outcome, claim.attempts + 1, first, now, self.max_age, self.rng)
        with self.db.transaction() as session:
            kept = queue.record(session, claim, decision, outcome, now)
        log.info(
            json.dumps(
                {
                    "event": "delivery.attempt",
                    "delivery": claim.id,
                    "target": claim.target,
                    "attempt": claim.attempts + 1,
                    "status": outcome.status,
                    "error": outcome.error,
                    "decision": type(decision).__name__,
                    "fenced": not kept,
                    "ms": round((time.monotonic() - started) * 1000, 1),
                }
            )
        )
        return decision

    def attempt(
        self, claim: queue.Claim, payload: Payload | policy.Outcome, now: datetime
    ) -> policy.Outcome:
        if isinstance(payload, policy.Outcome):
            return payload
        if not payload.complete and now - payload.version_created_at < ATTACHMENT_GRACE:
            return policy.Outcome(None, retry_after_seconds=60, error="defer")
        return self.targets[claim.target].send(payload, self.blobs.open)


def drain(
    app: Flask,
    now: datetime | None = None,
    rng: random.Random | None = None,
    max_cycles: int = 10_000,
) -> int:
    """Process everything due at ``now`` until nothing is left; return the rows processed."""
    worker = Worker(app, rng or random.Random(0))  # noqa: S311 (jitter, not secrets)
    now = now or utcnow()
    total = 0
    try:
        for _ in range(max_cycles):
            done = worker.cycle(now)
            total += done
            if done == 0:
                break
    finally:
        worker.pool.shutdown()
    return total


def run(app: Flask, stop: threading.Event, idle_seconds: float = 1.0) -> None:
    """Loop until ``stop`` is set: work while there is work, rest when there is none."""
    worker = Worker(app)
    try:
        while not stop.is_set():
            try:
                done = worker.cycle(utcnow())
            except Exception:  # keep looping through a database restart; logged each cycle
                log.exception("forwarding cycle failed")
                done = 0
            if done == 0:
                stop.wait(idle_seconds)
    finally:
        worker.pool.shutdown()


def start_in_thread(app: Flask) -> tuple[threading.Thread, threading.Event]:
    """Run the loop in a daemon thread of this process."""
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(app, stop), name="donghanh-sync", daemon=True)
    thread.start()
    return thread, stop


def start_embedded(app: Flask) -> threading.Thread:
    """The embedded default: the one process holding ``instance/sync.lock`` forwards; the
    others block on the lock in a thread and take over when that process exits."""

    def hold_lock_then_run() -> None:
        path = os.path.join(app.extensions["donghanh"].settings.instance_path, "sync.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held until this process exits
        run(app, threading.Event())

    thread = threading.Thread(target=hold_lock_then_run, name="donghanh-sync", daemon=True)
    thread.start()
    return thread
