"""Delivery: the outbox row for one submission version to one register target, or for one
event that is no submission (``event``: two clients merged as one person, or the merge
undone; services/duplicates.py), which has no submission version.

Written in the same transaction as the version (policy on_receipt) or its approval
(on_approval); claimed by sync/ workers with a lease and a fencing token.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.models.types import UTCDateTime, utcnow


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at (in flight while lease_until is in the future)
    DELIVERED = "delivered"
    DEAD = "dead"  # failed for good; kept with the register's answer, retryable by hand
    CANCELLED = "cancelled"  # the submission was rejected or deleted before it went out


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("submission_version_id", "target"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_version_id: Mapped[int | None] = mapped_column(ForeignKey("submission_versions.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    form_id: Mapped[int | None] = mapped_column(ForeignKey("forms.id"))
    #: An event row's document (sync/payload.build_event); None for a submission version.
    event: Mapped[dict | None] = mapped_column(JSON)
    target: Mapped[str] = mapped_column(String(255))
    trigger: Mapped[str] = mapped_column(String(16))  # received | approved | retried
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
