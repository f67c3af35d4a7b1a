"""Audit: the append-only log of who did what to which record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.models.types import UTCDateTime, utcnow


class Audit(Base):
    __tablename__ = "audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None]
    details: Mapped[dict | None] = mapped_column(JSON)
    acted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


#: The database refuses to change or remove an audit row (migration 0009 installs these).
#: PostgreSQL's TRUNCATE, which fires no row trigger, stays possible for a superuser.
APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER audits_no_update BEFORE UPDATE ON audits "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER audits_no_delete BEFORE DELETE ON audits "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
)
DROP_SQLITE = ("DROP TRIGGER audits_no_update", "DROP TRIGGER audits_no_delete")
APPEND_ONLY_POSTGRESQL = (
    "CREATE FUNCTION audits_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
    "CREATE TRIGGER audits_append_only BEFORE UPDATE OR DELETE ON audits "
    "FOR EACH ROW EXECUTE FUNCTION audits_append_only()",
)
DROP_POSTGRESQL = (
    "DROP TRIGGER audits_append_only ON audits",
    "DROP FUNCTION audits_append_only()",
)
