"""The one CSV writer for people (submission exports, the audit log): streamed line by line,
UTF-8 with a BOM (Excel), every cell made safe from CSV injection.

A cell that starts with = + - @ or a tab or carriage return is run by Excel and LibreOffice
as a formula (`=HYPERLINK(...)` sends what sits beside it to another server); OWASP's rule is
to prefix it with a single quote, which the spreadsheet shows and never runs. A plain number
(-3, +84912345678, -1.5) is left as it is: it cannot hold a formula, and analysts need it as a
number. The entity-list CSVs phones download are not written here: Collect matches their
values exactly (server/services/entities.py).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet will show it without running it."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def csv_lines(header: Iterable[Any] | None, rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV text one line at a time, the BOM first; every cell through ``safe_cell``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(cell) for cell in row])
        return buffer.getvalue()

    yield BOM + (line(header) if header is not None else "")
    for row in rows:
        yield line(row)
