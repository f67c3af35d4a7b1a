"""Claim due deliveries under a lease, and record what happened, fenced by the lease token.

One statement each: a claim is one ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING``
per target (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers never hold the same
row; on SQLite the claim runs in a BEGIN IMMEDIATE transaction, one writer at a time), the
results of a group of sends are one ``UPDATE ... FROM (VALUES ...)``, a lease is renewed or
given back with one ``UPDATE``. A worker that dies mid-send loses its lease; the row is claimed
again after lease_until, and a late answer from the dead worker cannot overwrite the new one
(the token no longer matches).

A target whose last attempt failed is probed: one row at a time, not its whole backlog.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    Text,
    TextClause,
    and_,
    bindparam,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, aliased

from server.models.deliveries import Delivery, DeliveryState
from server.models.types import UTCDateTime
from sync.policy import Dead, Delivered, Outcome, Retry

NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    token: str
    target: str
    submission_version_id: int | None
    attempts: int
    first_attempt_at: datetime | None
    event: dict | None = None  # an event row (payload.build_event), not a submission version


@dataclass(frozen=True, slots=True)
class Result:
    """One attempt's outcome and decision, with the real times of the send and its answer."""

    claim: Claim
    decision: Delivered | Retry | Dead
    outcome: Outcome
    started: datetime
    ended: datetime


