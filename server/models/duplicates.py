"""Suspected duplicate clients (DQ2 and beyond): the blocking keys of each open client, the
name frequencies the matcher weighs by, and the candidate pairs with their decisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.models.types import UTCDateTime, utcnow

#: A pair's state: suggested and waiting, merged ("same person"), or "not the same person".
OPEN, SAME, DIFFERENT = "open", "same", "different"


class DuplicateKey(Base):
    """One blocking key of an open client (services/duplicates.keys): a registration looks up
    the clients sharing one of its keys instead of reading the whole list."""

    __tablename__ = "duplicate_keys"
    __table_args__ = (
        UniqueConstraint("entity_id", "key"),
        Index("ix_duplicate_keys_lookup", "dataset_id", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    key: Mapped[str] = mapped_column(String(64))


class DuplicateStats(Base):
    """How common each pair of letters, birth year and ward is in a list, counted by the
    nightly run: a match on a rare value weighs more than one on a common one."""

    __tablename__ = "duplicate_stats"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), primary_key=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DuplicatePair(Base):
    """Two clients of a list suspected to be one person (``a_id`` < ``b_id``), and what a
    supervisor decided: merged (``survivor_id`` kept, the other marked ``gop_vao``), or not
    the same person (never suggested again)."""

    __tablename__ = "duplicate_pairs"
    __table_args__ = (
        UniqueConstraint("a_id", "b_id"),
        Index("ix_duplicate_pairs_dataset_state", "dataset_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    a_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    b_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default=OPEN)
    survivor_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
