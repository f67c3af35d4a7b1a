"""The words and numbers of the indicators page and report in the reader's language: the
forms' own choice labels (models, sex, client groups, age bands) instead of codes, ward names
from wards.csv, units, and numbers written as the language writes them (4.099 and 113,3 % in
Vietnamese, 4,099 and 113.3 % in English), dates as dd/mm/yyyy. Pure: no Flask, no database.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.numbers import get_decimal_symbol, get_group_symbol
from openpyxl import load_workbook

from server.services import places

if TYPE_CHECKING:
    from server.services.targets import Scope

SUPPRESSED = "<5"
XLSFORMS = Path(__file__).resolve().parents[2] / "xlsforms"
#: The forms whose choice lists give the page its labels: models, sex and client groups
#: (F1), age bands (F2), services (F3), outcomes (F4), status-change reasons (F7). A list's
#: first form wins.
LABEL_FORMS = (
    "f1_dang_ky.xlsx",
    "f2_gap_go.xlsx",
    "f3_chuyen_gui.xlsx",
    "f4_ket_qua_cg.xlsx",
    "f7_cap_nhat.xlsx",
)

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


def choice_label(list_name: str, value: str | None, language: str) -> str:
    """The label of one choice of the forms' list (the code itself when the list lacks it)."""
    if not value:
        return ""
    return dict(choices(list_name, language)).get(value, value)


def breakdown_label(dimension: str, key: str, language: str) -> str:
    """The words for a breakdown cell: "Nam" for sex 1, a client group's label, an age band."""
    if key in ("", "unknown", "none", "null"):
        return word("unknown", language)
    list_name = {"sex": "gioi", "group": "nhom_dt", "ageGroup": "nhom_tuoi"}[dimension]
    key = _AGE_CHOICES.get(key, key) if dimension == "ageGroup" else key
    return dict(choices(list_name, language)).get(key, key.replace("-", "–"))


#: The engine's age bands -> the age choices of F2 (``nhom_tuoi``), whose labels are shown.
_AGE_CHOICES = {
    "<18": "duoi_18",
    "18-24": "18_24",
    "25-34": "25_34",
    "35-49": "35_49",
    "50+": "tu_50",
}


def order_of(dimension: str, key: str) -> int:
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
        return _grouped(f"{value:,.1f}", language) + " %"
    if unit == "ratio" or (isinstance(value, float) and not value.is_integer()):
        return _grouped(f"{value:,.1f}".removesuffix(".0"), language)
    return _grouped(f"{round(value):,}", language)


@functools.cache
def _symbols(language: str) -> tuple[str, str]:
    return get_group_symbol(language), get_decimal_symbol(language)


def _grouped(text: str, language: str) -> str:
    """Python's "1,234.5" in the language's symbols (babel's, read once: the page writes
    thousands of numbers and babel's formatter costs a millisecond each)."""
    group, decimal = _symbols(language)
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


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


#: The values of the lists' calculated statuses (domain.md 6.1; no choice list names them),
#: for the client pages and the entity lists alike.
STATUS_WORDS = {
    "clients": {
        "mo": ("Đang theo dõi", "Open"),
        "tam_dung": ("Tạm dừng", "Paused"),
        "dong": ("Đã đóng", "Closed"),
    },
    "referrals": {
        "da_chuyen": ("Đã chuyển gửi", "Referred"),
        "cho": ("Đang chờ kết quả", "Waiting for the outcome"),
        "hoan_thanh": ("Đã nhận dịch vụ", "Service received"),
        "dong": ("Đã đóng", "Closed"),
    },
}