def claim_due(
    session: Session, targets: list[str], now: datetime, lease_seconds: float, limit: int
) -> list[Claim]:
    """Lease up to ``limit`` due rows per target; for a failing target, only its probe."""
    claims: list[Claim] = []
    until = now + timedelta(seconds=lease_seconds)
    for target in targets:
        token = secrets.token_hex(16)
        due = aliased(Delivery)
        latest = aliased(Delivery)  # the target's most recent attempt
        last = (
            select(latest.id, latest.state)
            .where(latest.target == target, latest.last_attempt_at.is_not(None))
            .order_by(latest.last_attempt_at.desc(), latest.id.desc())
            .limit(1)
            .subquery()
        )
        probe = select(last.c.id).where(last.c.state == DeliveryState.PENDING).scalar_subquery()
        ahead = aliased(Delivery)  # an event waits for every row of its target queued before it
        before = (
            select(ahead.id)
            .where(
                ahead.target == target,
                ahead.id < due.id,
                ahead.state == DeliveryState.PENDING,
            )
            .exists()
        )
        picked = (
            select(due.id)
            .where(
                due.target == target,
                due.state == DeliveryState.PENDING,
                due.next_attempt_at <= now,
                or_(due.lease_until.is_(None), due.lease_until < now),
                or_(probe.is_(None), due.id == probe),
                # a merge event goes out after the submissions that made its clients (several
                # senders run at once) and after an earlier merge or its undo
                or_(due.submission_version_id.is_not(None), ~before),
            )
            .order_by(due.next_attempt_at, due.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = session.execute(
            update(Delivery)
            .where(Delivery.id.in_(picked.scalar_subquery()))
            .values(lease_until=until, lease_token=token)
            .returning(
                Delivery.id,
                Delivery.submission_version_id,
                Delivery.attempts,
                Delivery.first_attempt_at,
                Delivery.event,
                Delivery.next_attempt_at,
            )
            .execution_options(**NO_SYNC)
        ).all()
        for row in sorted(rows, key=lambda r: (r.next_attempt_at, r.id)):
            claims.append(
                Claim(
                    row.id,
                    token,
                    target,
                    row.submission_version_id,
                    row.attempts,
                    row.first_attempt_at,
                    row.event,
                )
            )
    return claims


def record(session: Session, results: list[Result]) -> set[int]:
    """Write the results this worker still holds the lease for, in one statement; return the
    ids written (the others were fenced out: another worker holds them, or they were
    cancelled)."""
    if not results:
        return set()
    postgres = session.get_bind().dialect.name == "postgresql"
    rows = []
    for r in results:
        claim, decision, outcome = r.claim, r.decision, r.outcome
        counted = not (isinstance(decision, Retry) and not decision.counts_as_failure)
        if isinstance(decision, Delivered):
            error = None
        elif isinstance(decision, Dead):
            error = decision.why[:2000]
        else:
            error = (outcome.body_excerpt or outcome.error or "")[:2000]
        rows.append(
            (
                claim.id,
                claim.token,
                counted,
                claim.attempts + 1 if counted else claim.attempts,
                (claim.first_attempt_at or r.started) if counted else claim.first_attempt_at,
                r.started,
                outcome.status,
                error,
                DeliveryState.DELIVERED
                if isinstance(decision, Delivered)
                else DeliveryState.DEAD
                if isinstance(decision, Dead)
                else DeliveryState.PENDING,
                decision.at if isinstance(decision, Retry) else None,
                r.ended if isinstance(decision, Delivered) else None,
            )
        )
    params = {
        f"{name}_{i}": value
        for i, row in enumerate(rows)
        for name, value in zip(COLUMNS, row, strict=True)
    }
    written = session.execute(_record_statement(len(rows), postgres), params)
    return set(written.scalars())


COLUMNS = {
    "id": Integer(),
    "token": String(),
    "counted": Boolean(),
    "attempts": Integer(),
    "first_attempt_at": UTCDateTime(),
    "last_attempt_at": UTCDateTime(),
    "last_status": Integer(),
    "last_error": Text(),
    "state": String(),
    "next_attempt_at": UTCDateTime(),
    "delivered_at": UTCDateTime(),
}
PG_TYPES = {"id": "INTEGER", "counted": "BOOLEAN", "attempts": "INTEGER", "last_status": "INTEGER"}
PG_TYPES |= {"token": "TEXT", "last_error": "TEXT", "state": "TEXT"}


@functools.lru_cache(maxsize=64)
def _record_statement(n: int, postgres: bool) -> TextClause:
    """``UPDATE deliveries ... FROM (VALUES ...)`` for ``n`` results, written once per size
    (a constructed VALUES of a thousand parameters costs more to compile than to run). The
    VALUES is a CTE because SQLite names no columns of a VALUES in FROM; PostgreSQL is told
    each parameter's type (a column of NULLs would be text)."""

    def param(name: str, i: int) -> str:
        if not postgres:
            return f":{name}_{i}"
        return f"CAST(:{name}_{i} AS {PG_TYPES.get(name, 'TIMESTAMP WITH TIME ZONE')})"

    rows = ", ".join("(" + ", ".join(param(name, i) for name in COLUMNS) + ")" for i in range(n))
    counted = "CASE WHEN results.counted THEN results.{0} ELSE deliveries.{0} END"
    sql = (  # only names and placeholders: every value is a bound parameter
        f"WITH results({', '.join(COLUMNS)}) AS (VALUES {rows}) "  # noqa: S608
        "UPDATE deliveries SET lease_until = NULL, lease_token = NULL, "
        "attempts = results.attempts, first_attempt_at = results.first_attempt_at, "
        f"last_attempt_at = {counted.format('last_attempt_at')}, "
        f"last_status = {counted.format('last_status')}, "
        f"last_error = {counted.format('last_error')}, "
        "state = results.state, "
        "next_attempt_at = COALESCE(results.next_attempt_at, deliveries.next_attempt_at), "
        "delivered_at = COALESCE(results.delivered_at, deliveries.delivered_at) "
        "FROM results WHERE deliveries.id = results.id "
        "AND deliveries.lease_token = results.token AND deliveries.state = 'pending' "
        "RETURNING deliveries.id"
    )
    return text(sql).bindparams(
        *(bindparam(f"{name}_{i}", type_=kind) for i in range(n) for name, kind in COLUMNS.items())
    )


def renew(session: Session, claims: list[Claim], now: datetime, lease_seconds: float) -> set[int]:
    """Extend the lease of rows this worker still holds; return their ids."""
    if not claims:
        return set()
    held = session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_([c.id for c in claims]),
            Delivery.lease_token.in_({c.token for c in claims}),
            Delivery.state == DeliveryState.PENDING,
        )
        .values(lease_until=now + timedelta(seconds=lease_seconds))
        .returning(Delivery.id)
        .execution_options(**NO_SYNC)
    )
    return set(held.scalars())


def release(session: Session, claims: list[Claim]) -> None:
    """Give back leases on rows this worker did not attempt (their target just failed)."""
    if not claims:
        return
    session.execute(
        update(Delivery)
        .where(
            and_(
                Delivery.id.in_([c.id for c in claims]),
                Delivery.lease_token.in_({c.token for c in claims}),
            )
        )
        .values(lease_until=None, lease_token=None)
        .execution_options(**NO_SYNC)
    )
