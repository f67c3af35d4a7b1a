"""Fuzzing POST /v1/projects/{id}/forms (XLSForm .xlsx/.xls and XForm bodies) as an
administrator over real HTTP.

Whatever the body, the answer is 200 or a clean 4xx JSON problem ({message, code}), never a
5xx; a refused upload creates no forms, form_versions, form_attachments or blobs row and leaves
no spooled file; and the server still compiles and stores a good XLSForm afterwards.
"""

from __future__ import annotations

import gc
import io
import itertools
import logging
import re
import time
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from tests.fuzz.support import (
    ENTITY_DOCUMENTS,
    FORM_TABLES,
    assert_blob_store_sound,
    assert_clean_json_refusal,
    count_rows,
    files_under,
    fuzz_settings,
)
from tests.support.xlsforms import XLSX_TYPE, visit_xlsx

XLS_TYPE = "application/vnd.ms-excel"
_ids = itertools.count(1)


def fresh_id() -> str:
    return f"fz_{next(_ids)}"


class Uploads:
    """Upload helper plus the before/after bookkeeping of the form tables and files."""

    def __init__(self, admin, project, db, tmp_path: Path, store_root: Path, spool_dir: Path):
        self.admin, self.project, self.db = admin, project, db
        self.tmp_path, self.store_root, self.spool_dir = tmp_path, store_root, spool_dir
        self.snapshot()

    def snapshot(self) -> None:
        self.rows = count_rows(self.db, FORM_TABLES)
        self.files = files_under(self.tmp_path)

    def post(
        self,
        body: bytes,
        content_type: str | None,
        fallback: str | None = None,
        query: str = "?ignoreWarnings=true",
        project_id: int | None = None,
    ):
        headers = {"X-XlsForm-FormId-Fallback": fresh_id() if fallback is None else fallback}
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.admin(
            "POST",
            f"/projects/{project_id or self.project.id}/forms{query}",
            data=body,
            headers=headers,
        )

    def assert_files_confined(self) -> None:
        store = self.store_root.relative_to(self.tmp_path).as_posix() + "/"
        new = files_under(self.tmp_path) - self.files
        outside = sorted(f for f in new if not f.startswith(store))
        assert outside == [], f"files written outside the blob store: {outside}"
        assert files_under(self.spool_dir) == set(), "a spooled upload was left behind"
        assert_blob_store_sound(self.store_root)

    def assert_refused(self, response) -> dict:
        body = assert_clean_json_refusal(response)
        now = count_rows(self.db, FORM_TABLES)
        assert now == self.rows, (body, self.rows, now)
        self.assert_files_confined()
        return body

    def assert_refused_or_created(self, response) -> dict | None:
        if response.status_code != 200:
            return self.assert_refused(response)
        form = response.json()
        assert form["xmlFormId"], form
        assert form["projectId"] == self.project.id, form
        now = count_rows(self.db, FORM_TABLES)
        assert now["forms"] == self.rows["forms"] + 1, (self.rows, now)
        self.assert_files_confined()
        self.snapshot()
        return None

    def still_serves(self) -> None:
        response = self.post(visit_xlsx(), XLSX_TYPE, fallback=fresh_id())
        assert response.status_code == 200, response.text
        listed = self.admin("GET", f"/projects/{self.project.id}/forms")
        assert listed.status_code == 200
        assert response.json()["xmlFormId"] in {f["xmlFormId"] for f in listed.json()}


@pytest.fixture
def uploads(admin, project, db, tmp_path, store_root, spool_dir) -> Uploads:
    return Uploads(admin, project, db, tmp_path, store_root, spool_dir)


# --- bodies that are no form at all ----------------------------------------------------------

