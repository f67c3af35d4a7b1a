"""Plan targets: the planned number an indicator is measured against (domain decision 6).

The read side, shared by the indicators, the dashboard, the report and the API: a request's
period (a range of event dates) and scope (province, ward, model) find the targets entered
for that scope, summed over the periods of one kind that tile the range exactly, the coarsest
such kind first (a year's report is measured against the year's plan when one was entered,
else against its four quarters or twelve months; a quarter's against its own plan, else its
three months); when no kind tiles it (year to date, a chosen range), the target of the
smallest period that holds the whole range is given, and ``TargetMatch.covering`` says so,
so the page can say "kế hoạch năm" (the year's plan). docs/indicators.md keeps this rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, may_set_target, require, sees_target
from server.errors import InsufficientRights, UnexpectedValue
from server.models.actors import Actor
from server.models.indicators import PERIOD_KINDS, SCOPE_KINDS, PlanTarget
from server.models.types import utcnow
from server.services import audit, indicator_catalogue, indicator_words, places, projects


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
        select(
            PlanTarget.indicator,
            PlanTarget.period_kind,
            PlanTarget.period_start,
            PlanTarget.planned,
        ).where(
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
        for kind in PERIOD_KINDS:  # year, quarter, month: what was planned for the range itself
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


# --- The plan as managers and supervisors write it (web page and PUT /targets) -----------


def models() -> dict[str, tuple[str, str]]:
    """The programme models a target or a request can name: the ``mo_hinh`` choices of the
    forms, code -> (Vietnamese label, English label)."""
    english = dict(indicator_words.choices("mo_hinh", "en"))
    return {code: (vi, english[code]) for code, vi in indicator_words.choices("mo_hinh", "vi")}


def unknown_code(kind: str, value: str) -> str | None:
    """Why ``value`` names no province, ward or model (the one rule for the plan's rows and
    the indicators' requests), or None when it names one."""
    if kind == "province" and value not in places.PROVINCES:
        return (
            f"{value!r} is not a province code of xlsforms/wards.csv "
            f"({', '.join(places.PROVINCES)})"
        )
    if kind == "ward" and value not in _ward_codes():
        hint = f" (did you mean {value.zfill(5)}?)" if value.zfill(5) in _ward_codes() else ""
        return f"{value!r} is not a commune/ward code of wards.csv{hint}"
    if kind == "model" and value not in models():
        return f"{value!r} is not a programme model (mo_hinh): {', '.join(models())}"
    return None


def check_scope(scope: Scope) -> None:
    """Raise UnexpectedValue when a request's province, ward or model names none."""
    for kind, value in (("province", scope.province), ("ward", scope.ward), ("model", scope.model)):
        why = unknown_code(kind, value) if value else None
        if why is not None:
            raise UnexpectedValue(f"The {kind}: {why}.", field=kind)


#: Units whose planned number is a count (people, events, sessions): a whole number.
WHOLE_UNITS = frozenset(
    {"people", "events", "referrals", "sessions", "attendances", "volunteers", "pairs", "clients"}
)
#: No plan names more than this (a typing slip, not a plan).
MAX_PLANNED = 1_000_000_000
_PERIOD = re.compile(r"^(\d{4})(?:-(?:[Qq]([1-4])|(0[1-9]|1[0-2])))?$")
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")


def parse_period(text: object) -> tuple[str, date] | None:
    """ "2026" (a year), "2026-Q1" (a quarter), "2026-03" (a month) -> (kind, first day)."""
    found = _PERIOD.match(text.strip()) if isinstance(text, str) else None
    if found is None or not 2000 <= int(found[1]) <= 2100:
        return None
    year = int(found[1])
    if found[2]:
        return "quarter", date(year, 3 * int(found[2]) - 2, 1)
    if found[3]:
        return "month", date(year, int(found[3]), 1)
    return "year", date(year, 1, 1)


def period_name(kind: str, start: date) -> str:
    """The period as the API writes it: "2026", "2026-Q1", "2026-03"."""
    if kind == "year":
        return str(start.year)
    if kind == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


@dataclass(frozen=True, slots=True)
class TargetInput:
    """One row of the plan as a caller sends it, not yet checked (strings or numbers as
    given); ``planned`` None removes the target."""

    scope_kind: object
    scope_value: object
    indicator: object
    period: object
    planned: object


@dataclass(frozen=True, slots=True)
class RowProblem:
    """What is wrong with one row: ``reason`` is a word the web UI turns into a sentence."""

    row: int  # 1-based, in the order sent
    field: str  # "scope" | "indicator" | "period" | "planned" | "row"
    reason: str
    value: object
    message: str

    def as_json(self) -> dict:
        value = self.value
        if not isinstance(value, str | int | float | None) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            value = str(value)  # JSON has no NaN: what was sent, as text
        return {
            "row": self.row,
            "field": self.field,
            "reason": self.reason,
            "value": value,
            "message": self.message,
        }


class InvalidTargets(UnexpectedValue):
    """Rows of a plan that cannot be written; nothing of the request is."""

    def __init__(self, problems: list[RowProblem]):
        told = "; ".join(f"row {p.row}: {p.message}" for p in problems)
        super().__init__(
            f"The targets were not saved: {told}.", rows=[p.as_json() for p in problems]
        )
        self.problems = problems


@dataclass(frozen=True, slots=True)
class TargetView:
    """A target as the plan's pages and the API show it."""

    scope_kind: str
    scope_value: str
    indicator: str
    period_kind: str
    period_start: date
    planned: float
    updated_at: datetime
    updated_by_id: int | None
    updated_by: str | None

    @property
    def period(self) -> str:
        return period_name(self.period_kind, self.period_start)

    def as_json(self) -> dict:
        return {
            "scope": {"kind": self.scope_kind, "value": self.scope_value},
            "indicator": self.indicator,
            "period": self.period,
            "planned": number_json(self.planned),
            "updatedAt": self.updated_at.isoformat().replace("+00:00", "Z"),
            "updatedBy": (
                {"id": self.updated_by_id, "displayName": self.updated_by}
                if self.updated_by_id is not None
                else None
            ),
        }


def number_json(value: float) -> int | float:
    """150.0 -> 150 (a count stays a whole number on the wire), 4099.5 stays."""
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True, slots=True)
class TargetFilters:
    """``period``: the targets whose period overlaps it ("2026": the year, its quarters and
    months; "2026-Q1": the year, the quarter and its months); ``indicator``: one code."""

    period: str | None = None
    indicator: str | None = None


