"""The forwarding loop: claim -> build -> send -> record. No transaction is open while a
request is in flight. ``drain(app, now)`` runs it to exhaustion for tests (time is passed in,
never slept on); ``run`` loops until stopped; ``start_in_thread`` is the embedded default."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import queue as queues
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import Flask

from server.models.types import utcnow
from sync import payload as payloads
from sync import policy, queue
from sync.payload import Payload
from sync.targets import Target, from_config

log = logging.getLogger("donghanh.sync")
LEASE_SECONDS = 120.0  # the default of DELIVERY_LEASE_SECONDS
BATCH = 200  # rows claimed per target and cycle (more for a register that takes batches)
SEND_CONCURRENCY = 8  # requests at once per target (and as many answers being recorded)
ATTACHMENT_GRACE = timedelta(hours=1)  # wait this long for split uploads to finish
RENEW_MARGIN_SECONDS = 5.0

Clock = Callable[[], datetime]
Unit = list[tuple[queue.Claim, Payload]]  # what one request carries: one record, or a batch


class Worker:
    """One worker: the app's database, blobs and targets, a clock, and a random source for
    jitter. Each target has its own small pool of sending threads."""

    def __init__(self, app: Flask, rng: random.Random | None = None, clock: Clock = utcnow):
        ext = app.extensions["donghanh"]
        self.db, self.blobs, self.settings = ext.db, ext.blobs, ext.settings
        self.configs = {t.name: t for t in ext.targets}
        self.targets: dict[str, Target] = {
            name: from_config(config, self.settings.s3_endpoint_url)
            for name, config in self.configs.items()
        }
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self.clock = clock
        self.max_age = timedelta(days=self.settings.delivery_max_age_days)
        self.lease = float(self.settings.delivery_lease_seconds)
        self.margin = min(RENEW_MARGIN_SECONDS, self.lease / 4)
        # Enough for every sender to carry a full batch, where the register takes batches.
        largest = max((c.batch_size for c in self.configs.values() if c.batch_url), default=1)
        self.claim = min(2000, max(BATCH, largest * SEND_CONCURRENCY))
        self.senders = {
            name: ThreadPoolExecutor(SEND_CONCURRENCY, thread_name_prefix="donghanh-send")
            for name in self.targets
        }
        self.lanes = ThreadPoolExecutor(max(1, len(self.targets)), "donghanh-target")

    def close(self) -> None:
        for pool in (*self.senders.values(), self.lanes):
            pool.shutdown()
        for target in self.targets.values():
            close = getattr(target, "close", None)
            if close is not None:
                close()

    def cycle(self) -> int:
        """Claim one batch per target and forward it; return how many rows were processed
        (sent, deferred or failed to build; not those given back because their target
        failed). Targets go side by side: a slow register does not hold up another."""
        now = self.clock()
        with self.db.transaction() as session:
            claims = queue.claim_due(session, list(self.targets), now, self.lease, self.claim)
        if not claims:
            return 0
        sources = self.read(claims)
        lease_until = now + timedelta(seconds=self.lease)
        by_target: dict[str, list[queue.Claim]] = {}
        for claim in claims:
            by_target.setdefault(claim.target, []).append(claim)
        if len(by_target) == 1:
            [(name, mine)] = by_target.items()
            return self.forward(name, mine, sources, lease_until)
        lanes = [
            self.lanes.submit(self.forward, name, mine, sources, lease_until)
            for name, mine in by_target.items()
        ]
        return sum(lane.result() for lane in lanes)

    def read(self, claims: list[queue.Claim]) -> dict[int, payloads.Source | Exception]:
        """What the batch's documents are made of, in one read; if that fails, one version
        at a time, so a row that cannot be read is retried alone and the rest go."""
        ids = sorted({c.submission_version_id for c in claims if c.event is None})
        try:
            with self.db.transaction(write=False) as session:
                return dict(payloads.read(session, ids))
        except Exception:
            log.exception("payloads of %d versions could not be read together", len(ids))
        found: dict[int, payloads.Source | Exception] = {}
        for version_id in ids:
            try:
                with self.db.transaction(write=False) as session:
                    found.update(payloads.read(session, [version_id]))
            except Exception as e:
                log.exception("version %s: payload could not be read", version_id)
                found[version_id] = e
        return found

    def forward(
        self,
        name: str,
        claims: list[queue.Claim],
        sources: dict[int, payloads.Source | Exception],
        lease_until: datetime,
    ) -> int:
        """Send one target's share of the batch. The first request goes alone (a register
        that is down fails once and is then probed, queue.py); then up to SEND_CONCURRENCY
        at once. Whatever has come back is recorded in one statement while the next requests
        are in flight (so at most 2 x SEND_CONCURRENCY requests are sent and not recorded yet:
        what a killed worker sends again); before each request the lease is checked and, if
        the request could outlive it, renewed for everything not sent yet."""
        target, config = self.targets[name], self.configs[name]
        size = max(1, getattr(target, "batch_size", 1))
        waiting: deque[queue.Claim] = deque(claims)  # not sent yet (documents made as they go)
        settled: list[queue.Result] = []  # build errors and deferrals, written with the next
        done: queues.SimpleQueue[list[tuple[queue.Claim, policy.Outcome, datetime, datetime]]]
        done = queues.SimpleQueue()
        processed, outstanding, failing, first = 0, 0, False, True

        def next_unit() -> Unit:
            unit: Unit = []
            while waiting and len(unit) < size:
                claim = waiting.popleft()
                now = self.clock()
                made = self.prepare(claim, sources, config, now)
                if isinstance(made, Payload):
                    unit.append((claim, made))
                else:
                    settled.append(self.result(claim, made, now, now))
            return unit

        def top_up() -> int:
            nonlocal lease_until
            sent = 0
            while (
                waiting and not failing and outstanding + sent < (1 if first else SEND_CONCURRENCY)
            ):
                lease_until = self.hold(waiting, lease_until, config.timeout_seconds)
                unit = next_unit()
                if unit:
                    self.senders[name].submit(self.send, target, unit, done)
                    sent += 1
            return sent

        while True:
            outstanding += top_up()
            if not outstanding:
                break
            came = [done.get()]
            while True:
                try:
                    came.append(done.get_nowait())
                except queues.Empty:
                    break
            outstanding -= len(came)
            results = [self.result(*sent) for unit in came for sent in unit]
            failing = failing or any(
                isinstance(r.decision, policy.Retry) and r.decision.counts_as_failure
                for r in results
            )
            first = False
            outstanding += top_up()  # the next requests go while these results are written
            results, settled[:] = settled + results, []
            self.record(results)
            processed += len(results)
        self.record(settled)
        processed += len(settled)
        if waiting:  # the target just failed: the rest waits for the probe (given back)
            with self.db.transaction() as session:
                queue.release(session, list(waiting))
        return processed

    def prepare(
        self,
        claim: queue.Claim,
        sources: dict[int, payloads.Source | Exception],
        config,
        now: datetime,
    ) -> Payload | policy.Outcome:
        """The claim's document, or the outcome that stands for it: a build error (retried,
        logged) or a deferral while its photos are still arriving."""
        if claim.event is not None:  # a merge or its undo (issue 13): no submission to read
            return payloads.build_event(claim.event)
        source = sources.get(claim.submission_version_id)
        if source is None or isinstance(source, Exception):
            kind = type(source).__name__ if source is not None else "NotFound"
            return policy.Outcome(None, error=f"payload: {kind}")
        try:
            built = payloads.render(source, config, self.settings.public_url)
        except Exception as e:  # a broken row must not stop the queue: retried, logged
            log.exception("delivery %s: payload could not be built", claim.id)
            return policy.Outcome(None, error=f"payload: {type(e).__name__}")
        if not built.complete and now - built.version_created_at < ATTACHMENT_GRACE:
            return policy.Outcome(None, retry_after_seconds=60, error="defer")
        return built

    def hold(self, waiting: deque[queue.Claim], lease_until: datetime, deadline: float) -> datetime:
        """Make sure the next request ends inside the lease: if it might not, renew the lease
        of every row not sent yet, and drop the rows another worker holds by now."""
        now = self.clock()
        if now + timedelta(seconds=deadline + self.margin) <= lease_until:
            return lease_until
        with self.db.transaction() as session:
            held = queue.renew(session, list(waiting), now, self.lease)
        if len(held) < len(waiting):
            log.warning(
                "%d deliveries were no longer held: left to the worker that holds them",
                len(waiting) - len(held),
            )
            kept = [claim for claim in waiting if claim.id in held]
            waiting.clear()
            waiting.extend(kept)
        return now + timedelta(seconds=self.lease)

    def send(self, target: Target, unit: Unit, done: queues.SimpleQueue) -> None:
        """One request (one record, or a batch where the register takes them); an outcome per
        record whatever happens, put on ``done`` with the real times of the send and answer."""
        started = self.clock()
        outcomes: list[policy.Outcome] = []
        try:
            if len(unit) == 1:
                outcomes = [target.send(unit[0][1], self.blobs.open)]
            else:
                outcomes = target.send_many([p for _, p in unit], self.blobs.open)
        except Exception as e:  # a target's bug or an unexpected answer: retried, logged
            log.exception("%s: send failed", target.name)
            outcomes = [policy.Outcome(None, error=f"send: {type(e).__name__}")] * len(unit)
        finally:
            ended = self.clock()
            if len(outcomes) != len(unit):
                outcomes = [policy.Outcome(None, error="send: interrupted")] * len(unit)
            done.put([(c, o, started, ended) for (c, _), o in zip(unit, outcomes, strict=True)])

    def result(
        self, claim: queue.Claim, outcome: policy.Outcome, started: datetime, ended: datetime
    ) -> queue.Result:
        """Decide from the end of the send: backoff counts from when the answer came."""
        first = claim.first_attempt_at or started
        decision = policy.classify(
            outcome, claim.attempts + 1, first, ended, self.max_age, self.rng
        )
        return queue.Result(claim, decision, outcome, started, ended)

    def record(self, results: list[queue.Result]) -> None:
        """Write the results in one statement; if that fails, each on its own, so one row
        that cannot be written does not keep the others leased (it is sent again when its
        lease runs out, with the same idempotency key)."""
        if not results:
            return
        try:
            with self.db.transaction() as session:
                kept = queue.record(session, results)
        except Exception:
            log.exception("results of %d deliveries could not be recorded together", len(results))
            kept = set()
            for r in results:
                try:
                    with self.db.transaction() as session:
                        kept |= queue.record(session, [r])
                except Exception:
                    log.exception(
                        "delivery %s: result could not be recorded; sent again when its lease "
                        "runs out",
                        r.claim.id,
                    )
        if log.isEnabledFor(logging.INFO):
            for r in results:
                log.info(
                    json.dumps(
                        {
                            "event": "delivery.attempt",
                            "delivery": r.claim.id,
                            "target": r.claim.target,
                            "attempt": r.claim.attempts + 1,
                            "status": r.outcome.status,
                            "error": r.outcome.error,
                            "decision": type(r.decision).__name__,
                            "fenced": r.claim.id not in kept,
                            "ms": round((r.ended - r.started).total_seconds() * 1000, 1),
                        }
                    )
                )


def clock_from(now: datetime) -> Clock:
    """A clock that reads ``now`` at first and then runs as real time does (tests pass a
    time in the future to make retries due; the real length of each send still counts)."""
    start = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - start)


def drain(
    app: Flask,
    now: datetime | None = None,
    rng: random.Random | None = None,
    max_cycles: int = 10_000,
) -> int:
    """Process everything due at ``now`` until nothing is left; return the rows processed."""
    worker = Worker(
        app,
        rng or random.Random(0),  # noqa: S311 (jitter, not secrets)
        clock_from(now) if now is not None else utcnow,
    )
    total = 0
    try:
        for _ in range(max_cycles):
            done = worker.cycle()
            total += done
            if done == 0:
                break
    finally:
        worker.close()
    return total


def run(app: Flask, stop: threading.Event, idle_seconds: float = 1.0) -> None:
    """Loop until ``stop`` is set: work while there is work, rest when there is none."""
    worker = Worker(app)
    try:
        while not stop.is_set():
            try:
                done = worker.cycle()
            except Exception:  # keep looping through a database restart; logged each cycle
                log.exception("forwarding cycle failed")
                done = 0
            if done == 0:
                stop.wait(idle_seconds)
    finally:
        worker.close()


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
