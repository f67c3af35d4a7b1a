"""The export tables (services/submission_tables.py) written as files people open: Central's
ZIP of CSVs (the main table, one CSV per repeat, the files under ``media/``), the main
table alone as one CSV, and an XLSX workbook with one sheet per table.

Everything streams in constant memory: the ZIP is written to the response as it grows (its
entries carry data descriptors, so nothing is seeked back), the repeat tables wait in temp
files until the main table is done, and the XLSX is written by openpyxl's write-only mode
into a temp file. Cells that a spreadsheet would run as a formula are made safe
(services/exports.py). CSVs carry a BOM so that Excel reads them as UTF-8."""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy.orm import Session

from server.blobs import BlobStore
from server.services.exports import BOM, safe_cell
from server.services.submission_tables import (
    ExportPlan,
    Table,
    export_rows,
    media_files,
)
from server.services.submissions import pick_label

ZIP_TYPE = "application/zip"
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 256 * 1024
_FLUSH_ROWS = 500
_FORMULA_START = frozenset("=+-@\t\r")
Progress = Callable[[int], None] | None


class _Sink(io.RawIOBase):
    """Where the ZIP is written: bytes wait here until the response takes them."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self._size += len(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def pending(self) -> int:
        return self._size

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._size = 0
        return data


def _safe_row(row: list) -> list:
    return [safe_cell(v) if v.__class__ is str and v and v[0] in _FORMULA_START else v for v in row]


def csv_zip(
    session: Session,
    store: BlobStore,
    plan: ExportPlan,
    media: bool,
    spool_dir: str | None = None,
    progress: Progress = None,
) -> Iterator[bytes]:
    """Central's ``submissions.csv.zip`` as a stream of bytes: ``{form}.csv``, then
    ``{form}-{repeat}.csv`` for each repeat, then ``media/{file}`` when ``media``."""
    sink = _Sink()
    with contextlib.ExitStack() as stack:
        spools = [
            stack.enter_context(
                tempfile.TemporaryFile("w+", encoding="utf-8", newline="", dir=spool_dir)
            )
            for _ in plan.tables[1:]
        ]
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            writers = [csv.writer(f) for f in spools]
            for writer, table in zip(writers, plan.tables[1:], strict=True):
                writer.writerow(table.header)
            with archive.open(f"{plan.tables[0].name}.csv", "w", force_zip64=True) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                main = csv.writer(text)
                text.write(BOM)
                main.writerow(plan.tables[0].header)
                for count, rows in enumerate(export_rows(session, plan), 1):
                    main.writerow(_safe_row(rows.main))
                    for index, sub in rows.repeats:
                        writers[index - 1].writerow(_safe_row(sub))
                    if count % _FLUSH_ROWS == 0:
                        text.flush()
                        if progress:
                            progress(count)
                        if sink.pending() >= CHUNK:
                            yield sink.take()
                text.flush()
                text.detach()
            for spool, table in zip(spools, plan.tables[1:], strict=True):
                spool.seek(0)
                with archive.open(f"{table.name}.csv", "w", force_zip64=True) as raw:
                    raw.write(BOM.encode())
                    while chunk := spool.read(CHUNK):
                        raw.write(chunk.encode("utf-8"))
                        yield sink.take()
            if media:
                yield from _media(session, store, plan, archive, sink)
        if progress:
            progress(-1)
        yield sink.take()


def _media(session, store: BlobStore, plan: ExportPlan, archive, sink: _Sink) -> Iterator[bytes]:
    for name, sha256 in media_files(session, plan):
        with (
            store.open(sha256) as source,
            archive.open(f"media/{_media_name(name)}", "w", force_zip64=True) as out,
        ):
            while chunk := source.read(CHUNK):
                out.write(chunk)
                if sink.pending() >= CHUNK:
                    yield sink.take()
        yield sink.take()


def _media_name(name: str) -> str:
    cleaned = "".join(c for c in name if c not in '/\\?<>:*|"' and ord(c) >= 32)
    return cleaned.strip(". ") or "file"


def csv_main(session: Session, plan: ExportPlan, progress: Progress = None) -> Iterator[bytes]:
    """Central's ``submissions.csv``: the main table alone, one line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(plan.tables[0].header)
    for count, rows in enumerate(export_rows(session, plan), 1):
        writer.writerow(_safe_row(rows.main))
        if count % _FLUSH_ROWS == 0:
            if progress:
                progress(count)
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if progress:
        progress(-1)
    yield buffer.getvalue().encode("utf-8")


# --- XLSX ---------------------------------------------------------------------------------

