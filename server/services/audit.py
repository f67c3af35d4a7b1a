"""The audit log: one append-only row per action (database triggers refuse UPDATE and DELETE).
Services call record(); administrators search and export it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

from server.auth.permissions import Principal, require
from server.models.actors import Actor
from server.models.audits import Audit
from server.models.types import utcnow
from server.services import exports


def record(
    session: Session,
    actor_id: int | None,
    action: str,
    subject_type: str | None = None,
    subject_id: int | ClauseElement | None = None,
    details: dict | None = None,
) -> None:
    """Write one audit row in the caller's transaction (dotted actions, e.g. submission.create).
    ``subject_id`` may be a scalar subquery (the row's id read by the same INSERT)."""
    row = {
        "actor_id": actor_id,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "details": details,
        "acted_at": utcnow(),
    }
    if isinstance(subject_id, ClauseElement):
        session.execute(insert(Audit.__table__).values(row))
    else:
        session.execute(_INSERT, row)


#: Built once: the statement is on every write path (one per submission received).
_INSERT = insert(Audit.__table__)


# --- Reading the log: search (UI and API) and export ----------------------------------


@dataclass(frozen=True, slots=True)
class AuditFilters:
    action: str | None = None  # exact, or a prefix ending in "." ("submission.")
    actor_id: int | None = None
    subject_type: str | None = None
    subject_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # keyset paging, newest first


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    acted_at: datetime
    actor_id: int | None
    actor: str | None
    action: str
    subject_type: str | None
    subject_id: int | None
    details: dict | None


def _query(filters: AuditFilters):
    query = select(Audit, Actor.display_name).outerjoin(Actor, Actor.id == Audit.actor_id)
    if filters.action:
        if filters.action.endswith("."):
            query = query.where(Audit.action.startswith(filters.action, autoescape=True))
        else:
            query = query.where(Audit.action == filters.action)
    if filters.actor_id is not None:
        query = query.where(Audit.actor_id == filters.actor_id)
    if filters.subject_type:
        query = query.where(Audit.subject_type == filters.subject_type)
    if filters.subject_id is not None:
        query = query.where(Audit.subject_id == filters.subject_id)
    if filters.since is not None:
        query = query.where(Audit.acted_at >= filters.since)
    if filters.until is not None:
        query = query.where(Audit.acted_at < filters.until)
    if filters.before_id is not None:
        query = query.where(Audit.id < filters.before_id)
    return query.order_by(Audit.id.desc())


def _row(audit: Audit, name: str | None) -> AuditRow:
    return AuditRow(
        audit.id,
        audit.acted_at,
        audit.actor_id,
        name,
        audit.action,
        audit.subject_type,
        audit.subject_id,
        audit.details,
    )


def search(
    session: Session, principal: Principal, filters: AuditFilters, limit: int = 100
) -> tuple[list[AuditRow], int | None]:
    """One page of matching rows, newest first, and the cursor of the next page (or None).
    Reading the log is itself written to it (count and filters)."""
    require(principal, "audit.read")
    limit = max(1, min(limit, 1000))
    rows = session.execute(_query(filters).limit(limit + 1)).all()
    page = [_row(a, n) for a, n in rows[:limit]]
    record(session, principal.actor_id, "audit.read", None, None, _kept(filters, count=len(page)))
    return page, page[-1].id if len(rows) > limit and page else None


def _kept(filters: AuditFilters, **more: object) -> dict:
    return {
        **{k: str(v) for k, v in dataclasses.asdict(filters).items() if v is not None},
        **more,
    }


def export(session: Session, principal: Principal, filters: AuditFilters) -> Iterator[AuditRow]:
    """Every matching row, newest first, read in batches; the export itself is audited
    (the caller commits that row before streaming)."""
    require(principal, "audit.read")
    for audit, name in session.execute(_query(filters).execution_options(yield_per=1000)):
        yield _row(audit, name)


def actors_in_log(session: Session, principal: Principal) -> list[tuple[int, str]]:
    """Who appears in the log, for the UI's filter."""
    require(principal, "audit.read")
    return [
        (i, n)
        for i, n in session.execute(
            select(Actor.id, Actor.display_name)
            .where(Actor.id.in_(select(Audit.actor_id).distinct()))
            .order_by(Actor.display_name)
        )
    ]


def actions_in_log(session: Session) -> list[str]:
    return list(session.scalars(select(Audit.action).distinct().order_by(Audit.action)))


CSV_COLUMNS = (
    "id",
    "logged_at",
    "actor_id",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "details",
)


def csv_lines(rows: Iterator[AuditRow]) -> Iterator[str]:
    """The rows as CSV text, one line at a time, through the one CSV writer for people."""
    return exports.csv_lines(
        CSV_COLUMNS,
        (
            (
                row.id,
                row.acted_at.isoformat(),
                row.actor_id if row.actor_id is not None else "",
                row.actor or "",
                row.action,
                row.subject_type or "",
                row.subject_id if row.subject_id is not None else "",
                json.dumps(row.details, ensure_ascii=False) if row.details else "",
            )
            for row in rows
        ),
    )


def record_export(session: Session, principal: Principal, filters: AuditFilters) -> None:
    require(principal, "audit.read")
    record(
        session,
        principal.actor_id,
        "audit.export",
        None,
        None,
        _kept(filters),
    )
