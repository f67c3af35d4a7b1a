"""The two records of a suspected duplicate pair in words, for the review queue: each shown
property with the registration form's (F1) question as its name and the form's choice label
as its value, ward names from wards.csv, dates as dd/mm/yyyy. Pure but for reading the form
workbook once."""

from __future__ import annotations

import functools

from openpyxl import load_workbook

from server.services import indicator_words, places
from server.services.matching import person

REGISTRATION = "f1_dang_ky.xlsx"
#: The properties a reviewer compares, in this order (domain.md 6.1), and how each is read.
SHOWN = (
    ("uic", "text"),
    ("gioi", "choice"),
    ("ngay_sinh", "dob"),
    ("nam_sinh", "text"),
    ("ma_tinh", "province"),
    ("ma_xa", "ward"),
    ("mo_hinh", "choice"),
    ("nhom", "choices"),
    ("trang_thai", "status"),
    ("ngay_dk", "date"),
)
#: The names the form does not give (calculated fields have no label): the code, the date of
#: birth read from the UIC, the year of birth, the status.
_OWN_NAMES = {
    "uic": ("Mã khách hàng (UIC)", "Client code (UIC)"),
    "ngay_sinh": ("Ngày sinh", "Date of birth"),
    "nam_sinh": ("Năm sinh", "Year of birth"),
    "trang_thai": ("Trạng thái", "Status"),
}
#: trang_thai, which F1 and F7 calculate (no choice list has it).
_STATUS = {
    "mo": ("Đang theo dõi", "Open"),
    "tam_dung": ("Tạm dừng", "Paused"),
    "dong": ("Đã đóng", "Closed"),
}


@functools.cache
def _questions() -> dict[str, tuple[str, str, str | None]]:
    """save_to property -> (label vi, label en, choice list) of F1's questions."""
    book = load_workbook(indicator_words.XLSFORMS / REGISTRATION, read_only=True)
    rows = book["survey"].iter_rows(values_only=True)
    header = [str(h or "") for h in next(rows)]
    col = {h: i for i, h in enumerate(header)}
    vi = next(i for h, i in col.items() if h.startswith("label") and "(vi)" in h)
    en = next(i for h, i in col.items() if h.startswith("label") and "(en)" in h)
    out: dict[str, tuple[str, str, str | None]] = {}
    for row in rows:
        saved = row[col["save_to"]] if len(row) > col["save_to"] else None
        if not saved:
            continue
        kind = str(row[0] or "").split()
        list_name = kind[1] if len(kind) == 2 and kind[0].startswith("select_") else None
        out[str(saved)] = (str(row[vi] or saved), str(row[en] or saved), list_name)
    book.close()
    return out


def property_name(prop: str, language: str) -> str:
    if prop in _OWN_NAMES:
        vi, en = _OWN_NAMES[prop]
    else:
        vi, en, _ = _questions().get(prop, (prop, prop, None))
    return en if language == "en" else vi


def value_text(prop: str, how: str, data: dict, language: str, uuid: str = "") -> str:
    raw = str(data.get(prop) or "").strip()
    if how == "dob":
        dob = person(uuid, data).dob
        if not dob:
            return "—"
        year = str(data.get("nam_sinh") or "")
        return f"{dob[:2]}/{dob[2:4]}/{year if len(year) == 4 else dob[4:]}"
    if not raw:
        return "—"
    if how == "choice" or how == "choices":
        list_name = _questions().get(prop, ("", "", None))[2]
        labels = dict(indicator_words.choices(list_name or prop, language))
        return ", ".join(labels.get(v, v) for v in raw.split())
    if how == "ward":
        return indicator_words.place_name(raw)
    if how == "province":
        return places.PROVINCES.get(raw, raw)
    if how == "status":
        vi, en = _STATUS.get(raw, (raw, raw))
        return en if language == "en" else vi
    if how == "date":
        try:
            return indicator_words.day_text(raw)
        except ValueError:
            return raw
    return raw


def side_by_side(a, b, language: str) -> list[tuple[str, str, str, bool]]:
    """(property name, value of a, value of b, they differ) for each shown property."""
    out = []
    for prop, how in SHOWN:
        left = value_text(prop, how, a.data or {}, language, a.uuid)
        right = value_text(prop, how, b.data or {}, language, b.uuid)
        if left == right == "—":
            continue
        out.append((property_name(prop, language), left, right, left != right))
    return out