_WORDS = {
    "vi": {
        "SubmissionDate": "Ngày gửi",
        "KEY": "Mã phiếu (KEY)",
        "PARENT_KEY": "Mã phiếu cha (PARENT_KEY)",
        "SubmitterID": "Mã người gửi",
        "SubmitterName": "Người gửi",
        "AttachmentsPresent": "Số tệp đã nhận",
        "AttachmentsExpected": "Số tệp cần có",
        "Status": "Tình trạng",
        "ReviewState": "Trạng thái duyệt",
        "DeviceID": "Mã thiết bị",
        "Edits": "Số lần sửa",
        "FormVersion": "Phiên bản biểu mẫu",
        "0": "vĩ độ",
        "1": "kinh độ",
        "2": "độ cao",
        "3": "độ chính xác",
        "approved": "Đã duyệt",
        "rejected": "Không duyệt",
        "hasIssues": "Có vấn đề",
        "edited": "Đã sửa",
    },
    "en": {
        "0": "latitude",
        "1": "longitude",
        "2": "altitude",
        "3": "accuracy",
    },
}
_DATE_FORMAT = "dd/mm/yyyy"
_DATETIME_FORMAT = "dd/mm/yyyy hh:mm"


def xlsx(
    session: Session,
    plan: ExportPlan,
    out: Path,
    language: str | None,
    timezone: str,
    progress: Progress = None,
) -> int:
    """Write the workbook to ``out``: one sheet per table, in labels (``language`` "vi" or
    "en") or in codes (``language`` None: Central's headers and values). Every select
    multiple is split into one 0/1 column per choice beside the joined answer; numbers are
    numbers, dates are dates (dd/mm/yyyy), times in ``timezone``. Returns the row count."""
    zone = ZoneInfo(timezone)
    book = Workbook(write_only=True)
    sheets = []
    cells = []
    used: set[str] = set()
    for table in plan.tables:
        sheet = book.create_sheet(_sheet_name(table.name, used))
        sheet.append(_xlsx_header(table, language))
        sheets.append(sheet)
        cells.append(_converters(table, language, zone, sheet))
    count = 0
    for rows in export_rows(session, plan):
        sheets[0].append(_convert(cells[0], rows.main))
        for index, sub in rows.repeats:
            sheets[index].append(_convert(cells[index], sub))
        count += 1
        if progress and count % _FLUSH_ROWS == 0:
            progress(count)
    book.save(out)
    if progress:
        progress(-1)
    return count


def _sheet_name(name: str, used: set[str]) -> str:
    cleaned = "".join(c for c in name if c not in "[]:*?/\\")[:31] or "Sheet"
    candidate, n = cleaned, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{cleaned[: 31 - len(str(n)) - 1]}~{n}"
    used.add(candidate.lower())
    return candidate


def _xlsx_header(table: Table, language: str | None) -> list[str]:
    if language is None:
        return table.header
    words = _WORDS.get(language, {})
    out = []
    for c in table.columns:
        if c.field is None:
            out.append(words.get(c.header, c.header))
            continue
        label = pick_label(c.field.labels, language, c.field.name)
        if c.part == "choice":
            choice = next(ch for ch in c.field.choices if ch.value == c.choice)
            out.append(f"{label}: {pick_label(choice.labels, language, choice.value)}")
        elif c.part in ("0", "1", "2", "3"):
            out.append(f"{label} ({words.get(c.part, c.part)})")
        else:
            out.append(label)
    return out


def _converters(table: Table, language: str | None, zone: ZoneInfo, sheet) -> list:
    words = _WORDS.get(language or "", {})
    out: list[Callable[[Any], Any] | None] = []
    for c in table.columns:
        f = c.field
        if c.header == "SubmissionDate" and f is None:
            out.append(lambda v: _cell(sheet, _instant(v, zone), _DATETIME_FORMAT))
        elif c.header == "ReviewState" and f is None and language:
            out.append(lambda v, w=words: w.get(v, v))
        elif f is None or c.part == "choice":
            out.append(None)
        elif c.part in ("0", "1", "2", "3"):
            out.append(_number)
        elif f.type == "int":
            out.append(_integer)
        elif f.type == "decimal":
            out.append(_number)
        elif f.type == "date":
            out.append(lambda v: _cell(sheet, _date(v), _DATE_FORMAT))
        elif f.type == "dateTime":
            out.append(lambda v: _cell(sheet, _instant(v, zone), _DATETIME_FORMAT))
        elif language and f.choices and (f.control in ("select1", "select") or f.type == "select"):
            labels = {ch.value: pick_label(ch.labels, language, ch.value) for ch in f.choices}
            multi = f.control == "select" or f.type == "select"
            out.append(_choice_labels(labels, multi))
        else:
            out.append(_text)
    return out


def _convert(converters: list, row: list) -> list:
    return [v if fn is None or v is None else fn(v) for fn, v in zip(converters, row, strict=True)]


def _cell(sheet, value, number_format: str):
    if not isinstance(value, date):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = number_format
    return cell


def _text(value):
    return safe_cell(value) if isinstance(value, str) else value


def _integer(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return _text(value)


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _text(value)
    return int(number) if number.is_integer() and "." not in str(value) else number


def _date(value: str):
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return value


def _instant(value: str, zone: ZoneInfo):
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment


def _choice_labels(labels: dict[str, str], multi: bool):
    if multi:
        return lambda v: ", ".join(labels.get(x, x) for x in v.split())
    return lambda v: labels.get(v, v)
