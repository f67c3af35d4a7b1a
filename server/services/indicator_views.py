"""What the indicators page and the report show, built from indicators.report(): the period a
request names (this month, a month, a quarter, year to date, a range), the scope choices the
caller may make (its own wards only), the indicators grouped as the programme reads them, with
their numbers written in the reader's language (4.099; 113,3 %), labels instead of codes, the
"target of the year" note and the links to the records behind each number (the words and
numbers themselves: indicator_words.py).

Pure reading: no Flask. The page (server/web/indicators.py) and the workbook
(indicator_report.py) share it, so that both say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.orm import Session

from server.auth.permissions import Principal, require, ward_scope
from server.errors import UnexpectedValue
from server.services import audit, form_reads, indicator_catalogue, indicators, places
from server.services.indicator_words import (
    SUPPRESSED,
    as_of_text,
    breakdown_label,
    choices,
    day_text,
    number,
    order_of,
    place_name,
    word,
)
from server.services.targets import Scope, parse_period, period_end, period_start

PERIOD_CHOICES = ("month", "chosen_month", "quarter", "ytd", "range")
#: The groups of the page and the report, in order: (key, Vietnamese, English).
GROUPS = (
    ("reach", "Tiếp cận, tư vấn và chuyển gửi", "People reached and referred"),
    ("services", "Chuyển gửi theo dịch vụ", "Referrals by service"),
    ("post_rehab", "Hỗ trợ người sau cai", "Post-rehab support"),
    ("social", "Hoạt động xã hội", "Social activities"),
    ("quality", "Chất lượng số liệu", "Data quality"),
)
_GROUP_OF = {
    "I1": "reach",
    "I1a": "reach",
    "I2": "reach",
    "I3": "reach",
    "I19": "reach",
    "I4": "services",
    "I5": "services",
    "I6": "services",
    "I7": "services",
    "I8": "services",
    "I9": "services",
    "I10": "post_rehab",
    "I11": "post_rehab",
    "I12": "post_rehab",
    "I13": "post_rehab",
    "I14": "post_rehab",
    "I15": "post_rehab",
    "I16": "post_rehab",
    "I17": "post_rehab",
    "I18": "social",
    "I20": "social",
}
DIMENSIONS = ("sex", "ageGroup", "group")
#: Codes with no records of their own (I1a is I1 against its plan: I1 lists the people).
UNLISTED = frozenset({"I1a"})
# --- The request: period and scope ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # one of PERIOD_CHOICES
    first: date
    last: date


def resolve_period(args: dict[str, str], today: date) -> Period:
    """The dates a request's period names (query keys ``period``, ``month`` YYYY-MM,
    ``quarter`` YYYY-Qn, ``from`` and ``to`` YYYY-MM-DD); this month when none is named.
    Raises UnexpectedValue for a value that is not one of these."""
    kind = (args.get("period") or "month").strip()
    if kind not in PERIOD_CHOICES:
        raise UnexpectedValue("The period is not one of the choices.", field="period")
    if kind == "month":
        first = period_start("month", today)
        return Period(kind, first, period_end("month", first))
    if kind == "ytd":
        return Period(kind, date(today.year, 1, 1), today)
    if kind == "chosen_month":
        first = _period(args, "month", "The month is written YYYY-MM, e.g. 2026-03.")
        return Period(kind, first, period_end("month", first))
    if kind == "quarter":
        first = _period(args, "quarter", "The quarter is written YYYY-Qn, e.g. 2026-Q4.")
        return Period(kind, first, period_end("quarter", first))
    first, last = _day(args, "from"), _day(args, "to")
    indicators.check_range(first, last)
    return Period(kind, first, last)


def _period(args: dict[str, str], kind: str, message: str) -> date:
    """The first day of the month or quarter a query key names, as the plan writes periods."""
    found = parse_period(args.get(kind))
    if found is None or found[0] != kind:
        raise UnexpectedValue(message, field=kind)
    return found[1]


def _day(args: dict[str, str], name: str) -> date:
    found = indicators.parse_day(args, name)
    if found is None:
        raise UnexpectedValue(f"{name} is not a date (YYYY-MM-DD).", field=name)
    return found


@dataclass(frozen=True, slots=True)
class ScopeOptions:
    provinces: list[tuple[str, str]]
    wards: list[places.Place]
    models: list[tuple[str, str]]


def scope_options(principal: Principal, project_id: int, language: str) -> ScopeOptions:
    """The provinces, wards (only the caller's) and models the filter offers."""
    allowed = ward_scope(principal, "indicator.read", project_id)
    wards = [p for p in places.wards() if allowed is None or p.code in allowed]
    names = {p.group for p in wards}
    provinces = [(code, name) for code, name in places.PROVINCES.items() if name in names]
    return ScopeOptions(provinces, wards, choices("mo_hinh", language))


# --- The page --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    value: object  # the number, "<5" or None, as report() gave it
    cell: str | None  # the drill-down's ``cell`` ("sex:1"); None for the indicator's value
    linked: bool  # False for a suppressed, empty or zero cell (nothing to list)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    month: str  # YYYY-MM
    label: str  # 11/2026
    value: object
    text: str
    short: str  # the chart's label: a percent without decimals or sign


@dataclass(slots=True)
class IndicatorView:
    code: str
    name: str
    unit: str
    unit_label: str
    value: Cell
    target: str | None
    target_value: float | None
    percent: str | None
    percent_value: float | None
    covering: str | None  # "year", "quarter", "month" when the target is a longer period's
    numerator: str | None
    denominator: str | None
    trend: list[TrendPoint] = field(default_factory=list)
    breakdowns: list[tuple[str, str, list[tuple[str, Cell]]]] = field(default_factory=list)

    @property
    def has_trend(self) -> bool:
        """True when at least two months have a number (a chart of blanks says nothing)."""
        return sum(isinstance(p.value, int | float) for p in self.trend) > 1

    @property
    def trend_max(self) -> float:
        numbers = [p.value for p in self.trend if isinstance(p.value, int | float)]
        return max(numbers, default=0) or 1


@dataclass(frozen=True, slots=True)
class Dashboard:
    as_of: str
    period: Period
    scope: Scope
    groups: list[tuple[str, str, list[IndicatorView]]]
    quiet_services: list[str]  # services with no referral and no target: named in one line
    report: dict


def dashboard(
    session: Session,
    principal: Principal,
    project_id: int,
    period: Period,
    scope: Scope,
    language: str,
    timezone: str,
) -> Dashboard:
    """The indicators of the period and scope, grouped, as the page shows them."""
    require(principal, "indicator.read", project_id)
    report = indicators.report(session, principal, project_id, period.first, period.last, scope)
    views = {key: [] for key, _, _ in GROUPS}
    quiet = []
    for item in report["indicators"]:
        view = indicator_view(item, language, drill=not report.get("suppressed"))
        group = _group(item["code"])
        if group == "services" and ":" in item["code"] and _is_quiet(item):
            if item["code"].startswith("I4:"):
                quiet.append(view.name.split(":", 1)[-1].strip())
            continue
        views[group].append(view)
    groups = [(key, en if language == "en" else vi, views[key]) for key, vi, en in GROUPS]
    return Dashboard(
        as_of_text(report["asOf"], timezone),
        period,
        scope,
        [g for g in groups if g[2]],
        quiet,
        report,
    )


def _group(code: str) -> str:
    return "quality" if code.startswith("DQ") else _GROUP_OF.get(code.split(":")[0], "reach")


def group_index(code: str) -> int:
    """The position of the code's group in GROUPS."""
    return [key for key, _, _ in GROUPS].index(_group(code))


def group_title(code: str, language: str) -> str:
    """The name of the code's group in ``language``."""
    _, vi, en = GROUPS[group_index(code)]
    return en if language == "en" else vi


def _is_quiet(item: dict) -> bool:
    return item.get("value") in (None, 0) and item.get("target") in (None, 0)


def indicator_name(code: str, language: str, fallback: dict | None = None) -> str:
    """The indicator's name in ``language`` (the catalogue's, else what report() named)."""
    if indicator_catalogue.is_known(code):
        entry = indicator_catalogue.get(code)
        return entry.name_en if language == "en" else entry.name_vi
    names = fallback or {}
    return names.get(language) or names.get("vi") or code


def indicator_view(item: dict, language: str, drill: bool = True) -> IndicatorView:
    """One indicator of report() as the page shows it; ``drill``: each number links to the
    records behind it (not for a caller who sees small numbers as "< 5")."""
    unit = item.get("unit") or "people"
    code = item["code"]
    percent = item.get("percent")
    view = IndicatorView(
        code=code,
        name=indicator_name(code, language, item.get("name")),
        unit=unit,
        unit_label=word(unit, language),
        value=_cell(item.get("value"), language, unit, None, drill and code not in UNLISTED),
        target=None if item.get("target") is None else number(item["target"], language, unit),
        target_value=item["target"] if isinstance(item.get("target"), int | float) else None,
        percent=None if percent is None else number(percent, language, "percent"),
        percent_value=percent if isinstance(percent, int | float) else None,
        covering=item.get("targetPeriod") if item.get("targetCovering") else None,
        numerator=_optional(item.get("numerator"), language),
        denominator=_optional(item.get("denominator"), language),
    )
    for point in item.get("trend") or []:
        first = date.fromisoformat(point["month"] + "-01")
        view.trend.append(
            TrendPoint(
                point["month"],
                first.strftime("%m/%Y"),
                point.get("value"),
                number(point.get("value"), language, unit),
                _short(point.get("value"), language, unit),
            )
        )
    for dimension in DIMENSIONS:
        cells = (item.get("breakdown") or {}).get(dimension) or {}
        if cells:
            rows = [
                (
                    breakdown_label(dimension, key, language),
                    _cell(value, language, unit, f"{dimension}:{key}", drill),
                )
                for key, value in sorted(cells.items(), key=lambda kv: order_of(dimension, kv[0]))
            ]
            view.breakdowns.append((dimension, word(dimension, language), rows))
    return view


def _short(value, language: str, unit: str) -> str:
    if unit == "percent" and isinstance(value, int | float):
        return number(round(value), language)
    return number(value, language, unit)


def _cell(value, language: str, unit: str, cell: str | None, listed: bool = True) -> Cell:
    linked = listed and value not in (None, SUPPRESSED, 0) and unit not in ("ratio",)
    return Cell(number(value, language, unit), value, cell, linked)


def _optional(value, language: str) -> str | None:
    return None if value is None else number(value, language, "people")


# --- The records behind a number -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordRow:
    kind: str
    source: str  # the form's title, or the list the record is in
    label: str
    date: str
    ward: str
    form_id: str | None
    instance_id: str | None
    entity_uuid: str | None


def parse_cell(text: str | None) -> tuple[str, str] | None:
    """``sex:1`` -> ("sex", "1") (a breakdown cell, or ``month:2026-11``); None when absent.
    Raises UnexpectedValue otherwise."""
    if not text:
        return None
    dimension, _, key = text.partition(":")
    if dimension not in (*DIMENSIONS, "month") or not key:
        raise UnexpectedValue("The cell is written dimension:value, e.g. sex:1.", field="cell")
    return dimension, key


def record_rows(
    session: Session,
    principal: Principal,
    project_id: int,
    code: str,
    period: Period,
    scope: Scope,
    cell: tuple[str, str] | None,
) -> list[RecordRow]:
    """The records behind one number, in the caller's wards (indicators.records refuses the
    list of a count of fewer than five people to a caller who may not see it: the list would
    give the number away). The look is audited in the caller's transaction."""
    require(principal, "indicator.records", project_id)
    found = indicators.records(
        session, principal, project_id, code, period.first, period.last, scope, cell
    )
    audit.record(  # a look at records, like a submission list's: what was asked, how many
        session,
        principal.actor_id,
        "indicator.records.read",
        "project",
        project_id,
        {
            "code": code,
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            **({"cell": ":".join(cell)} if cell else {}),
            **{k: v for k, v in scope.as_json().items() if v},
            "count": len(found),
        },
    )
    titles = {
        v.xml_form_id: v.name or v.xml_form_id
        for v in form_reads.list_form_views(session, principal, project_id)
    }
    return [
        RecordRow(
            r.get("kind") or "submission",
            titles.get(r.get("formId") or "", r.get("formId") or ""),
            r.get("label") or r.get("instanceId") or r.get("entityUuid") or "",
            day_text(r.get("date")),
            place_name(r.get("ward")),
            r.get("formId"),
            r.get("instanceId"),
            r.get("entityUuid"),
        )
        for r in found
    ]


def month_range(first: date, last: date) -> list[date]:
    """The first day of each month that [first, last] touches."""
    months, cursor = [], period_start("month", first)
    while cursor <= last:
        months.append(cursor)
        cursor = period_end("month", cursor) + timedelta(days=1)
    return months
