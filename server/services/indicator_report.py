"""The indicators as the XLSX workbook a ward or district sends up each month or quarter: a
cover sheet (project, scope, period, as of, who exported), a total sheet and one sheet per
programme model (mo_hinh), each with the indicators as rows and the plan ("Kế hoạch") beside the
result ("Thực hiện"), the percentage achieved and the result month by month.

Every figure comes from indicators.report() (one call per sheet, with that sheet's model), so
the workbook says what the page and the API say, small numbers suppressed as "< 5" for the
same callers. Numbers are numbers, percentages are percent cells. Audited as an export.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from forms.answers import fold
from server.auth.permissions import Principal, require
from server.services import (
    audit,
    indicator_catalogue,
    indicator_views,
    indicator_words,
    indicators,
    projects,
    targets,
)
from server.services.indicator_views import indicator_name
from server.services.indicator_words import SUPPRESSED, day_text, word
from server.services.places import PROVINCES
from server.services.targets import Scope

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HEADERS = {
    "vi": {
        "title": "BÁO CÁO KẾT QUẢ THỰC HIỆN CHỈ TIÊU",
        "project": "Dự án",
        "province": "Tỉnh/thành phố",
        "ward": "Xã/phường",
        "model": "Mô hình",
        "period": "Kỳ báo cáo",
        "as_of": "Số liệu tính đến",
        "by": "Người xuất",
        "at": "Thời điểm xuất",
        "all": "Tất cả",
        "total": "Tổng hợp",
        "sheets": "Các trang",
        "note": '"< 5": dưới 5 người, không ghi số (bảo mật). Ô trống: không có số liệu.',
        "no": "STT",
        "code": "Mã",
        "name": "Chỉ tiêu",
        "unit": "Đơn vị",
        "target": "Kế hoạch",
        "result": "Thực hiện",
        "percent": "Tỷ lệ % đạt",
        "month": "T{m}/{y}",
    },
    "en": {
        "title": "INDICATORS REPORT",
        "project": "Project",
        "province": "Province",
        "ward": "Commune/ward",
        "model": "Programme model",
        "period": "Reporting period",
        "as_of": "Data as of",
        "by": "Exported by",
        "at": "Exported at",
        "all": "All",
        "total": "Total",
        "sheets": "Sheets",
        "note": '"< 5": fewer than 5 people, not shown (privacy). Empty cell: no data.',
        "no": "No.",
        "code": "Code",
        "name": "Indicator",
        "unit": "Unit",
        "target": "Target",
        "result": "Result",
        "percent": "% achieved",
        "month": "{m}/{y}",
    },
}
_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBE4")
_GROUP_FILL = PatternFill("solid", fgColor="F2F4F6")
_WIDTHS = {"A": 6, "B": 16, "C": 58, "D": 14, "E": 12, "F": 12, "G": 13}
_MONTH_WIDTH = 11
_FIRST_ROW = 4  # the header row of an indicator sheet


@dataclass(frozen=True, slots=True)
class Report:
    """A built workbook: its bytes and the file name to download it as."""

    content: bytes
    filename: str
    sheets: list[str]


def build(
    session: Session,
    principal: Principal,
    project_id: int,
    first: date,
    last: date,
    scope: Scope,
    language: str,
    timezone: str,
) -> Report:
    """The workbook for [first, last] in ``scope`` (a model named in the scope gives that
    model's sheet only); records the export in the audit log, in the caller's transaction."""
    require(principal, "indicator.read", project_id)
    targets.check_scope(scope)  # before the sheets are chosen by its model
    language = "en" if language == "en" else "vi"
    words = _HEADERS[language]
    project = projects.get_project(session, project_id)
    models = indicator_words.choices("mo_hinh", language)
    if scope.model:
        parts = [
            (label, Scope(scope.province, scope.ward, code))
            for code, label in models
            if code == scope.model
        ]
    else:
        parts = [(words["total"], scope)] + [
            (label, Scope(scope.province, scope.ward, code)) for code, label in models
        ]
    book = Workbook()
    cover = book.active
    reports = []
    names: list[str] = []
    for title, part in parts:
        report = indicators.report(session, principal, project_id, first, last, part)
        name = _sheet_name(title, names)
        names.append(name)
        _indicator_sheet(book.create_sheet(name), report, title, part.model, language, first, last)
        reports.append(report)
    _cover(
        cover,
        words,
        project.name,
        scope,
        first,
        last,
        reports[0]["asOf"],
        principal,
        timezone,
        names,
        language,
    )
    out = io.BytesIO()
    book.save(out)
    audit.record(
        session,
        principal.actor_id,
        "indicator.export",
        "project",
        project_id,
        {
            "format": "xlsx",
            "from": first.isoformat(),
            "to": last.isoformat(),
            **{k: v for k, v in scope.as_json().items() if v},
            "sheets": len(names),
        },
    )
    return Report(out.getvalue(), filename(project.name, first, last), names)


def filename(project_name: str, first: date, last: date) -> str:
    """chi-tieu_<project>_<from>_<to>.xlsx, in ASCII."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(project_name)).strip("-") or "du-an"
    return f"chi-tieu_{slug}_{first.isoformat()}_{last.isoformat()}.xlsx"


def _sheet_name(title: str, taken: list[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31].strip() or "Sheet"
    n = 2
    while name in taken:
        name = f"{name[:28]} {n}"
        n += 1
    return name


def _cover(
    sheet, words, project_name, scope, first, last, as_of, principal, timezone, names, language
) -> None:
    sheet.title = "Bìa" if language == "vi" else "Cover"
    models = dict(indicator_words.choices("mo_hinh", language))
    now = datetime.now(ZoneInfo(timezone)).strftime("%H:%M %d/%m/%Y")
    rows = [
        (words["title"], None),
        (None, None),
        (words["project"], project_name),
        (words["province"], PROVINCES.get(scope.province, scope.province) or words["all"]),
        (words["ward"], indicator_words.place_name(scope.ward) or words["all"]),
        (words["model"], models.get(scope.model, scope.model) or words["all"]),
        (words["period"], f"{day_text(first)} – {day_text(last)}"),
        (words["as_of"], indicator_words.as_of_text(as_of, timezone)),
        (words["by"], principal.display_name),
        (words["at"], now),
        (words["sheets"], ", ".join(names)),
        (None, None),
        (words["note"], None),
    ]
    for row in rows:
        sheet.append(row)
    sheet["A1"].font = Font(bold=True, size=14)
    for cell in sheet["A"][2:11]:
        cell.font = _BOLD
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 60


def _indicator_sheet(sheet, report, title, model, language, first, last) -> None:
    words = _HEADERS[language]
    months = [d.strftime("%Y-%m") for d in indicator_views.month_range(first, last)]
    sheet.append([f"{words['title']}: {title}"])
    sheet.append([f"{words['period']}: {day_text(first)} – {day_text(last)}"])
    sheet.append([])
    header = [
        words["no"],
        words["code"],
        words["name"],
        words["unit"],
        words["target"],
        words["result"],
        words["percent"],
    ]
    header += [words["month"].format(m=m[5:], y=m[:4]) for m in months]
    sheet.append(header)
    sheet["A1"].font = Font(bold=True, size=13)
    for cell in sheet[_FIRST_ROW]:
        cell.font, cell.fill = _BOLD, _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    current_group = None
    for number, item in enumerate(_ordered(report["indicators"], model), start=1):
        group = indicator_views.group_title(item["code"], language)
        if group != current_group:
            current_group = group
            sheet.append([None, None, group])
            for cell in sheet[sheet.max_row]:
                cell.font, cell.fill = _BOLD, _GROUP_FILL
        unit = item.get("unit") or "people"
        trend = {p["month"]: p.get("value") for p in item.get("trend") or []}
        row = [
            number,
            item["code"],
            indicator_name(item["code"], language, item.get("name")),
            word(unit, language),
            _value(item.get("target"), unit),
            _value(item.get("value"), unit),
            _value(item.get("percent") if item.get("target") is not None else None, "percent"),
        ]
        row += [_value(trend.get(m), unit) for m in months]
        sheet.append(row)
        for cell in sheet[sheet.max_row][4:]:
            _format(cell, unit if cell.column != 7 else "percent")
        sheet.cell(sheet.max_row, 3).alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in _WIDTHS.items():
        sheet.column_dimensions[letter].width = width
    for index in range(len(months)):
        sheet.column_dimensions[get_column_letter(8 + index)].width = _MONTH_WIDTH
    sheet.freeze_panes = sheet.cell(_FIRST_ROW + 1, 4)


def _ordered(items: list[dict], model: str | None) -> list[dict]:
    """The indicators in the page's group order; on a model's sheet, within each group,
    those the catalogue names for that model first."""

    def key(pair):
        index, item = pair
        code = item["code"]
        known = indicator_catalogue.is_known(code)
        hint = indicator_catalogue.get(code).model_hint if known else ()
        first = not model or not hint or model in hint
        return (indicator_views.group_index(code), 0 if first else 1, index)

    return [item for _, item in sorted(enumerate(items), key=key)]


def _value(value, unit: str):
    """A cell's content: a number (a percent as a fraction), "< 5" as text, None empty."""
    if value is None:
        return None
    if value == SUPPRESSED:
        return "< 5"
    if isinstance(value, str):
        return value
    return round(value / 100, 6) if unit == "percent" else value


def _format(cell, unit: str) -> None:
    if isinstance(cell.value, str):
        cell.alignment = Alignment(horizontal="right")
    elif unit == "percent":
        cell.number_format = "0.0%"
    elif unit == "ratio" or (isinstance(cell.value, float) and not cell.value.is_integer()):
        cell.number_format = "#,##0.0"
    else:
        cell.number_format = "#,##0"
