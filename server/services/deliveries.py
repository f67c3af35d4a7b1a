"""The outbox: write delivery rows with the submission (or its approval), cancel them when a
submission is rejected, retry dead ones by hand, and count them per target. Never sends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, require
from server.errors import NotFound
from server.models.deliveries import Delivery, DeliveryState
from server.models.types import utcnow
from server.services import audit


def enqueue(
    session: Session,
    targets: list[str],
    submission_id: int,
    version_id: int,
    form_id: int,
    trigger: str,
) -> None:
    """One pending row per target for this version; a second call adds nothing."""
    if not targets:
        return
    now = utcnow()
    rows = [
        {
            "submission_version_id": version_id,
            "submission_id": submission_id,
            "form_id": form_id,
            "target": t,
            "trigger": trigger,
            "state": DeliveryState.PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for t in targets
    ]
    session.execute(_ENQUEUE[session.get_bind().dialect.name], rows)


#: Built once per dialect: the statement is on the hot path (one per submission received).
_ENQUEUE = {
    name: dialect.insert(Delivery.__table__).on_conflict_do_nothing(
        index_elements=["submission_version_id", "target"]
    )
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def enqueue_event(session: Session, targets: list[str], event: dict) -> None:
    """One pending row per target for an event that is no submission (a merge of two clients,
    or its undo): the register hears of it as it hears of submissions, in order."""
    now = utcnow()
    for target in targets:
        session.add(
            Delivery(
                target=target,
                trigger="event",
                state=DeliveryState.PENDING,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
                event=event,
            )
        )
    session.flush()


def forget_events(session: Session, project_id: int, uuids: list[str]) -> int:
    """Remove the event rows (sent or not) that name any of ``uuids``: a client erased on
    request leaves no merge event behind, pending or kept. Events are few (one per merge
    decision), so they are read and matched here rather than by each database's JSON."""
    names = set(uuids)
    if not names:
        return 0
    doomed = [
        row_id
        for row_id, event in session.execute(
            select(Delivery.id, Delivery.event).where(
                Delivery.event.is_not(None), Delivery.submission_version_id.is_(None)
            )
        )
        if event
        and event.get("projectId") == project_id
        and names & {event.get("merged"), event.get("into")}
    ]
    if doomed:
        session.execute(delete(Delivery).where(Delivery.id.in_(doomed)))
    return len(doomed)


def cancel_pending(session: Session, submission_id: int) -> int:
    """Cancel what has not gone out yet for a rejected or deleted submission."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.submission_id == submission_id,
            Delivery.state == DeliveryState.PENDING,
        )
        .values(state=DeliveryState.CANCELLED, lease_until=None, lease_token=None)
    )
    return result.rowcount or 0


def retry(
    session: Session, principal: Principal, delivery_id: int | None, now: datetime | None = None
) -> int:
    """Put one dead delivery (or all, when ``delivery_id`` is None) back in the queue."""
    require(principal, "delivery.retry")
    now = now or utcnow()
    where = [Delivery.state == DeliveryState.DEAD]
    if delivery_id is not None:
        if session.get(Delivery, delivery_id) is None:
            raise NotFound(f"Could not find delivery {delivery_id}.")
        where.append(Delivery.id == delivery_id)
    result = session.execute(
        update(Delivery)
        .where(*where)
        .values(
            state=DeliveryState.PENDING,
            next_attempt_at=now,
            first_attempt_at=None,
            trigger="retried",
            lease_until=None,
            lease_token=None,
        )
    )
    count = result.rowcount or 0
    audit.record(
        session, principal.actor_id, "delivery.retry", "delivery", delivery_id, {"count": count}
    )
    return count


@dataclass(frozen=True, slots=True)
class TargetStats:
    target: str
    pending: int
    in_flight: int
    delivered: int
    dead: int
    cancelled: int
    oldest_pending_seconds: float | None


def stats(session: Session, now: datetime | None = None) -> list[TargetStats]:
    """Counts per target; ``in_flight`` are pending rows under a live lease."""
    now = now or utcnow()
    leased = and_(Delivery.state == DeliveryState.PENDING, Delivery.lease_until > now)
    rows = session.execute(
        select(
            Delivery.target,
            func.sum(case((Delivery.state == DeliveryState.PENDING, 1), else_=0)),
            func.sum(case((leased, 1), else_=0)),
            func.sum(case((Delivery.state == DeliveryState.DELIVERED, 1), else_=0)),
            func.sum(case((Delivery.state == DeliveryState.DEAD, 1), else_=0)),
            func.sum(case((Delivery.state == DeliveryState.CANCELLED, 1), else_=0)),
            func.min(case((Delivery.state == DeliveryState.PENDING, Delivery.created_at))),
        )
        .group_by(Delivery.target)
        .order_by(Delivery.target)
    ).all()
    out = []
    for target, pending, in_flight, delivered, dead, cancelled, oldest in rows:
        if oldest is not None and oldest.tzinfo is None:  # SQLite hands MIN() back as text
            oldest = datetime.fromisoformat(str(oldest))
        age = (now - oldest).total_seconds() if oldest is not None else None
        out.append(
            TargetStats(
                target,
                int(pending or 0),
                int(in_flight or 0),
                int(delivered or 0),
                int(dead or 0),
                int(cancelled or 0),
                age,
            )
        )
    return out


def list_deliveries(
    session: Session, principal: Principal, state: str | None = None, limit: int = 100
) -> list[Delivery]:
    require(principal, "delivery.read")
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if state:
        query = query.where(Delivery.state == state)
    return list(session.scalars(query))


def retry_for_submission(
    session: Session, principal: Principal, project_id: int, submission_id: int, delivery_id: int
) -> int:
    """Retry one dead delivery of a submission the caller may review (the review page's button)."""
    require(principal, "submission.update", project_id)
    row = session.get(Delivery, delivery_id)
    if row is None or row.submission_id != submission_id:
        raise NotFound(f"Could not find delivery {delivery_id}.")
    if row.state != DeliveryState.DEAD:
        return 0
    row.state, row.next_attempt_at, row.first_attempt_at = DeliveryState.PENDING, utcnow(), None
    row.trigger, row.lease_until, row.lease_token = "retried", None, None
    audit.record(
        session, principal.actor_id, "delivery.retry", "delivery", delivery_id, {"count": 1}
    )
    return 1
