"""Plan targets ("kế hoạch", domain decision 6): the planned number for an indicator, in a
scope of a project (the whole project, a province, a ward or a programme model) and a period
(a year, a quarter or a month), entered by managers and supervisors."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.models.types import UTCDateTime, utcnow

#: What a target's scope names: the whole project ("" as value), a province code (2 digits),
#: a ward code (5 digits) or a programme model (a ``mo_hinh`` choice).
SCOPE_KINDS = ("project", "province", "ward", "model")
PERIOD_KINDS = ("year", "quarter", "month")


class PlanTarget(Base):
    __tablename__ = "plan_targets"
    __table_args__ = (
        UniqueConstraint(
            "project_id", "scope_kind", "scope_value", "indicator", "period_kind", "period_start"
        ),
        Index("ix_plan_targets_project_period", "project_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope_value: Mapped[str] = mapped_column(String(32), default="")
    #: An indicator code of docs/indicators.md: "I1", "I4:xn_hiv", "I14:amount", ...
    indicator: Mapped[str] = mapped_column(String(32))
    period_kind: Mapped[str] = mapped_column(String(8))
    #: The first day of the period: 1 January, the quarter's first day, the month's first day.
    period_start: Mapped[date] = mapped_column(Date)
    planned: Mapped[float] = mapped_column(Float)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
