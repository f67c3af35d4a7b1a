"""Shared set-up for the benchmarks: a fresh instance (temp folder, emptied and migrated
database) seeded through the product's own services, a realistic 25-field form and its
instances, gunicorn started the way `make run` starts it, and the server's memory from /proc.

Everything the server is told goes through environment variables, as in production."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
#: The local PostgreSQL server's own benchmark database (trust auth), emptied on every run.
PG_BENCH = os.environ.get("BENCH_DATABASE_URL") or (
    "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
)

#: 25 questions, as a home visit of the program asks them (plus start/end metadata).
FORM_MD = """
| survey   |                         |              |                          |
|          | type                    | name         | label                    |
|          | start                   | start        |                          |
|          | end                     | end          |                          |
|          | text                    | ho_ten       | Họ và tên                |
|          | integer                 | tuoi         | Tuổi                     |
|          | select_one gioi         | gioi         | Giới tính                |
|          | text                    | so_dt        | Số điện thoại            |
|          | select_one tinh         | tinh         | Tỉnh/thành               |
|          | text                    | dia_chi      | Địa chỉ                  |
|          | geopoint                | vi_tri       | Vị trí                   |
|          | date                    | ngay_tham    | Ngày thăm                |
|          | select_multiple dv      | dich_vu      | Dịch vụ đã nhận          |
|          | integer                 | so_nguoi     | Số người trong hộ        |
|          | decimal                 | can_nang     | Cân nặng (kg)            |
|          | decimal                 | chieu_cao    | Chiều cao (cm)           |
|          | select_one yn           | co_bhyt      | Có BHYT?                 |
|          | text                    | ma_bhyt      | Mã thẻ BHYT              |
|          | select_one yn           | gap          | Gặp được?                |
|          | text                    | ly_do        | Lý do                    |
|          | integer                 | so_lan       | Số lần đã thăm           |
|          | date                    | ngay_hen     | Ngày hẹn lại             |
|          | select_one muc          | hai_long     | Mức độ hài lòng          |
|          | text                    | ghi_chu      | Ghi chú                  |
|          | select_multiple vd      | van_de       | Vấn đề                   |
|          | decimal                 | chi_phi      | Chi phí (nghìn đồng)     |
|          | select_one yn           | gioi_thieu   | Cần giới thiệu?          |
|          | text                    | noi_den      | Nơi giới thiệu           |
|          | image                   | anh          | Ảnh                      |
| choices  |                         |              |                          |
|          | list_name               | name         | label                    |
|          | yn                      | co           | Có                       |
|          | yn                      | khong        | Không                    |
|          | gioi                    | nam          | Nam                      |
|          | gioi                    | nu           | Nữ                       |
|          | gioi                    | khac         | Khác                     |
|          | tinh                    | hn           | Hà Nội                   |
|          | tinh                    | hcm          | TP Hồ Chí Minh           |
|          | tinh                    | dn           | Đà Nẵng                  |
|          | tinh                    | ct           | Cần Thơ                  |
|          | dv                      | tu_van       | Tư vấn                   |
|          | dv                      | xet_nghiem   | Xét nghiệm               |
|          | dv                      | dieu_tri     | Điều trị                 |
|          | dv                      | ho_tro       | Hỗ trợ xã hội            |
|          | muc                     | 1            | Rất không hài lòng       |
|          | muc                     | 2            | Không hài lòng           |
|          | muc                     | 3            | Bình thường              |
|          | muc                     | 4            | Hài lòng                 |
|          | muc                     | 5            | Rất hài lòng             |
|          | vd                      | nha_o        | Nhà ở                    |
|          | vd                      | viec_lam     | Việc làm                 |
|          | vd                      | suc_khoe     | Sức khỏe                 |
|          | vd                      | phap_ly      | Pháp lý                  |
| settings |                         |              |                          |
|          | form_id                 | version      | form_title               |
|          | bench                   | 1            | Thăm hộ (benchmark)      |
"""
QUESTIONS = 25
_SAVED = {"ho_ten": "ten", "tuoi": "tuoi", "gioi": "gioi", "tinh": "tinh"}
#: The household's commune/ward (a Hà Nội ward): the bench's app user serves it.
BENCH_WARD = "00004"


def _with_entities(md: str) -> str:
    """FORM_MD with a save_to column (four answers kept as a household's properties) and an
    entities sheet: each visit also registers a household in the list ``ho_gia_dinh``."""
    out = []
    for line in md.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|          | type "):
            line += " save_to |"
        elif len(cells) == 4 and cells[2] in _SAVED:
            line += f" {_SAVED[cells[2]]} |"
        elif cells[:3] == ["", "image", "anh"]:
            out.append("| | text | ma_xa | Mã xã | ma_xa |")
        elif line.startswith("| settings"):
            out += ["| entities | list_name | label |", "|  | ho_gia_dinh | ${ho_ten} |"]
        out.append(line)
    return "\n".join(out) + "\n"


_NAMES = ["Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Cường", "Phạm Thị Dung", "Vũ Minh Đức"]
_STREETS = ["Ngõ 12 Lạc Long Quân", "Số 45 Nguyễn Trãi", "Hẻm 3/7 Lê Văn Sỹ", "Tổ 8 Bồ Đề"]


def instance_xml(
    photo_name: str | None, rng: random.Random | None = None, entity: bool = False
) -> bytes:
    """One filled-in instance as Collect writes it, with a fresh uuid4 instanceID (and with
    ``entity``, the block that creates a household in the list of the entities variant)."""
    r = rng or random
    gap = r.random() < 0.8
    answers = {
        "start": "2026-11-22T09:14:03.120+07:00",
        "end": "2026-11-22T09:21:47.884+07:00",
        "ho_ten": r.choice(_NAMES),
        "tuoi": str(r.randint(16, 80)),
        "gioi": r.choice(["nam", "nu", "khac"]),
        "so_dt": f"09{r.randint(10_000_000, 99_999_999)}",
        "tinh": r.choice(["hn", "hcm", "dn", "ct"]),
        "dia_chi": f"{r.choice(_STREETS)}, phường {r.randint(1, 20)}",
        "vi_tri": f"{21 + r.random():.6f} {105 + r.random():.6f} {r.randint(5, 40)}.0 4.8",
        "ngay_tham": "2026-11-22",
        "dich_vu": " ".join(r.sample(["tu_van", "xet_nghiem", "dieu_tri", "ho_tro"], 2)),
        "so_nguoi": str(r.randint(1, 9)),
        "can_nang": f"{r.uniform(40, 90):.1f}",
        "chieu_cao": f"{r.uniform(145, 185):.1f}",
        "co_bhyt": "co",
        "ma_bhyt": f"DN4{r.randint(10**11, 10**12 - 1)}",
        "gap": "co" if gap else "khong",
        "ly_do": "" if gap else "Đi làm xa, hẹn lần sau",
        "so_lan": str(r.randint(1, 12)),
        "ngay_hen": "2026-12-06",
        "hai_long": str(r.randint(1, 5)),
        "ghi_chu": "Hộ gia đình hợp tác tốt; cần theo dõi thêm về việc làm và nhà ở. " * 2,
        "van_de": " ".join(r.sample(["nha_o", "viec_lam", "suc_khoe", "phap_ly"], 2)),
        "chi_phi": f"{r.uniform(0, 500):.0f}",
        "gioi_thieu": "khong",
        "noi_den": "",
        "anh": photo_name or "",
    }
    body = "".join(f"<{k}>{escape(v)}</{k}>" if v else f"<{k}/>" for k, v in answers.items())
    block = ""
    if entity:
        body += f"<ma_xa>{BENCH_WARD}</ma_xa>"
        block = (
            f'<entity dataset="ho_gia_dinh" id="{uuid.uuid4()}" create="1">'
            f"<label>{escape(answers['ho_ten'])}</label></entity>"
        )
    return (
        '<?xml version=\'1.0\' ?><data id="bench" version="1" '
        'xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">'
        f"{body}<orx:meta><orx:instanceID>uuid:{uuid.uuid4()}</orx:instanceID>{block}"
        "</orx:meta></data>"
    ).encode()


def photo_bytes(kb: int) -> bytes:
    """About ``kb`` KB that do not compress, framed like a JPEG."""
    if not kb:
        return b""
    return b"\xff\xd8\xff\xe0" + os.urandom(kb * 1024 - 6) + b"\xff\xd9"


def terminate_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so that the `finally` blocks stop the servers."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def reset_database(kind: str, folder: Path) -> str:
    """A fresh empty database of ``kind`` (sqlite in ``folder``, or PG_BENCH emptied)."""
    if kind == "sqlite":
        return f"sqlite:///{folder}/bench.db"
    admin_url = PG_BENCH.rsplit("/", 1)[0] + "/postgres"
    name = PG_BENCH.rsplit("/", 1)[1]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    empty_schema(PG_BENCH)
    return PG_BENCH


def empty_schema(url: str) -> None:
    """Drop every table of a PostgreSQL database (its public schema, made anew)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def bench_env(folder: Path, url: str, **extra: str) -> dict[str, str]:
    """The settings of a bench's own instance in ``folder`` on database ``url``: files under
    the folder, a directory register, no embedded worker, warnings only; ``extra`` on top."""
    return {
        "INSTANCE_PATH": str(folder / "instance"),
        "DATABASE_URL": url,
        "BLOB_STORE": f"file:{folder}/blobs",
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "LOG_LEVEL": "WARNING",
        "EMBEDDED_WORKER": "no",
        "REGISTER_TARGET": f"dir:{folder}/register",
        **extra,
    }


@contextmanager
def instance(
    kind: str, register_target: str | None = None, entities: bool = False
) -> Iterator[tuple]:
    """Yield (env, app, issued_app_user) for a fresh, migrated, seeded instance: one project,
    one app user, the 25-field form published (through the services, as the tests do)."""
    import forms
    from server.app import create_app
    from server.auth.permissions import SYSTEM
    from server.migrate import upgrade
    from server.services import app_users, projects
    from server.services import forms as form_service
    from server.settings import Settings

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        folder = Path(tmp)
        env = bench_env(folder, reset_database(kind, folder))
        if register_target:
            env["REGISTER_TARGET"] = register_target
        upgrade(env["DATABASE_URL"])
        app = create_app(Settings.from_env(env))
        ext = app.extensions["donghanh"]
        try:
            source = _with_entities(FORM_MD) if entities else FORM_MD
            compiled = forms.compile_xlsform(source.encode(), filename="bench.md", validate=False)
            with ext.db.transaction() as session:
                project = projects.create_project(session, None, "bench")
                form_service.publish_form(
                    session,
                    ext.blobs,
                    SYSTEM,
                    project.id,
                    compiled.xform,
                    None,
                    compiled.warnings,
                )
                issued = app_users.create_app_user(
                    session, SYSTEM, project.id, "bench", all_forms=True
                )
                if entities:  # the households it makes are in its ward
                    app_users.set_wards(session, SYSTEM, issued.actor_id, [BENCH_WARD])
            yield env, app, issued
        finally:
            ext.db.dispose()


def programme_app(kind: str, folder: str):
    """A fresh instance in ``folder`` (its database of ``kind`` emptied) with `flask init`'s
    programme forms published: the benches that seed a programme year write into it."""
    from server.app import create_app
    from server.settings import Settings

    settings = Settings.from_env(
        {
            "INSTANCE_PATH": f"{folder}/instance",
            "DATABASE_URL": reset_database(kind, Path(folder)),
            "BLOB_STORE": f"file:{folder}/blobs",
            "SECRET_KEY": "bench-secret-key-not-for-production",
            "PUBLIC_URL": "https://bench.example.org",
        }
    )
    app = create_app(settings)
    if app.test_cli_runner().invoke(args=["init"]).exit_code != 0:
        raise SystemExit("flask init failed")
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(
    env: dict, workers: int, app: str = "wsgi:app", config: str | None = None
) -> Iterator[tuple[str, int]]:
    """Run `python -m gunicorn --workers W wsgi:app` on loopback (gunicorn.conf.py from the
    project root); yield (base_url, master_pid); stop it, and its workers, whatever happens.
    Another ``app`` (bench/bare's reference) is read with the settings of ``config`` (a
    module: ``python:bench.bare``) instead of the project's, which wire the server's worker."""
    port = free_port()
    config = [] if config is None else ["--config", config]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *config,
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,  # its own process group, so stragglers can be killed too
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.1)
        # wait until every worker is up, so that start-up is not measured
        deadline = time.monotonic() + 60
        while len(children(proc.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        with suppress(subprocess.TimeoutExpired):
            proc.wait(20)
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # workers left behind, if any
        proc.wait(5)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def memory_kib(pid: int, field: str = "VmRSS") -> int:
    """Sum of ``field`` over a process and its children, i.e. gunicorn's master and workers:
    VmRSS, VmHWM (each process's peak) from status, or Pss (shared pages divided among the
    processes sharing them) from smaps_rollup."""
    source = "smaps_rollup" if field == "Pss" else "status"
    total = 0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/{source}").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total
