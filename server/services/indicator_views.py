"""What the indicators page and the report show, built from indicators.report(): the period a
request names (this month, a month, a quarter, year to date, a range), the scope choices the
caller may make (its own wards only), the indicators grouped as the programme reads them, with
their numbers written in the reader's language (4.099; 113,3 %), labels instead of codes, the
"target of the year" note and the links to the records behind each number.

Pure reading: no Flask. The page (server/web/indicators.py) and the workbook
(indicator_report.py) share it, so that both say the same thing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, require, ward_scope
from server.errors import InsufficientRights, UnexpectedValue
from server.services import form_reads, indicator_catalogue, indicators, places
from server.services.targets import Scope, period_end, period_start

XLSFORMS = Path(__file__).resolve().parents[2] / "xlsforms"
#: The forms whose choice lists give the page its labels: models, sex and client groups
#: (F1), age bands (F2).
LABEL_FORMS = ("f1_dang_ky.xlsx", "f2_gap_go.xlsx")
SUPPRESSED = "<5"
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
    "I1": "reach", "I1a": "reach", "I2": "reach", "I3": "reach", "I19": "reach",
    "I4": "services", "I5": "services", "I6": "services", "I7": "services", "I8": "services",
    "I9": "services", "I10": "post_rehab", "I11": "post_rehab", "I12": "post_rehab",
    "I13": "post_rehab", "I14": "post_rehab", "I15": "post_rehab", "I16": "post_rehab",
    "I17": "post_rehab", "I18": "social", "I20": "social",
}
DIMENSIONS = ("sex", "ageGroup", "group")
_WORDS = {
    "sex": ("Giới tính", "Sex"),
    "ageGroup": ("Nhóm tuổi", "Age group"),
    "group": ("Nhóm đối tượng", "Client group"),
    "unknown": ("Không rõ", "Not known"),
    "people": ("người", "people"),
    "events": ("lượt", "events"),
    "referrals": ("lượt chuyển gửi", "referrals"),
    "percent": ("%", "%"),
    "million_vnd": ("triệu đồng", "million VND"),
    "sessions": ("buổi", "sessions"),
    "attendances": ("lượt người", "attendances"),
    "volunteers": ("người", "volunteers"),
    "ratio": ("lượt/người", "per person"),
    "pairs": ("cặp", "pairs"),
    "clients": ("khách hàng", "clients"),
}


def word(key: str, language: str) -> str:
    """One of the page's fixed words (units, dimension names) in ``language``."""
    vi, en = _WORDS.get(key, (key, key))
    return en if language == "en" else vi


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
        first = _parse(args.get("month", "") + "-01", "month")
        return Period(kind, first, period_end("month", first))
    if kind == "quarter":
        text = (args.get("quarter") or "").strip().upper()
        year, _, number = text.partition("-Q")
        if not (year.isdigit() and number in ("1", "2", "3", "4")):
            raise UnexpectedValue("The quarter is written YYYY-Qn, e.g. 2026-Q4.", field="quarter")
        first = date(int(year), 3 * int(number) - 2, 1)
        return Period(kind, first, period_end("quarter", first))
    first, last = _parse(args.get("from", ""), "from"), _parse(args.get("to", ""), "to")
    if last < first:
        raise UnexpectedValue("The end of the period is before its start.", field="to")
    if (last - first).days > 3 * 366:
        raise UnexpectedValue("The period is longer than three years.", field="to")
    return Period(kind, first, last)


