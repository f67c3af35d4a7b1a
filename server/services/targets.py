"""Plan targets: the planned number an indicator is measured against (domain decision 6).

The read side, shared by the indicators, the dashboard, the report and the API: a request's
period (a range of event dates) and scope (province, ward, model) find the targets entered
for that scope, summed over the periods of one kind that tile the range exactly (three months
make a quarter); when no kind tiles it (year to date, a chosen range), the target of the
smallest period that holds the whole range is given, and ``TargetMatch.covering`` says so,
so the page can say "kế hoạch năm" (the year's plan). docs/indicators.md keeps this rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models.indicators import PERIOD_KINDS, PlanTarget


@dataclass(frozen=True, slots=True)
class Scope:
    """Which records a request covers: None means every province / ward / model."""

    province: str | None = None
    ward: str | None = None
    model: str | None = None

    def target_scope(self) -> tuple[str, str] | None:
        """The one target scope this request is measured against, or None when it names more
        than one dimension (a ward's police model has no plan of its own)."""
        named = [(k, v) for k, v in (("ward", self.ward), ("model", self.model)) if v]
        if self.province and not self.ward:
            named.append(("province", self.province))
        if not named:
            return ("project", "")
        return named[0] if len(named) == 1 else None

    def as_json(self) -> dict:
        return {"province": self.province, "ward": self.ward, "model": self.model}


def period_start(kind: str, day: date) -> date:
    """The first day of the ``kind`` period (year, quarter, month) holding ``day``."""
    if kind == "year":
        return date(day.year, 1, 1)
    if kind == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if kind == "month":
        return date(day.year, day.month, 1)
    raise ValueError(kind)


def period_end(kind: str, start: date) -> date:
    """The last day of the ``kind`` period that begins on ``start``."""
    months = {"year": 12, "quarter": 3, "month": 1}[kind]
    month = start.month - 1 + months
    first_after = date(start.year + month // 12, month % 12 + 1, 1)
    return first_after - timedelta(days=1)


def periods_tiling(kind: str, first: date, last: date) -> list[date] | None:
    """The starts of the ``kind`` periods that make up [first, last] exactly, or None."""
    if period_start(kind, first) != first:
        return None
    starts, cursor = [], first
    while cursor <= last:
        starts.append(cursor)
        end = period_end(kind, cursor)
        if end > last:
            return None
        cursor = end + timedelta(days=1)
    return starts if starts and cursor - timedelta(days=1) == last else None


@dataclass(frozen=True, slots=True)
class TargetMatch:
    planned: float
    kind: str  # the period kind the number comes from
    covering: bool  # True: the target of a period longer than the range (e.g. the year's)


def planned(
    session: Session, project_id: int, first: date, last: date, scope: Scope
) -> dict[str, TargetMatch]:
    """Indicator code -> the target for [first, last] in ``scope`` (see the module's rule)."""
    where = scope.target_scope()
    if where is None:
        return {}
    rows = session.execute(
        select(PlanTarget.indicator, PlanTarget.period_kind, PlanTarget.period_start,
               PlanTarget.planned).where(
            PlanTarget.project_id == project_id,
            PlanTarget.scope_kind == where[0],
            PlanTarget.scope_value == where[1],
            PlanTarget.period_start <= last,
        )
    ).all()
    by_code: dict[str, dict[tuple[str, date], float]] = {}
    for code, kind, start, number in rows:
        by_code.setdefault(code, {})[(kind, start)] = number
    found: dict[str, TargetMatch] = {}
    for code, numbers in by_code.items():
        for kind in reversed(PERIOD_KINDS):  # month, quarter, year: the finest that tiles
            starts = periods_tiling(kind, first, last)
            if starts and all((kind, s) in numbers for s in starts):
                found[code] = TargetMatch(sum(numbers[(kind, s)] for s in starts), kind, False)
                break
        else:
            for kind in reversed(PERIOD_KINDS):
                start = period_start(kind, first)
                if period_end(kind, start) >= last and (kind, start) in numbers:
                    found[code] = TargetMatch(numbers[(kind, start)], kind, True)
                    break
    return found
