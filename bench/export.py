"""How fast a form's submissions export, and in how much memory: a 30-question form with a
repeat (two visits per submission), ``--count`` submissions written straight into the
tables (the intake service would take hours for a million), then the export services as
the routes call them: Central's ZIP of CSVs (main table and the repeat's table) and the
XLSX workbook (openpyxl's write-only mode). Prints rows/s and the peak RSS of this process
during each export (VmHWM, reset before each one through /proc/self/clear_refs).

    python -m bench.export --count 1000000 --db both
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from bench.common import bench_env, reset_database, terminate_on_sigterm

#: 30 questions (28 outside the repeat, 2 in it), as a programme visit asks them.
FORM_MD = """
| survey   |                    |            |             |
|          | type               | name       | label       |
|          | text               | ho_ten     | Họ và tên   |
|          | integer            | tuoi       | Tuổi        |
|          | select_one gioi    | gioi       | Giới tính   |
|          | text               | so_dt      | Điện thoại  |
|          | text               | ma_xa      | Mã xã       |
|          | text               | dia_chi    | Địa chỉ     |
|          | geopoint           | vi_tri     | Vị trí      |
|          | date               | ngay_tham  | Ngày thăm   |
|          | select_multiple dv | dich_vu    | Dịch vụ     |
|          | integer            | so_nguoi   | Số người    |
|          | decimal            | can_nang   | Cân nặng    |
|          | decimal            | chieu_cao  | Chiều cao   |
|          | select_one yn      | co_bhyt    | Có BHYT?    |
|          | text               | ma_bhyt    | Mã BHYT     |
|          | select_one yn      | gap        | Gặp được?   |
|          | text               | ly_do      | Lý do       |
|          | integer            | so_lan     | Số lần      |
|          | date               | ngay_hen   | Ngày hẹn    |
|          | select_one yn      | hai_long   | Hài lòng?   |
|          | text               | ghi_chu    | Ghi chú     |
|          | select_multiple dv | van_de     | Vấn đề      |
|          | decimal            | chi_phi    | Chi phí     |
|          | select_one yn      | gioi_thieu | Giới thiệu? |
|          | text               | noi_den    | Nơi đến     |
|          | text               | q25        | Câu 25      |
|          | text               | q26        | Câu 26      |
|          | integer            | q27        | Câu 27      |
|          | text               | q28        | Câu 28      |
|          | begin_repeat       | lan_gap    | Lần gặp     |
|          | date               | ngay       | Ngày        |
|          | text               | noi_dung   | Nội dung    |
|          | end_repeat         |            |             |
| choices  |                    |            |             |
|          | list_name          | name       | label       |
|          | yn                 | co         | Có          |
|          | yn                 | khong      | Không       |
|          | gioi               | nam        | Nam         |
|          | gioi               | nu         | Nữ          |
|          | dv                 | tu_van     | Tư vấn      |
|          | dv                 | xet_nghiem | Xét nghiệm  |
|          | dv                 | dieu_tri   | Điều trị    |
| settings |                    |            |             |
|          | form_id            | version    | form_title  |
|          | export_bench       | 1          | Xuất        |
"""
SEED_BATCH = 5000


def _xml(rng: random.Random, instance_id: str) -> bytes:
    answers = {
        "ho_ten": rng.choice(["Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Cường"]),
        "tuoi": str(rng.randint(16, 80)),
        "gioi": rng.choice(["nam", "nu"]),
        "so_dt": f"09{rng.randint(10_000_000, 99_999_999)}",
        "ma_xa": "00004",
        "dia_chi": "Số 45 Nguyễn Trãi, phường 3",
        "vi_tri": f"{21 + rng.random():.6f} {105 + rng.random():.6f} 12.0 4.8",
        "ngay_tham": "2026-11-22",
        "dich_vu": "tu_van xet_nghiem",
        "so_nguoi": str(rng.randint(1, 9)),
        "can_nang": f"{rng.uniform(40, 90):.1f}",
        "chieu_cao": f"{rng.uniform(145, 185):.1f}",
        "co_bhyt": "co",
        "ma_bhyt": f"DN4{rng.randint(10**11, 10**12 - 1)}",
        "gap": "co",
        "ly_do": "",
        "so_lan": str(rng.randint(1, 12)),
        "ngay_hen": "2026-12-06",
        "hai_long": "co",
        "ghi_chu": "Hộ gia đình hợp tác tốt; cần theo dõi thêm.",
        "van_de": "dieu_tri",
        "chi_phi": f"{rng.uniform(0, 500):.0f}",
        "gioi_thieu": "khong",
        "noi_den": "",
        "q25": "a",
        "q26": "b",
        "q27": "3",
        "q28": "d",
    }
    body = "".join(f"<{k}>{escape(v)}</{k}>" if v else f"<{k}/>" for k, v in answers.items())
    body += "".join(
        f"<lan_gap><ngay>2026-11-{20 + i}</ngay><noi_dung>Tư vấn lần {i}</noi_dung></lan_gap>"
        for i in (1, 2)
    )
    return (
        '<?xml version=\'1.0\' ?><data id="export_bench" version="1" '
        'xmlns:orx="http://openrosa.org/xforms">'
        f"{body}<orx:meta><orx:instanceID>{instance_id}</orx:instanceID></orx:meta></data>"
    ).encode()


def seed(app, form_id: int, version_id: int, count: int, first_id: int = 1) -> None:
    """``count`` submissions and their current versions (ids from ``first_id``), inserted in
    batches."""
    from sqlalchemy import insert

    from server.models.submissions import Submission, SubmissionVersion

    db = app.extensions["donghanh"].db
    rng = random.Random(first_id)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    done = 0
    while done < count:
        n = min(SEED_BATCH, count - done)
        ids = [f"uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}" for _ in range(n)]
        moments = [start + timedelta(seconds=first_id + done + i) for i in range(n)]
        with db.transaction() as session:
            first = first_id + done
            session.execute(
                insert(Submission),
                [
                    {
                        "id": first + i,
                        "form_id": form_id,
                        "instance_id": ids[i],
                        "device_id": "collect:bench",
                        "created_at": moments[i],
                        "ward": "00004",
                        "draft": False,
                    }
                    for i in range(n)
                ],
            )
            rows = []
            for i in range(n):
                xml = _xml(rng, ids[i])
                rows.append(
                    {
                        "id": first + i,
                        "submission_id": first + i,
                        "form_id": form_id,
                        "form_version_id": version_id,
                        "instance_id": ids[i],
                        "xml": xml,
                        "sha256": hashlib.sha256(xml).hexdigest(),
                        "current": True,
                        "created_at": moments[i],
                    }
                )
            session.execute(insert(SubmissionVersion), rows)
        done += n
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(kind: str, count: int) -> list[str]:
    """Seed ``count`` submissions in a fresh database of ``kind``, export them as a ZIP of
    CSVs and as XLSX; one line per export (and a first line for the seeding)."""
    import forms
    from server.app import create_app
    from server.auth.permissions import SYSTEM
    from server.migrate import upgrade
    from server.services import export_formats, projects, submission_tables
    from server.services import forms as form_service
    from server.settings import Settings

    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        folder = Path(tmp)
        url = reset_database(kind, folder)
        upgrade(url)
        settings = Settings.from_env(bench_env(folder, url))
        app = create_app(settings)
        ext = app.extensions["donghanh"]
        try:
            compiled = forms.compile_xlsform(FORM_MD.encode(), filename="x.md", validate=False)
            with ext.db.transaction() as session:
                project = projects.create_project(session, None, "bench")
                version = form_service.publish_form(
                    session, ext.blobs, SYSTEM, project.id, compiled.xform, None, []
                )
                form_id, version_id, project_id = version.form_id, version.id, project.id
            started = time.perf_counter()
            seed(app, form_id, version_id, count)
            lines.append(
                f"{kind}: {count:,} submissions of 30 questions (2 repeat rows each) "
                f"seeded in {time.perf_counter() - started:.0f} s"
            )
            for name in ("csv.zip", "xlsx"):
                _reset_peak()
                started = time.perf_counter()
                with ext.db.transaction(write=False) as session:
                    plan = submission_tables.plan_export(
                        session, SYSTEM, project_id, "export_bench", split_multiples=True
                    )
                    out = folder / f"out.{name}"
                    if name == "csv.zip":
                        with out.open("wb") as f:
                            for chunk in export_formats.csv_zip(
                                session, ext.blobs, plan, False, str(folder)
                            ):
                                f.write(chunk)
                    else:
                        export_formats.xlsx(session, plan, out, "vi", settings.timezone)
                elapsed = time.perf_counter() - started
                lines.append(
                    f"  {name:8} {count / elapsed:10,.0f} rows/s  {elapsed:7.1f} s  "
                    f"peak RSS {_peak_mb():6.0f} MB  file {out.stat().st_size / 1e6:7.1f} MB"
                )
                out.unlink()
        finally:
            ext.db.dispose()
    return lines


def main() -> None:
    terminate_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        for line in run(kind, args.count):
            print(line, flush=True)


if __name__ == "__main__":
    main()
