"""The audit log: one append-only row per action. Services call record(); nothing updates a row."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from server.models.audits import Audit
from server.models.types import utcnow


def record(
    session: Session,
    actor_id: int | None,
    action: str,
    subject_type: str | None = None,
    subject_id: int | None = None,
    details: dict | None = None,
) -> None:
    """Write one audit row in the caller's transaction (dotted actions, e.g. submission.create)."""
    session.execute(
        insert(Audit).values(
            actor_id=actor_id,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            details=details,
            acted_at=utcnow(),
        )
    )
