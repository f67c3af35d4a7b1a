"""python -m bench.worklists: how fast the pages of one ward with 20,000 clients answer
(issue 13: < 300 ms): the work lists, the readable clients list and the project page.

A fresh database migrated to head with `flask init`'s forms, then synthetic rows inserted
directly: --clients clients in one ward (a third post-rehab, some paused or lost, next
appointments and last visits spread over the year), a referral (F3) for one client in two
with an outcome (F4) for half of them, a home visit (F5) for each post-rehab client, some
status changes (F7), each with its submission and indicator facts, as ingest writes them.
Then, as a supervisor of that ward logged in through the login page, times each page
--requests times (the Flask view, its queries, the template) and prints the median and p95
of the wall-clock time, and the median CPU time of this process (the app and, on SQLite, the
database: the figure to read on a machine shared with other work).
It is not a test: nothing here asserts a time; the numbers go in the README.

    python -m bench.worklists [--db sqlite|postgres|both] [--clients 20000] [--requests 20]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select

from bench.common import programme_app, terminate_on_sigterm

WARD = "00004"
OTHER = "00008"  # a few clients elsewhere, which the ward's pages must not show


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def seed(app, clients: int, rng: random.Random, today: date) -> int:
    """The ward's clients, referrals, outcomes, visits and status changes; the project id."""
    from server.models.entities import Dataset, Entity
    from server.models.forms import Form
    from server.models.indicators import IndicatorFact
    from server.models.submissions import Submission
    from server.services import projects

    db = app.extensions["donghanh"].db
    with db.transaction() as session:
        project_id = projects.list_projects(session)[0].id
        datasets = dict(
            session.execute(
                select(Dataset.name, Dataset.id).where(Dataset.project_id == project_id)
            ).all()
        )
        form_ids = dict(
            session.execute(
                select(Form.xml_form_id, Form.id).where(Form.project_id == project_id)
            ).all()
        )
    now = datetime.now(UTC)

    def day(lo: int, hi: int) -> date:
        return today - timedelta(days=rng.randint(lo, hi))

    people, referrals, facts = [], [], []
    for i in range(clients + clients // 100):
        u, ward = _uuid(rng), WARD if i < clients else OTHER
        post_rehab = rng.random() < 0.33
        status = rng.choices(["mo", "tam_dung", "dong"], [0.9, 0.05, 0.05])[0]
        visit = day(0, 90) if post_rehab and rng.random() < 0.9 else None
        people.append(
            {
                "dataset_id": datasets["clients"],
                "uuid": u,
                "label": f"UIC{i:06d} · {rng.randint(1960, 2008)} · Phường Ba Đình",
                "data": {
                    "uic": f"UIC{i:06d}",
                    "gioi": rng.choice("12"),
                    "nam_sinh": str(rng.randint(1960, 2008)),
                    "nhom": rng.choice(["sd_mt", "sd_mt tiem_chich", "sau_cai", "msm"]),
                    "ma_tinh": "01",
                    "ma_xa": ward,
                    "mo_hinh": rng.choice(["tiep_can", "canh_sat", "tnv", "diem_tv"]),
                    "ngay_dk": day(30, 400).isoformat(),
                    "sau_cai": "co" if post_rehab else "khong",
                    "qlsc_bat_dau": day(120, 300).isoformat() if post_rehab else "",
                    "qlsc_ket_thuc": (today + timedelta(days=200)).isoformat()
                    if post_rehab
                    else "",
                    "trang_thai": status,
                    "ngay_hen": day(-30, 30).isoformat(),
                    "ngay_tiep_xuc_cuoi": day(0, 60).isoformat(),
                    "ngay_tham_cuoi": visit.isoformat() if visit else "",
                    "co_bhyt": rng.choice(["co", "khong"]),
                },
                "version": 1,
                "created_at": now,
            }
        )

        def fact(form: str, when: date, u: str = u, ward: str = ward, **values) -> None:
            facts.append(
                {"form": form, "client": u, "day": when, "ma_xa": ward, "ma_tinh": "01",
                 "mo_hinh": "tiep_can", **values}
            )  # fmt: skip

        fact("f1_dang_ky", day(30, 400), dong_y="co")
        if rng.random() < 0.5:
            ref, sent = _uuid(rng), day(1, 120)
            dv = rng.choice(["xn_hiv", "mmt", "prep", "viec_lam"])
            fact("f3_chuyen_gui", sent, referral=ref, dv=dv, han=sent + timedelta(days=14))
            referrals.append(
                {
                    "dataset_id": datasets["referrals"],
                    "uuid": ref,
                    "label": f"UIC{i:06d} → {dv}",
                    "data": {"kh_id": u, "uic": f"UIC{i:06d}", "dich_vu": dv, "ma_xa": ward,
                             "han": (sent + timedelta(days=14)).isoformat(),
                             "ngay_chuyen": sent.isoformat(), "trang_thai": "da_chuyen"},
                    "version": 1,
                    "created_at": now,
                }
            )  # fmt: skip
            if rng.random() < 0.5:
                fact("f4_ket_qua_cg", sent + timedelta(days=5), referral=ref, dv=dv,
                     kq=rng.choice(["da_nhan", "da_den", "chua_den"]), client=None)  # fmt: skip
        if visit:
            fact("f5_tham_nha", visit, gap="co")
        if status != "mo":
            reason = (
                "vao_co_so" if status == "tam_dung" else rng.choice(["mat_lien_lac", "tu_choi"])
            )
            fact("f7_cap_nhat", day(0, 60), ly_do=reason)
    with db.transaction() as session:
        session.execute(insert(Entity), people)
        session.execute(insert(Entity), referrals)
    for start in range(0, len(facts), 5000):
        chunk = facts[start : start + 5000]
        subs = [
            {
                "form_id": form_ids[f["form"]],
                "instance_id": f"uuid:{_uuid(rng)}",
                "created_at": now,
                "ward": f["ma_xa"],
                "draft": False,
                "review_state": None if rng.random() < 0.1 else "approved",
            }
            for f in chunk
        ]
        with db.transaction() as session:
            ids = session.execute(insert(Submission).returning(Submission.id), subs).scalars()
            rows = [
                {**f, "project_id": project_id, "submission_id": sid,
                 "instance_id": s["instance_id"], "received_at": now, "live": True}
                for f, s, sid in zip(chunk, subs, ids, strict=True)
            ]  # fmt: skip
            session.execute(insert(IndicatorFact), rows)
    return project_id


def _versions(app) -> None:
    """The current version of each submission (the review-waiting list reads its title)."""
    from sqlalchemy import text

    with app.extensions["donghanh"].db.transaction() as session:
        session.execute(
            text(
                "INSERT INTO submission_versions (submission_id, form_id, form_version_id,"
                " instance_id, xml, sha256, current, created_at)"
                " SELECT s.id, s.form_id, f.current_version_id, s.instance_id, :xml, '', :yes,"
                " s.created_at FROM submissions s JOIN forms f ON f.id = s.form_id"
            ),
            {"xml": b"<data/>", "yes": True},
        )


def log_in(app, project_id: int):
    from server.services import users

    with app.extensions["donghanh"].db.transaction() as session:
        users.create_user(
            session, None, "sup@bench.org", "bench password 1", "donghanh", "supervisor",
            project_id, (WARD,),
        )  # fmt: skip
    client = app.test_client()
    page = client.get("/login")
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post(
        "/login",
        data={"csrf_token": nonce, "email": "sup@bench.org", "password": "bench password 1"},
    )
    return client


def cases(project_id: int) -> list[tuple[str, str]]:
    base = f"/projects/{project_id}"
    return [
        ("project page", base),
        ("work lists", f"{base}/worklists"),
        *[(f"list: {n}", f"{base}/worklists/{n}") for n in _names()],
        ("clients list", f"{base}/lists/clients"),
        ("clients: sort + filter", f"{base}/lists/clients?sort=ngay_hen&desc=1&f_trang_thai=mo"),
        ("clients: ward name", f"{base}/lists/clients?q=ba+dinh&offset=5000"),
        ("referrals list", f"{base}/lists/referrals?f_dich_vu=mmt"),
        ("field users", f"{base}/field-users"),
    ]


def _names() -> tuple[str, ...]:
    from server.services.worklists import NAMES

    return NAMES


def time_cases(client, project_id: int, requests: int) -> list[str]:
    lines = []
    for name, url in cases(project_id):
        times, cpu = [], []
        for _ in range(requests):
            started, used = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - used) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{name}: HTTP {response.status_code}")
        count = re.search(r'id="count">([^<]+)<', response.text)
        p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
        lines.append(
            f"  {name:30} median {statistics.median(times):6.0f} ms  p95 {p95:6.0f} ms"
            f"  cpu {statistics.median(cpu):5.0f} ms"
            f"  (n={requests}{'; ' + count.group(1).strip() if count else ''})"
        )
    return lines


def run(kind: str, clients: int, requests: int) -> list[str]:
    from server.services import worklists

    with tempfile.TemporaryDirectory() as folder:
        app = programme_app(kind, folder)
        t0 = time.perf_counter()
        project_id = seed(app, clients, random.Random(13), worklists.local_today())
        _versions(app)
        if kind == "postgres":
            from sqlalchemy import text

            with app.extensions["donghanh"].db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        lines = [
            f"{kind}: {clients} clients in one ward, seeded in {time.perf_counter() - t0:.0f} s"
        ]
        lines += time_cases(log_in(app, project_id), project_id, requests)
        app.extensions["donghanh"].db.dispose()
        return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    terminate_on_sigterm()
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        print("\n".join(run(kind, args.clients, args.requests)), flush=True)


if __name__ == "__main__":
    main()
