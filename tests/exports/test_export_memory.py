"""The exports stream in constant memory: ten times the submissions (6,000 against 1,000,
with a repeat) leave the peak of Python's allocations during the export where it was,
while six times the data is written. Sizes only, never times (speed: bench/export.py)."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest

import forms
from bench.export import FORM_MD, seed
from server.auth.permissions import SYSTEM
from server.services import export_formats, submission_tables
from server.services import forms as form_service

SMALL, LARGE = 1_000, 6_000


@pytest.fixture
def bench_form(app, db, project):
    compiled = forms.compile_xlsform(FORM_MD.encode(), filename="x.md", validate=False)
    with db.transaction() as session:
        version = form_service.publish_form(
            session, app.extensions["donghanh"].blobs, SYSTEM, project.id, compiled.xform
        )
        return version.form_id, version.id


def measure(db, store, project_id: int, kind: str, tmp_path) -> tuple[int, int]:
    """(peak bytes allocated during the export, bytes of the file written)."""
    tracemalloc.start()
    try:
        with db.transaction(write=False) as session:
            plan = submission_tables.plan_export(
                session, SYSTEM, project_id, "export_bench", split_multiples=True
            )
            out = tmp_path / f"out.{kind}"
            tracemalloc.reset_peak()
            if kind == "zip":
                with out.open("wb") as f:
                    for chunk in export_formats.csv_zip(session, store, plan, False, str(tmp_path)):
                        f.write(chunk)
            else:
                export_formats.xlsx(session, plan, out, "vi", "Asia/Ho_Chi_Minh")
            peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, out.stat().st_size


def test_ten_times_the_rows_take_no_more_memory(app, db, project, bench_form, tmp_path):
    form_id, version_id = bench_form
    store = app.extensions["donghanh"].blobs
    seed(app, form_id, version_id, SMALL)
    small = {k: measure(db, store, project.id, k, tmp_path) for k in ("zip", "xlsx")}
    seed_more(app, form_id, version_id)
    large = {k: measure(db, store, project.id, k, tmp_path) for k in ("zip", "xlsx")}
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert sum(1 for _ in io.TextIOWrapper(archive.open("export_bench.csv"))) == LARGE + 1
    for kind in ("zip", "xlsx"):
        small_peak, small_size = small[kind]
        large_peak, large_size = large[kind]
        assert large_size > 4 * small_size  # six times the data was written...
        # ...in the memory the small export took (one batch of rows, the zip's buffers)
        assert large_peak < 1.5 * small_peak + 2_000_000, (kind, small_peak, large_peak)


def seed_more(app, form_id: int, version_id: int) -> None:
    """The submissions after the first SMALL, with ids that follow theirs."""
    seed(app, form_id, version_id, LARGE - SMALL, first_id=SMALL + 1)
