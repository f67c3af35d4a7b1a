"""python -m bench.indicator_facts: how long indicators.report() takes on a project of 20,000
clients and 200,000 programme submissions, on SQLite and PostgreSQL.

A quick measure of the engine alone (bench/dashboard measures the pages and the API): a
fresh database migrated to head, `flask init`'s forms, then synthetic rows inserted directly
(clients entities, submissions, and their indicator facts: a programme year, 2026, spread
over 40 wards, the forms in the proportions of a referral programme), and report() timed for
a month, a quarter and the year, as an administrator (every ward) and as a one-ward
supervisor. Prints, of --repeat runs, the median and slowest cold computation (the cache
emptied) with its CPU time in this process, and the median warm answer (unchanged data: the
fingerprint query and the cached report).

    python -m bench.indicator_facts [--db sqlite|postgres|both] [--clients 20000]
                                    [--submissions 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select

from bench.common import programme_app

WARDS = [f"{n:05d}" for n in range(4, 4 + 40 * 7, 7)]
MIX = [  # (form, share of the submissions)
    ("f1_dang_ky", 0.10),
    ("f2_gap_go", 0.40),
    ("f3_chuyen_gui", 0.15),
    ("f4_ket_qua_cg", 0.12),
    ("f5_tham_nha", 0.15),
    ("f6_sinh_hoat", 0.03),
    ("f7_cap_nhat", 0.05),
]
SERVICES = ["xn_hiv", "prep", "mmt", "cat_con", "cai_nghien", "hoc_nghe", "viec_lam", "vay_von"]


def seed(app, clients: int, submissions: int, rng: random.Random) -> int:
    from server.models.entities import Dataset, Entity
    from server.models.forms import Form
    from server.models.indicators import IndicatorFact
    from server.models.submissions import Submission
    from server.services import projects

    db = app.extensions["donghanh"].db
    with db.transaction() as session:
        project_id = projects.list_projects(session)[0].id
        dataset_id = session.scalar(
            select(Dataset.id).where(Dataset.project_id == project_id, Dataset.name == "clients")
        )
        form_ids = dict(
            session.execute(
                select(Form.xml_form_id, Form.id).where(Form.project_id == project_id)
            ).all()
        )
    uuids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(clients)]
    ward_of = {u: rng.choice(WARDS) for u in uuids}
    now = datetime.now(UTC)
    with db.transaction() as session:
        rows = []
        for i, u in enumerate(uuids):
            post_rehab = rng.random() < 0.3
            rows.append(
                {
                    "dataset_id": dataset_id,
                    "uuid": u,
                    "label": f"UIC{i} · 1990 · {ward_of[u]}",
                    "data": {
                        "uic": f"UIC{i % (clients - 50)}",
                        "gioi": rng.choice("12"),
                        "nam_sinh": str(rng.randint(1960, 2010)),
                        "nhom": rng.choice(["sd_mt", "sd_mt tiem_chich", "sau_cai", "msm"]),
                        "ma_tinh": "01",
                        "ma_xa": ward_of[u],
                        "mo_hinh": rng.choice(["tiep_can", "canh_sat", "tnv"]),
                        "sau_cai": "co" if post_rehab else "khong",
                        "qlsc_bat_dau": "2025-09-01" if post_rehab else "",
                        "qlsc_ket_thuc": "2026-09-01" if post_rehab else "",
                        "trang_thai": "mo",
                        "co_bhyt": rng.choice(["co", "khong"]),
                        "gop_vao": uuids[i - 1] if i and rng.random() < 0.005 else "",
                    },
                    "version": 1,
                    "created_at": now,
                }
            )
        session.execute(insert(Entity), rows)
    start = date(2026, 1, 1)
    referrals: list[tuple[str, str, str]] = []
    forms_cycle = [f for f, share in MIX for _ in range(int(share * 100))]
    written = 0
    batch = 5000
    while written < submissions:
        subs, facts = [], []
        n = min(batch, submissions - written)
        for _ in range(n):
            form = rng.choice(forms_cycle)
            client = rng.choice(uuids)
            day = start + timedelta(days=rng.randrange(365))
            subs.append(
                {
                    "form_id": form_ids[form],
                    "instance_id": f"uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                    "created_at": now,
                    "ward": ward_of[client],
                    "draft": False,
                }
            )
            fact = {
                "project_id": project_id,
                "form": form,
                "instance_id": subs[-1]["instance_id"],
                "client": client,
                "day": day,
                "ma_xa": ward_of[client],
                "ma_tinh": "01",
                "mo_hinh": "tiep_can",
                "received_at": datetime.combine(day, datetime.min.time(), UTC)
                + timedelta(days=rng.choice([0, 1, 2, 9])),
                "live": True,
                "chu_de": form == "f2_gap_go" and rng.random() < 0.7,
                "de_xuat_dv": form == "f2_gap_go" and rng.random() < 0.3,
            }
            if form == "f1_dang_ky":
                fact["dong_y"] = "co"
                fact["nguon_gioi_thieu"] = rng.choice(["cong_an", "tu_den", "dong_dang"])
            elif form == "f2_gap_go":
                fact["co_ma"] = "co" if rng.random() < 0.9 else "khong"
            elif form == "f3_chuyen_gui":
                ref = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                fact.update(referral=ref, dv=rng.choice(SERVICES), han=day + timedelta(days=14))
                referrals.append((ref, fact["dv"], day.isoformat()))
            elif form == "f4_ket_qua_cg" and referrals:
                ref, dv, when = rng.choice(referrals)
                served = date.fromisoformat(when) + timedelta(days=rng.randrange(40))
                fact.update(
                    client=None,
                    referral=ref,
                    dv=dv,
                    day=served,
                    kq=rng.choice(["da_nhan", "da_nhan", "chua_den"]),
                    ngay_xn=served,
                    ngay_dv=served,
                    nguon=rng.choice(["dt_co_so", "kh_bao"]),
                    bat_dau="co" if dv in ("prep", "mmt") else None,
                    ngay_bd=served,
                    tien_vay=30.0 if dv == "vay_von" else None,
                    ngay_giai_ngan=served if dv == "vay_von" else None,
                )
            elif form == "f5_tham_nha":
                fact.update(
                    gap="co",
                    sd_tu_bao=rng.choice(["co", "khong", "khong_tra_loi"]),
                    viec_lam=rng.choice(["co_viec", "khong_viec"]),
                    ho_tro_nhan=rng.choice(["khong", "viec_lam", "vay_von", "hoc_nghe"]),
                    tien_vay=20.0,
                    clb=rng.choice(["co", "khong"]),
                    submitter_id=None,
                )
            elif form == "f6_sinh_hoat":
                fact.update(client=None, n_tham_gia=12, ds=" ".join(rng.sample(uuids, 5)))
            elif form == "f7_cap_nhat":
                fact["ly_do"] = rng.choice(["doi_dia_ban", "mat_lien_lac", "mo_lai"])
            facts.append(fact)
        with db.transaction() as session:
            ids = session.execute(insert(Submission).returning(Submission.id), subs).scalars()
            for fact, sid in zip(facts, ids, strict=True):
                fact["submission_id"] = sid
            session.execute(insert(IndicatorFact), facts)
        written += n
    return project_id


def measure(app, project_id: int, repeat: int) -> list[str]:
    from server.auth.permissions import SYSTEM, Principal
    from server.services import indicators
    from server.services.targets import Scope

    db = app.extensions["donghanh"].db
    ward_supervisor = Principal(
        1, "user", "ward", frozenset(), ward_roles=frozenset({("supervisor", project_id, WARDS[3])})
    )
    lines = []
    for who, principal in (("admin", SYSTEM), ("one ward", ward_supervisor)):
        for name, first, last in (
            ("month", date(2026, 6, 1), date(2026, 6, 30)),
            ("quarter", date(2026, 4, 1), date(2026, 6, 30)),
            ("year", date(2026, 1, 1), date(2026, 12, 31)),
        ):
            times, cpu = [], []
            for _ in range(repeat):
                indicators._CACHE.clear()  # cold: computed from the facts each time
                t0, c0 = time.perf_counter(), time.process_time()
                with db.transaction(write=False) as session:
                    body = indicators.report(
                        session, principal, project_id, first, last, Scope()
                    )
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            warm = []
            for _ in range(repeat):  # the same request again: the fingerprint and the cache
                t0 = time.perf_counter()
                with db.transaction(write=False) as session:
                    indicators.report(session, principal, project_id, first, last, Scope())
                warm.append(time.perf_counter() - t0)
            i1 = next(i for i in body["indicators"] if i["code"] == "I1")["value"]
            lines.append(
                f"  {who:8} {name:7} cold median {statistics.median(times) * 1000:6.0f} ms"
                f" (cpu {statistics.median(cpu) * 1000:5.0f} ms) max {max(times) * 1000:6.0f} ms"
                f" | warm median {statistics.median(warm) * 1000:5.0f} ms  (I1 = {i1})"
            )
    return lines


def run(kind: str, clients: int, submissions: int, repeat: int) -> None:

    with tempfile.TemporaryDirectory() as folder:
        app = programme_app(kind, folder)
        t0 = time.perf_counter()
        project_id = seed(app, clients, submissions, random.Random(12))
        print(
            f"{kind}: {clients} clients, {submissions} submissions seeded in "
            f"{time.perf_counter() - t0:.0f} s"
        )
        for line in measure(app, project_id, repeat):
            print(line)
        app.extensions["donghanh"].db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--submissions", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        run(kind, args.clients, args.submissions, args.repeat)


if __name__ == "__main__":
    main()