# --- Checking rows --------------------------------------------------------------------------

#: (scope kind, scope value, indicator, period kind, period start): the plan's unique key.
Key = tuple[str, str, str, str, date]


def check_rows(rows: Sequence[TargetInput]) -> list[tuple[int, Key, float | None]]:
    """The rows as (row number, key, planned number or None to remove), every row checked
    before any is written. Raises InvalidTargets naming every problem of every bad row."""
    problems: list[RowProblem] = []
    checked: list[tuple[int, Key, float | None]] = []
    first_at: dict[Key, int] = {}
    for n, row in enumerate(rows, 1):
        found: list[RowProblem] = []
        scope = _check_scope(n, row, found)
        entry = _check_indicator(n, row, found)
        period = parse_period(row.period)
        if period is None:
            found.append(
                RowProblem(
                    n,
                    "period",
                    "bad_period",
                    row.period,
                    (
                        f"{row.period!r} is not a period: write 2026 (a year), 2026-Q1 (a quarter) "
                        "or 2026-03 (a month)"
                    ),
                )
            )
        planned = _check_planned(n, row.planned, entry, found)
        if not found:
            key = (*scope, entry.code, *period)
            if key in first_at:
                found.append(
                    RowProblem(
                        n,
                        "row",
                        "duplicate",
                        first_at[key],
                        f"it names the same target as row {first_at[key]}",
                    )
                )
            else:
                first_at[key] = n
                checked.append((n, key, planned))
        problems += found
    if problems:
        raise InvalidTargets(problems)
    return checked


def _check_scope(n: int, row: TargetInput, found: list[RowProblem]) -> tuple[str, str]:
    kind, value = row.scope_kind, row.scope_value
    if value is None:
        value = ""
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a ward code sent as a JSON number: 118 (hinted as 00118)
    if isinstance(value, str):
        value = value.strip()
    if kind not in SCOPE_KINDS:
        found.append(
            RowProblem(
                n,
                "scope",
                "bad_scope_kind",
                kind,
                f"the scope kind {kind!r} is not project, province, ward or model",
            )
        )
    elif not isinstance(value, str):
        found.append(
            RowProblem(n, "scope", "bad_scope_value", value, "the scope's value is not a code")
        )
    elif kind == "project" and value:
        found.append(
            RowProblem(
                n, "scope", "project_value", value, "the whole project's scope takes no value"
            )
        )
    elif kind != "project" and (why := unknown_code(kind, value)) is not None:
        found.append(RowProblem(n, "scope", f"unknown_{kind}", value, why))
    return str(kind), value if isinstance(value, str) else ""


