"""XLSForms as real .xlsx bytes, built with openpyxl from rows, for upload tests."""

from __future__ import annotations

import io

from openpyxl import Workbook

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    """A workbook with one sheet per key; the first row of each is its header."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def visit_xlsx(
    version: str | None = "1",
    form_id: str | None = None,
    extra_rows=(),
    settings_extra: dict | None = None,
) -> bytes:
    """A small home-visit form: a text, a select_one, an optional photo (with max-pixels)."""
    settings_header, settings_row = ["version"], [version]
    if form_id:
        settings_header.append("form_id")
        settings_row.append(form_id)
    for key, value in (settings_extra or {}).items():
        settings_header.append(key)
        settings_row.append(value)
    return xlsx(
        {
            "survey": [
                [
                    "type",
                    "name",
                    "label::Tiếng Việt (vi)",
                    "label::English (en)",
                    "parameters",
                    "media::image::English (en)",
                ],
                ["text", "ma_kh", "Mã khách hàng", "Client code", None, None],
                ["select_one yn", "gap", "Gặp được?", "Met?", None, None],
                ["image", "anh", "Ảnh", "Photo", "max-pixels=1024", None],
                *extra_rows,
            ],
            "choices": [
                ["list_name", "name", "label::Tiếng Việt (vi)", "label::English (en)"],
                ["yn", "co", "Có", "Yes"],
                ["yn", "khong", "Không", "No"],
            ],
            "settings": [settings_header, settings_row],
        }
    )
