"""An .xlsx is a zip: one that unpacks to far more than a form needs is refused before
openpyxl reads it, whatever sizes its headers claim."""

from __future__ import annotations

import io
import zipfile

import pytest

from forms import FormError, compile_xlsform
from forms.compile import MAX_XLSX_MEMBERS, check_xlsx_archive
from tests.support.xlsforms import visit_xlsx


def bomb(size: int) -> bytes:
    """A zip with one member of ``size`` zero bytes, written in chunks (never whole)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member,
    ):
        chunk = b"\0" * 1_000_000
        for _ in range(size // len(chunk)):
            member.write(chunk)
    return out.getvalue()


def test_a_real_xlsform_passes():
    check_xlsx_archive(visit_xlsx())


def test_a_zip_bomb_is_refused_before_it_is_read():
    data = bomb(200_000_000)
    assert len(data) < 1_000_000  # 200 MB of zeros packs into a few hundred KB
    with pytest.raises(FormError, match="unpacks to far more"):
        compile_xlsform(data, filename="form.xlsx", validate=False)


def test_a_workbook_with_too_many_parts_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in range(MAX_XLSX_MEMBERS + 1):
            archive.writestr(f"part{i}.xml", b"<a/>")
    with pytest.raises(FormError, match="parts"):
        check_xlsx_archive(out.getvalue())


def test_a_file_that_is_not_a_zip_is_refused_in_words():
    with pytest.raises(FormError, match="not a valid zip"):
        compile_xlsform(b"this is not a spreadsheet", filename="form.xlsx", validate=False)