def _ward_codes() -> frozenset[str]:
    return frozenset(p.code for p in places.wards())


def _check_indicator(n: int, row: TargetInput, found: list[RowProblem]):
    code = row.indicator.strip() if isinstance(row.indicator, str) else row.indicator
    entry = indicator_catalogue.BY_CODE.get(code) if isinstance(code, str) else None
    if entry is None:
        found.append(
            RowProblem(
                n,
                "indicator",
                "unknown_indicator",
                code,
                f"{code!r} is not an indicator code of docs/indicators.md",
            )
        )
    elif not entry.targetable:
        found.append(
            RowProblem(
                n,
                "indicator",
                "not_targetable",
                code,
                f"{code} is computed from other figures: it has no plan target",
            )
        )
        return None
    return entry


def _check_planned(n: int, value: object, entry, found: list[RowProblem]) -> float | None:
    if value is None:
        return None
    number = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.match(value.strip()):
        number = float(value.strip().replace(",", "."))
    if number is None or not math.isfinite(number):
        found.append(
            RowProblem(
                n, "planned", "not_a_number", value, f"the planned number {value!r} is not a number"
            )
        )
        return None
    reason, told = None, ""
    if number < 0:
        reason, told = "negative", "the planned number cannot be negative"
    elif number > MAX_PLANNED:
        reason, told = "too_large", f"the planned number is above {MAX_PLANNED:,}"
    elif entry is not None and entry.unit == "percent" and number > 100:
        reason, told = "above_100", f"{entry.code} is a percentage: its target is at most 100"
    elif entry is not None and entry.unit in WHOLE_UNITS and not number.is_integer():
        reason = "not_whole"
        told = f"{entry.code} counts {entry.unit}: its target is a whole number"
    if reason:
        found.append(RowProblem(n, "planned", reason, value, told))
    return number


def rows_from_json(body: object) -> list[TargetInput]:
    """The rows of a PUT /targets body: a JSON list of {"scope": {"kind", "value"},
    "indicator", "period", "planned"}. Raises InvalidTargets for a body of another shape
    (row 0 is the body itself); the values are checked by check_rows."""
    if not isinstance(body, list):
        raise InvalidTargets(
            [RowProblem(0, "row", "not_a_list", None, "the body must be a JSON list of targets")]
        )
    rows, problems = [], []
    for n, item in enumerate(body, 1):
        scope = item.get("scope") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(scope, dict) or "planned" not in item:
            problems.append(
                RowProblem(
                    n,
                    "row",
                    "bad_row",
                    None,
                    (
                        'a target is {"scope": {"kind": ..., "value": ...}, "indicator": ..., '
                        '"period": ..., "planned": ...}'
                    ),
                )
            )
            continue
        rows.append(
            TargetInput(
                scope.get("kind"),
                scope.get("value"),
                item.get("indicator"),
                item.get("period"),
                item["planned"],
            )
        )
    if problems:
        raise InvalidTargets(problems)
    return rows


# --- Writing and listing -----------------------------------------------------------------


def set_targets(
    session: Session, principal: Principal, project_id: int, rows: Sequence[TargetInput]
) -> list[TargetView]:
    """Write the rows (insert, change, or remove where ``planned`` is None), all or none, each
    change audited with its old and new number ("target.create", "target.update",
    "target.delete"); answers the plan as the caller sees it afterwards.

    :raise NotFound: no such project. :raise InsufficientRights: no target.update, or a row
    outside the caller's wards (permissions.may_set_target). :raise InvalidTargets: bad rows.
    """
    projects.get_project(session, project_id)
    require(principal, "target.update", project_id)
    checked = check_rows(rows)
    refused = [
        (n, key)
        for n, key, _ in checked
        if not may_set_target(principal, project_id, key[0], key[1])
    ]
    if refused:
        named = ", ".join(f"row {n} ({key[0]} {key[1]})".replace(" )", ")") for n, key in refused)
        raise InsufficientRights(
            f"Only the targets of your own communes/wards can be written by you: {named}."
        )
    for _n, key, planned in checked:
        _write(session, principal, project_id, key, planned)
    session.flush()
    return list_targets(session, principal, project_id, TargetFilters())


def _find(session: Session, project_id: int, key: Key) -> PlanTarget | None:
    kind, value, code, period_kind, start = key
    return session.scalar(
        select(PlanTarget).where(
            PlanTarget.project_id == project_id,
            PlanTarget.scope_kind == kind,
            PlanTarget.scope_value == value,
            PlanTarget.indicator == code,
            PlanTarget.period_kind == period_kind,
            PlanTarget.period_start == start,
        )
    )


