"""Claim due deliveries under a lease, and record what happened, fenced by the lease token.

PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, so several workers never hold the same row.
SQLite: the claim runs in a BEGIN IMMEDIATE transaction (one writer at a time). A worker that
dies mid-send loses its lease; the row is claimed again after lease_until, and a late answer
from the dead worker cannot overwrite the new one (the token no longer matches).

A target whose last attempt failed is probed: one row at a time, not its whole backlog.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from server.models.deliveries import Delivery, DeliveryState
from sync.policy import Dead, Delivered, Outcome, Retry


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    token: str
    target: str
    submission_version_id: int | None
    attempts: int
    first_attempt_at: datetime | None
    event: dict | None = None  # an event row (payload.build_event), not a submission version


def probe_of(session: Session, target: str) -> int | None:
    """When the target's most recent attempt failed and waits for a retry, that row's id: it
    is the probe, and the rest of the backlog waits for it to get through."""
    row = session.execute(
        select(Delivery.id, Delivery.state)
        .where(Delivery.target == target, Delivery.last_attempt_at.is_not(None))
        .order_by(Delivery.last_attempt_at.desc(), Delivery.id.desc())
        .limit(1)
    ).first()
    return row.id if row is not None and row.state == DeliveryState.PENDING else None


def claim_due(
    session: Session, targets: list[str], now: datetime, lease_seconds: float, limit: int
) -> list[Claim]:
    """Lease up to ``limit`` due rows per target; for a failing target, only its probe."""
    claims: list[Claim] = []
    due = and_(
        Delivery.state == DeliveryState.PENDING,
        Delivery.next_attempt_at <= now,
        or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
    )
    for target in targets:
        query = (
            select(
                Delivery.id,
                Delivery.submission_version_id,
                Delivery.attempts,
                Delivery.first_attempt_at,
                Delivery.event,
            )
            .where(Delivery.target == target, due)
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
        )
        probe = probe_of(session, target)
        if probe is not None:
            query = query.where(Delivery.id == probe)
        rows = session.execute(query.with_for_update(skip_locked=True)).all()
        for row in rows:
            token = secrets.token_hex(16)
            session.execute(
                update(Delivery)
                .where(Delivery.id == row.id)
                .values(lease_until=now + timedelta(seconds=lease_seconds), lease_token=token)
            )
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


def record(
    session: Session,
    claim: Claim,
    decision: Delivered | Retry | Dead,
    outcome: Outcome,
    now: datetime,
) -> bool:
    """Write the result if this worker still holds the lease; False when fenced out."""
    values: dict = {"lease_until": None, "lease_token": None}
    if not (isinstance(decision, Retry) and not decision.counts_as_failure):  # not a deferral
        values.update(
            attempts=claim.attempts + 1,
            first_attempt_at=claim.first_attempt_at or now,
            last_attempt_at=now,
            last_status=outcome.status,
            last_error=None
            if isinstance(decision, Delivered)
            else (outcome.body_excerpt or outcome.error or "")[:2000],
        )
    if isinstance(decision, Delivered):
        values.update(state=DeliveryState.DELIVERED, delivered_at=now)
    elif isinstance(decision, Retry):
        values.update(next_attempt_at=decision.at)
    else:
        values.update(state=DeliveryState.DEAD, last_error=decision.why[:2000])
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == claim.id,
            Delivery.lease_token == claim.token,
            Delivery.state == DeliveryState.PENDING,
        )
        .values(**values)
    )
    return bool(result.rowcount)


def release(session: Session, claims: list[Claim]) -> None:
    """Give back leases on rows this worker did not attempt (their target just failed)."""
    for claim in claims:
        session.execute(
            update(Delivery)
            .where(
                Delivery.id == claim.id,
                Delivery.lease_token == claim.token,
            )
            .values(lease_until=None, lease_token=None)
        )