form_content_types = st.one_of(
    st.sampled_from([XLSX_TYPE, XLSX_TYPE, XLS_TYPE, "application/xml", "text/xml"]),
    st.none(),
    st.sampled_from(
        [
            "text/csv",
            "application/zip",
            "application/octet-stream",
            "text/markdown",
            XLSX_TYPE + "; charset=binary",
            "APPLICATION/XML",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60),
)

hostile_xform = st.one_of(
    st.sampled_from(ENTITY_DOCUMENTS).map(lambda d: d % {b"id": b"fz"}),
    st.integers(260, 2000).map(
        lambda n: (
            b"<h:html xmlns:h='http://www.w3.org/1999/xhtml'>"
            + b"<g>" * n
            + b"</g>" * n
            + b"</h:html>"
        )
    ),
    st.binary(max_size=300).map(lambda b: b"<?xml version='1.0'?><h:html " + b),
    st.just(b"<h:html xmlns:h='http://www.w3.org/1999/xhtml'><h:head/></h:html>"),
    st.just(b"<root/>"),
)


def test_bodies_that_are_no_form_are_refused_cleanly(uploads):
    @fuzz_settings(50)
    @given(
        body=st.one_of(
            st.binary(max_size=4096),
            st.binary(max_size=2048).map(lambda b: b"PK\x03\x04" + b),
            st.binary(max_size=2048).map(lambda b: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b),
            hostile_xform,
        ),
        content_type=form_content_types,
    )
    def check(body, content_type):
        uploads.assert_refused(uploads.post(body, content_type))

    check()
    uploads.still_serves()


# --- a good .xlsx, damaged ---------------------------------------------------------------------

GOOD = visit_xlsx()


def rezip(
    data: bytes,
    drop: set[str] = frozenset(),
    extra: dict[str, bytes] | None = None,
    replace: dict[str, bytes] | None = None,
) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for name in src.namelist():
            if name not in drop:
                dst.writestr(name, (replace or {}).get(name, src.read(name)))
        for name, content in (extra or {}).items():
            dst.writestr(name, content)
    return out.getvalue()


@st.composite
def damaged_xlsx(draw, ops: tuple[str, ...]) -> bytes:
    members = zipfile.ZipFile(io.BytesIO(GOOD)).namelist()
    op = draw(st.sampled_from(ops))
    if op == "truncate":
        return GOOD[: draw(st.integers(0, len(GOOD) - 1))]
    if op == "flip":
        body = bytearray(GOOD)
        for at in draw(st.lists(st.integers(0, len(GOOD) - 1), min_size=1, max_size=8)):
            body[at] ^= draw(st.integers(1, 255))
        return bytes(body)
    if op == "zero":
        at = draw(st.integers(0, len(GOOD) - 1))
        size = draw(st.integers(1, 512))
        return GOOD[:at] + b"\x00" * size + GOOD[at + size :]
    if op == "drop":
        return rezip(
            GOOD, drop=set(draw(st.lists(st.sampled_from(members), min_size=1, max_size=3)))
        )
    if op == "extra":
        name = draw(
            st.sampled_from(
                [
                    "../../evil.xml",
                    "/etc/evil",
                    "xl/worksheets/sheet9.xml",
                    "xl/../../../x",
                    "C:\\evil",
                    "\u202eevil",
                ]
            )
        )
        return rezip(GOOD, extra={name: draw(st.binary(max_size=200))})
    member = draw(st.sampled_from([m for m in members if m.endswith((".xml", ".rels"))]))
    content = draw(st.sampled_from(ENTITY_DOCUMENTS)) % {b"id": b"fz"}
    content = draw(st.just(content) | st.binary(max_size=300))
    return rezip(GOOD, replace={member: content})


STRUCTURAL_DAMAGE = ("truncate", "drop", "extra", "garble_xml")
BYTE_DAMAGE = ("flip", "zero")


def test_damaged_xlsx_is_refused_or_compiled_never_half_stored(uploads):
    @fuzz_settings(30)
    @given(body=damaged_xlsx(STRUCTURAL_DAMAGE))
    def check(body):
        uploads.assert_refused_or_created(uploads.post(body, XLSX_TYPE))

    check()
    uploads.still_serves()


@pytest.fixture
def leaks_stay_here(monkeypatch):
    """For the known-bug tests whose 500 leaks the spooled upload: no log record of the 500
    (its traceback would keep the spool alive), and the spool's ResourceWarning collected in
    this test rather than failing whichever test runs next."""
    monkeypatch.setattr(logging.getLogger("donghanh"), "disabled", True)
    yield
    for _ in range(4):
        time.sleep(0.05)
        gc.collect()


def corrupt_deflate(data: bytes, member: str = "xl/worksheets/sheet1.xml") -> bytes:
    """Set the reserved block type (BTYPE=11) in the member's first deflate block header."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    header = data[info.header_offset : info.header_offset + 30]
    start = (
        info.header_offset
        + 30
        + int.from_bytes(header[26:28], "little")
        + int.from_bytes(header[28:30], "little")
    )
    return data[:start] + bytes([data[start] | 0b110]) + data[start + 1 :]


def test_corrupt_deflate_data_is_refused_cleanly(uploads, leaks_stay_here):
    uploads.assert_refused(uploads.post(corrupt_deflate(GOOD), XLSX_TYPE))


def test_byte_damaged_xlsx_is_refused_or_compiled_never_half_stored(uploads, leaks_stay_here):
    @settings(fuzz_settings(15), phases=[Phase.generate], report_multiple_bugs=False)
    @given(body=damaged_xlsx(BYTE_DAMAGE))
    def check(body):
        uploads.assert_refused_or_created(uploads.post(body, XLSX_TYPE))

    check()


# --- hostile sheet contents, written by openpyxl ------------------------------------------------

FORMULAS = [
    "=1+1",
    '=HYPERLINK("http://127.0.0.1:9/x","click")',
    "=cmd|' /C calc'!A0",
    '=INDIRECT("A1")',
    '=WEBSERVICE("http://127.0.0.1:9/")',
    "=A1",
    "=#REF!",
]
TYPES = [
    "text",
    "integer",
    "decimal",
    "select_one yn",
    "select_multiple yn",
    "image",
    "note",
    "calculate",
    "begin_group",
    "end_group",
    "begin_repeat",
    "end_repeat",
    "geopoint",
    "select_one_from_file clients.csv",
    "trigger",
    "range",
    "audit",
    "start",
    "date",
]


def cell_text(**kwargs):
    return st.text(**kwargs).map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s))


cell = st.one_of(
    st.none(),
    cell_text(max_size=60),
    st.sampled_from(FORMULAS),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(),
)


@st.composite
def hostile_workbook(draw) -> bytes:
    book = Workbook()
    book.remove(book.active)
    survey_title = draw(st.sampled_from(["survey", "Survey", "SURVEY", "survey ", "sheet"]))
    survey = book.create_sheet(survey_title)
    extra_headers = draw(
        st.lists(
            st.sampled_from(
                [
                    "relevant",
                    "constraint",
                    "calculation",
                    "required",
                    "choice_filter",
                    "parameters",
                    "appearance",
                    "bind::dh:sensitive",
                    "default",
                    "label::English (en)",
                    "repeat_count",
                    "trigger",
                ]
            )
            | cell_text(min_size=1, max_size=30),
            max_size=3,
            unique_by=lambda h: h.strip().lower(),
        ).filter(lambda hs: not {h.strip().lower() for h in hs} & {"type", "name", "label"})
    )
    # A tame workbook (valid types and names, hostile labels and expressions) often compiles,
    # so the whole path (ODK Validate, storage) is fuzzed too; a wild one rarely does.
    tame = draw(st.booleans())
    if tame:
        types = st.sampled_from(["text", "integer", "decimal", "note", "date", "calculate"])
    else:
        types = st.sampled_from(TYPES) | cell_text(max_size=30) | st.sampled_from(FORMULAS)
    survey.append(["type", "name", "label", *extra_headers])
    n = draw(st.integers(0, 25))
    for i in range(n):
        survey.append(
            [
                draw(types),
                f"q{i}"
                if tame
                else draw(st.just(f"q{i}") | cell_text(max_size=30) | st.sampled_from(FORMULAS)),
                draw(cell_text(min_size=1, max_size=60) if tame else cell),
                *(draw(cell) for _ in extra_headers),
            ]
        )
    if draw(st.booleans()):
        choices = book.create_sheet("choices")
        choices.append(["list_name", "name", "label"])
        for _ in range(draw(st.integers(0, 6))):
            choices.append([draw(st.just("yn") | cell_text(max_size=10)), draw(cell), draw(cell)])
    if draw(st.booleans()):
        settings = book.create_sheet("settings")
        settings.append(["form_id", "version", "form_title", "default_language"])
        settings.append(
            [
                draw(st.none() | cell_text(max_size=40)),
                draw(cell),
                draw(cell),
                draw(st.none() | cell_text(max_size=20)),
            ]
        )
    if draw(st.booleans()):
        other = book.create_sheet(draw(st.sampled_from(["entities", "external_choices", "x"])))
        other.append([draw(cell) for _ in range(3)])
        other.append([draw(cell) for _ in range(3)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_hostile_sheet_contents_are_refused_or_compiled(uploads):
    @fuzz_settings(30)
    @given(
        body=hostile_workbook(),
        ignore=st.booleans(),
        # Central's clients percent-encode the header; at most 60 characters once decoded
        # (see test_very_long_fallback_form_id_is_answered_cleanly for longer ones).
        fallback=st.builds(fresh_id) | st.text(max_size=60).map(lambda s: quote(s, safe="")),
    )
    def check(body, ignore, fallback):
        response = uploads.post(
            body, XLSX_TYPE, fallback=fallback, query="?ignoreWarnings=true" if ignore else ""
        )
        uploads.assert_refused_or_created(response)

    check()
    uploads.still_serves()


def test_very_many_rows_with_a_broken_last_row_is_refused(uploads):
    rows = [["text", f"q{i}", f"Câu {i}", f"Q {i}", None, None] for i in range(10_000)]
    rows.append(["txet", "bad", "=1+1", "=cmd|' /C calc'!A0", None, None])
    body = uploads.assert_refused(uploads.post(visit_xlsx(extra_rows=rows), XLSX_TYPE))
    assert body["code"] == 400.15
    assert "txet" in body["message"]
    uploads.still_serves()


# --- zip bombs ------------------------------------------------------------------------------------

TEXT_BOMB = "100MB-of-text-in-the-first-cell"
SHEET_NS = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def write_bomb(path: Path, member: str, head: bytes, fill: bytes, megabytes: int, tail: bytes):
    """A copy of GOOD whose ``member`` expands to ``megabytes`` MiB, streamed into the zip
    writer a MiB at a time (never held in memory)."""
    chunk = fill * ((1 << 20) // len(fill))
    with (
        zipfile.ZipFile(io.BytesIO(GOOD)) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst,
    ):
        for name in src.namelist():
            if name == member:
                with dst.open(name, "w", force_zip64=True) as out:
                    out.write(head)
                    for _ in range(megabytes):
                        out.write(chunk)
                    out.write(tail)
            else:
                dst.writestr(name, src.read(name))
    return path


def lying_sizes(data: bytes) -> bytes:
    """The zip with every member declaring 4 GiB - 2 uncompressed (local and central headers)."""
    body = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        for m in re.finditer(re.escape(sig), bytes(body)):
            body[m.start() + offset : m.start() + offset + 4] = (0xFFFFFFFE).to_bytes(4, "little")
    return bytes(body)


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    sheet = "xl/worksheets/sheet1.xml"
    return {
        "200MB-of-NUL-as-the-survey-sheet": write_bomb(
            folder / "nul.xlsx", sheet, b"", b"\x00", 200, b""
        ),
        "200MB-of-whitespace-inside-sheetData": write_bomb(
            folder / "blank.xlsx",
            sheet,
            SHEET_NS + b"<sheetData>",
            b" ",
            200,
            b"</sheetData></worksheet>",
        ),
        "200MB-of-NUL-as-the-choices-sheet": write_bomb(
            folder / "choices.xlsx", "xl/worksheets/sheet2.xml", b"", b"\x00", 200, b""
        ),
        TEXT_BOMB: write_bomb(
            folder / "text.xlsx",
            sheet,
            SHEET_NS + b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>',
            b"0",
            100,
            b"</t></is></c></row></sheetData></worksheet>",
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "200MB-of-NUL-as-the-survey-sheet",
        "200MB-of-whitespace-inside-sheetData",
        "200MB-of-NUL-as-the-choices-sheet",
        TEXT_BOMB,
    ],
)
def test_zip_bombs_are_refused(uploads, bombs, name):
    path = bombs[name]
    assert path.stat().st_size < 2_000_000  # a small upload that expands 100-fold and more
    uploads.assert_refused(uploads.post(path.read_bytes(), XLSX_TYPE))
    uploads.still_serves()


def test_zip_declaring_huge_member_sizes_is_answered_cleanly(uploads):
    # Python's zipfile reads until the deflate stream ends, so the lie costs nothing: the form
    # may compile; what matters is a clean answer and nothing half stored.
    uploads.assert_refused_or_created(uploads.post(lying_sizes(GOOD), XLSX_TYPE))
    uploads.still_serves()


# --- known bugs -----------------------------------------------------------------------------------


def test_very_long_fallback_form_id_is_answered_cleanly(uploads, leaks_stay_here):
    response = uploads.post(GOOD, XLSX_TYPE, fallback="a" * 300)
    assert response.status_code < 500, response.text
    assert files_under(uploads.spool_dir) == set(), "a spooled upload was left behind"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_project_id_beyond_64_bits_is_404(uploads, method):
    if method == "POST":
        response = uploads.post(GOOD, XLSX_TYPE, project_id=2**63)
    else:
        response = uploads.admin("GET", f"/projects/{2**63}/forms")
    assert response.status_code == 404, response.text
    assert_clean_json_refusal(response)


def peak_rss_kib(port: int) -> int:
    """The highest peak resident size (VmHWM) among the gunicorn processes on ``port``."""
    peak = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if b"gunicorn" not in cmdline or f"127.0.0.1:{port}".encode() not in cmdline:
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak


def test_zip_bomb_does_not_balloon_a_worker(gunicorn_server, make_user, project, bombs):
    """Measured in gunicorn workers (fresh processes), so the peak is this upload's own: the
    archive must be refused before it is inflated in memory (it once grew a worker by ~300 MiB;
    bounded since forms/compile.py check_xlsx_archive)."""
    import requests

    make_user("bomb.admin@example.org", "correct horse battery", "admin")
    token = requests.post(
        f"{gunicorn_server}/v1/sessions",
        json={"email": "bomb.admin@example.org", "password": "correct horse battery"},
        timeout=60,
    ).json()["token"]
    port = int(gunicorn_server.rsplit(":", 1)[1])
    before = peak_rss_kib(port)
    assert before > 0
    response = requests.post(
        f"{gunicorn_server}/v1/projects/{project.id}/forms?ignoreWarnings=true",
        data=bombs[TEXT_BOMB].read_bytes(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": XLSX_TYPE,
            "X-XlsForm-FormId-Fallback": "bomb",
        },
        timeout=120,
    )
    assert_clean_json_refusal(response)
    grown_mib = (peak_rss_kib(port) - before) / 1024
    assert grown_mib < 150, f"a worker's peak memory grew by {grown_mib:.0f} MiB"