def _write(
    session: Session, principal: Principal, project_id: int, key: Key, planned: float | None
) -> None:
    row = _find(session, project_id, key)
    if planned is None:
        if row is not None:
            _audit(session, principal, project_id, key, row, row.planned, None)
            session.delete(row)
        return
    if row is None:
        made = PlanTarget(
            project_id=project_id,
            scope_kind=key[0],
            scope_value=key[1],
            indicator=key[2],
            period_kind=key[3],
            period_start=key[4],
            planned=planned,
            updated_by_id=principal.actor_id,
        )
        try:
            with session.begin_nested():  # the unique key, not the SELECT, decides
                session.add(made)
        except IntegrityError:  # another request has just written it: change that one
            row = _find(session, project_id, key)
        else:
            _audit(session, principal, project_id, key, made, None, planned)
            return
    if row.planned != planned:
        _audit(session, principal, project_id, key, row, row.planned, planned)
        row.planned, row.updated_by_id, row.updated_at = planned, principal.actor_id, utcnow()


def _audit(
    session: Session,
    principal: Principal,
    project_id: int,
    key: Key,
    row: PlanTarget,
    old: float | None,
    new: float | None,
) -> None:
    action = "target.create" if old is None else "target.delete" if new is None else "target.update"
    audit.record(
        session,
        principal.actor_id,
        action,
        "project",
        project_id,
        {
            "targetId": row.id,
            "scope": {"kind": key[0], "value": key[1]},
            "indicator": key[2],
            "period": period_name(key[3], key[4]),
            "old": None if old is None else number_json(old),
            "new": None if new is None else number_json(new),
        },
    )


def list_targets(
    session: Session, principal: Principal, project_id: int, filters: TargetFilters
) -> list[TargetView]:
    """The project's plan as the caller may see it (permissions.sees_target), in the
    catalogue's order of indicators, then scope, then period.

    :raise NotFound: no such project. :raise UnexpectedValue: a filter's period is not one.
    """
    projects.get_project(session, project_id)
    require(principal, "indicator.read", project_id)
    query = (
        select(PlanTarget, Actor.display_name)
        .outerjoin(Actor, Actor.id == PlanTarget.updated_by_id)
        .where(PlanTarget.project_id == project_id)
    )
    if filters.indicator:
        query = query.where(PlanTarget.indicator == filters.indicator)
    overlap = None
    if filters.period:
        parsed = parse_period(filters.period)
        if parsed is None:
            raise UnexpectedValue(
                "period must be a year (2026), a quarter (2026-Q1) or a month (2026-03).",
                field="period",
                value=filters.period,
            )
        overlap = (parsed[1], period_end(*parsed))
        # Every period lies inside its year: one that overlaps starts in the same year.
        query = query.where(
            PlanTarget.period_start >= date(overlap[0].year, 1, 1),
            PlanTarget.period_start <= overlap[1],
        )
    order = {code: i for i, code in enumerate(indicator_catalogue.BY_CODE)}
    views = [
        TargetView(
            t.scope_kind,
            t.scope_value,
            t.indicator,
            t.period_kind,
            t.period_start,
            t.planned,
            t.updated_at,
            t.updated_by_id,
            name,
        )
        for t, name in session.execute(query)
        if sees_target(principal, project_id, t.scope_kind, t.scope_value)
        and (overlap is None or period_end(t.period_kind, t.period_start) >= overlap[0])
    ]
    return sorted(
        views,
        key=lambda v: (
            order.get(v.indicator, len(order)),
            v.indicator,
            SCOPE_KINDS.index(v.scope_kind),
            v.scope_value,
            v.period_start,
            PERIOD_KINDS.index(v.period_kind),
        ),
    )


@dataclass(frozen=True, slots=True)
class ScopeChoices:
    """The scopes a caller may write targets for (permissions.may_set_target), as the web
    form offers them."""

    whole_project: bool
    provinces: tuple[tuple[str, str], ...]  # (code, name)
    models: tuple[str, ...]
    wards: tuple[places.Place, ...]


def writable_scopes(principal: Principal, project_id: int) -> ScopeChoices:
    def may(kind: str, value: str) -> bool:
        return may_set_target(principal, project_id, kind, value)

    return ScopeChoices(
        may("project", ""),
        tuple((code, name) for code, name in places.PROVINCES.items() if may("province", code)),
        tuple(code for code in models() if may("model", code)),
        tuple(p for p in places.wards() if may("ward", p.code)),
    )