def _parse(text: str, name: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise UnexpectedValue(f"{name} is not a date (YYYY-MM-DD).", field=name) from None


def resolve_scope(principal: Principal, project_id: int, args: dict[str, str]) -> Scope:
    """The scope a request names; a ward outside the caller's wards, an unknown ward, model
    or province is refused (a ward-scoped supervisor is told no, rather than shown another
    ward's figures or silently its own)."""
    ward = (args.get("ward") or "").strip() or None
    province = (args.get("province") or "").strip() or None
    model = (args.get("model") or "").strip() or None
    if ward is not None:
        if ward not in {p.code for p in places.wards()}:
            raise UnexpectedValue("The commune/ward is not in the list.", field="ward")
        allowed = ward_scope(principal, "indicator.read", project_id)
        if allowed is not None and ward not in allowed:
            raise InsufficientRights("This commune/ward is not one of yours.")
    if province is not None and province not in places.PROVINCES:
        raise UnexpectedValue("The province is not in the list.", field="province")
    if model is not None and model not in dict(choices("mo_hinh", "vi")):
        raise UnexpectedValue("The programme model is not in the list.", field="model")
    return Scope(province=province, ward=ward, model=model)


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


@functools.cache
def _form_choices() -> dict[str, list[tuple[str, str, str]]]:
    found: dict[str, list[tuple[str, str, str]]] = {}
    for name in LABEL_FORMS:
        book = load_workbook(XLSFORMS / name, read_only=True)
        rows = book["choices"].iter_rows(values_only=True)
        header = [str(h or "") for h in next(rows)]
        vi = next(i for i, h in enumerate(header) if h.startswith("label") and "(vi)" in h)
        en = next(i for i, h in enumerate(header) if h.startswith("label") and "(en)" in h)
        seen = set(found)
        for row in rows:
            if row and row[0] and row[1] is not None and str(row[0]) not in seen:
                item = (str(row[1]), str(row[vi]), str(row[en]))
                found.setdefault(str(row[0]), []).append(item)
        book.close()
    return found


def choices(list_name: str, language: str) -> list[tuple[str, str]]:
    """(value, label) of a choice list of the forms (LABEL_FORMS), in ``language``."""
    items = _form_choices().get(list_name, [])
    return [(v, en if language == "en" else vi) for v, vi, en in items]


def breakdown_label(dimension: str, key: str, language: str) -> str:
    """The words for a breakdown cell: "Nam" for sex 1, a client group's label, an age band."""
    if key in ("", "unknown", "none", "null"):
        return word("unknown", language)
    list_name = {"sex": "gioi", "group": "nhom_dt", "ageGroup": "nhom_tuoi"}[dimension]
    key = _AGE_CHOICES.get(key, key) if dimension == "ageGroup" else key
    return dict(choices(list_name, language)).get(key, key.replace("-", "–"))


#: The engine's age bands -> the age choices of F2 (``nhom_tuoi``), whose labels are shown.
_AGE_CHOICES = {"<18": "duoi_18", "18-24": "18_24", "25-34": "25_34", "35-49": "35_49",
                "50+": "tu_50"}


def _order(dimension: str, key: str) -> int:
    """A breakdown cell's place: the form's choice order, "not known" last."""
    list_name = {"sex": "gioi", "group": "nhom_dt", "ageGroup": "nhom_tuoi"}[dimension]
    values = [v for v, _ in choices(list_name, "vi")]
    key = _AGE_CHOICES.get(key, key) if dimension == "ageGroup" else key
    return values.index(key) if key in values else len(values)


def place_name(code: str | None) -> str:
    """A ward's name from wards.csv, or the code itself when the list does not know it."""
    return {p.code: p.name for p in places.wards()}.get(code or "", code or "")


def scope_text(scope: Scope, language: str) -> str:
    """The scope in words: "Hà Nội · Phường Bồ Đề · CLB B93" (empty for the whole project)."""
    parts = [
        places.PROVINCES.get(scope.province or "", "") if scope.province else "",
        place_name(scope.ward) if scope.ward else "",
        dict(choices("mo_hinh", language)).get(scope.model or "", "") if scope.model else "",
    ]
    return " · ".join(p for p in parts if p)


# --- Numbers in the reader's language -------------------------------------------------------


def number(value, language: str, unit: str = "people") -> str:
    """4.099 (vi) / 4,099 (en); percents with one decimal and " %"; "< 5"; "—" for null."""
    if value is None:
        return "—"
    if value == SUPPRESSED:
        return "< 5"
    if isinstance(value, str):
        return value
    if unit == "percent":
        return format_decimal(value, format="#,##0.0", locale=language) + " %"
    if unit == "ratio" or (isinstance(value, float) and not value.is_integer()):
        return format_decimal(value, format="#,##0.#", locale=language)
    return format_decimal(value, format="#,##0", locale=language)


def as_of_text(as_of: str, timezone: str) -> str:
    """The report's asOf (ISO UTC) as local "14:03 01/12/2026"."""
    moment = datetime.fromisoformat(as_of.replace("Z", "+00:00")).astimezone(ZoneInfo(timezone))
    return moment.strftime("%H:%M %d/%m/%Y")


def day_text(day: date | str | None) -> str:
    """dd/mm/yyyy."""
    if not day:
        return "—"
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    return day.strftime("%d/%m/%Y")


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
        view = indicator_view(item, language)
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


def indicator_view(item: dict, language: str) -> IndicatorView:
    """One indicator of report() as the page shows it."""
    unit = item.get("unit") or "people"
    code = item["code"]
    percent = item.get("percent")
    view = IndicatorView(
        code=code,
        name=indicator_name(code, language, item.get("name")),
        unit=unit,
        unit_label=word(unit, language),
        value=_cell(item.get("value"), language, unit, None),
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
                (breakdown_label(dimension, key, language),
                 _cell(value, language, unit, f"{dimension}:{key}"))
                for key, value in sorted(cells.items(), key=lambda kv: _order(dimension, kv[0]))
            ]
            view.breakdowns.append((dimension, word(dimension, language), rows))
    return view


def _short(value, language: str, unit: str) -> str:
    if unit == "percent" and isinstance(value, int | float):
        return format_decimal(round(value), format="#,##0", locale=language)
    return number(value, language, unit)


def _cell(value, language: str, unit: str, cell: str | None) -> Cell:
    linked = value not in (None, SUPPRESSED, 0) and unit not in ("ratio",)
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
    give the number away)."""
    require(principal, "indicator.read", project_id)
    found = indicators.records(
        session, principal, project_id, code, period.first, period.last, scope, cell
    )
    titles = {v.xml_form_id: v.name or v.xml_form_id
              for v in form_reads.list_form_views(session, principal, project_id)}
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
