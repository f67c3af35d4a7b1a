"""python -m bench.dashboard: how fast the supervisors' indicators answer for a project of
20,000 clients and 200,000 submissions (issue 12), on SQLite and on PostgreSQL.

Builds the project with the real forms F1-F7 (tests/support/programme_year.py publishes them
and writes the instances from each form's own template), 20 Hà Nội wards with two phones
each, and stores every submission through the intake service as the OpenRosa route does
(services.ingest.ingest_submission: the submission, its entity create or update and its
indicator facts in the same transaction), a few hundred per transaction, in order of event
date. Each client has a year of events: registration (F1), contacts (F2), referrals (F3) and
their outcomes (F4), home visits with jobs, loans and training (F5), a status change now and
then (F7), and the wards' group sessions (F6).

Then times, as a logged-in supervisor (every ward), the median and p95 over --requests
requests of: the JSON API for the year, a quarter and one ward's year; the dashboard page
(/projects/<id>/indicators) for the year; the XLSX report for the year; each computed afresh
(the indicators' cache of computed reports emptied before each request, as a new submission
empties it), and the year's JSON once more from that cache. A page or download
that does not exist (yet) is reported as such, not timed. It is not a test: nothing here
asserts a time; the numbers go in the README.

The built database can be kept for the next run (--keep): the SQLite file is copied to
--cache-dir, and PostgreSQL's bench database is left as it is; a later run with the same
--scale and schema reuses it instead of building again.

    python -m bench.dashboard [--db sqlite|postgres|both] [--scale 1.0] [--requests 20]
                              [--database-url URL] [--keep] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import statistics
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import (
    PG_BENCH,
    bench_env,
    empty_schema,
    reset_database,
    terminate_on_sigterm,
)

CLIENTS = 20_000
SUBMISSIONS = 200_000
BATCH = 250  # submissions per transaction while building
WARDS = (
    "00004", "00008", "00025", "00070", "00082", "00091", "00097", "00103", "00118", "00127",
    "00136", "00145", "00160", "00166", "00175", "00190", "00256", "00331", "00367", "00592",
)  # fmt: skip
MODELS = ("canh_sat", "tiep_can", "tnv", "qlsc", "b93")
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "donghanh-bench-dashboard"
PROJECT_NAME = "Bench dashboard scale={scale} schema={schema}"  # reused only if both match


class IngestSender:
    """Plan.send's sender: the intake service in-process, BATCH submissions a transaction."""

    def __init__(self, app):
        self.app = app
        self.ext = app.extensions["donghanh"]
        self.principals: dict[str, object] = {}
        self.session = None
        self.context = None
        self.pending = 0
        self.sent = 0

    def principal(self, phone):
        from server.services import app_users

        if phone.token not in self.principals:
            with self.ext.db.transaction(write=False) as session:
                self.principals[phone.token] = app_users.principal_for_token(session, phone.token)
        return self.principals[phone.token]

    def submit(self, phone, xml: bytes) -> int:
        import forms
        from server.services import ingest

        principal = self.principal(phone)
        if self.session is None:
            self.context = self.ext.db.transaction()
            self.session = self.context.__enter__()
        incoming = ingest.Incoming(
            envelope=forms.read_instance(xml),
            xml=xml,
            xml_sha256=hashlib.sha256(xml).hexdigest(),
            parts={},
            device_id=phone.device_id,
            user_agent="org.odk.collect.android/v2026.3.3 (bench)",
        )
        result = ingest.ingest_submission(
            self.session, self.ext.blobs, principal, phone.project_id, incoming,
            self.ext.target_names,
        )  # fmt: skip
        if result.problem is not None:
            raise SystemExit(f"intake refused a submission: {result.problem}")
        self.sent += 1
        self.pending += 1
        if self.pending >= BATCH:
            self.flush()
        return 201

    def flush(self) -> None:
        if self.context is not None:
            self.context.__exit__(None, None, None)
        self.context = self.session = None
        self.pending = 0


def _client_year(plan, rng: random.Random, phones: dict, per_client: float) -> None:
    """One client's year: about ``per_client`` submissions in all."""
    from tests.support.programme_year import LAST_DAY

    ward = rng.choice(WARDS)
    model = rng.choice(MODELS)
    post_rehab = model in ("tnv", "qlsc", "b93")
    phone = phones[ward][rng.randrange(2)]
    registered = plan.day_between(date(2025, 7, 1), date(2026, 6, 30))
    client = plan.register(phone, ward, model, registered, sau_cai=post_rehab)
    budget = max(0, round(rng.gauss(per_client - 1, 2)))
    for _ in range(budget):
        day = plan.day_between(registered + timedelta(days=1), LAST_DAY)
        roll = rng.random()
        if post_rehab and roll < 0.55:
            support = rng.choice(
                [(), (), ("viec_lam",), ("vay_von",), ("hoc_nghe",), ("viec_lam", "vay_von")]
            )
            extra = {}
            if "vay_von" in support:
                extra |= {"tien_vay": str(rng.randint(10, 80)), "ngay_giai_ngan": day.isoformat()}
            if "hoc_nghe" in support:
                extra["ngay_bd_hoc_nghe"] = day.isoformat()
            plan.visit(client, day, support, met=rng.random() < 0.85, **extra)
        elif roll < 0.75:
            plan.contact(
                client, day, topics=rng.choice(["", "giam_hai", "hiv_sti dieu_tri_nghien"]),
                services=rng.choice(["", "xn_hiv"]),
            )  # fmt: skip
        elif roll < 0.97:
            service = rng.choice(
                ["xn_hiv", "prep", "mmt", "cat_con", "cai_nghien", "hoc_nghe", "viec_lam",
                 "vay_von", "kham_sk", "bhyt"]
            )  # fmt: skip
            ref = plan.refer(client, service, day)
            if rng.random() < 0.6:
                served = min(day + timedelta(days=rng.randint(1, 25)), LAST_DAY)
                extra = {}
                if service == "vay_von":
                    extra = {"tien_vay": str(rng.randint(10, 80)),
                             "ngay_giai_ngan": served.isoformat()}  # fmt: skip
                kq = rng.choice(["da_nhan", "da_nhan", "da_den", "chua_den"])
                plan.outcome(ref, served, kq, served=served, **(extra if kq == "da_nhan" else {}))
        else:
            plan.status(client, LAST_DAY, rng.choice(["mat_lien_lac", "chuyen_di"]))
            return  # closed: nothing after it


def build(app, scale: float, seed: int = 20) -> tuple[int, int, int]:
    """The project and its year; returns (project_id, clients, submissions)."""
    from server.services import projects
    from tests.support.programme_year import (
        Plan,
        Templates,
        add_reference_entities,
        make_phone,
        publish_programme_forms,
        write_targets,
    )

    rng = random.Random(seed)
    clients = max(10, round(CLIENTS * scale))
    per_client = SUBMISSIONS / CLIENTS
    db = app.extensions["donghanh"].db
    with db.transaction() as session:
        project_id = projects.create_project(
            session, None, PROJECT_NAME.format(scale=scale, schema=_schema_head())
        ).id
    publish_programme_forms(app, project_id)
    add_reference_entities(app, project_id)
    write_targets(app, project_id)
    phones = {
        ward: [make_phone(app, project_id, f"Điện thoại {ward}-{i}", (ward,)) for i in (1, 2)]
        for ward in WARDS
    }
    templates = Templates()
    sender = IngestSender(app)
    block = 200  # clients planned and sent together (in order of event date)
    for start in range(0, clients, block):
        plan = Plan(rng, templates)
        for _ in range(min(block, clients - start)):
            _client_year(plan, rng, phones, per_client)
        if start == 0:  # the wards' group sessions, once a month
            for ward in WARDS[:5]:
                for month in range(1, 12):
                    plan.session(phones[ward][0], ward, f"B93-{ward}", date(2026, month, 12), [])
        plan.send(sender)
    sender.flush()
    return project_id, clients, sender.sent


def _stored(app, project_id: int) -> tuple[int, int]:
    from sqlalchemy import func, select

    from server.models.entities import Dataset, Entity
    from server.models.forms import Form
    from server.models.submissions import Submission

    with app.extensions["donghanh"].db.transaction(write=False) as session:
        submissions = session.scalar(
            select(func.count()).select_from(Submission).join(Form, Form.id == Submission.form_id)
            .where(Form.project_id == project_id)
        )  # fmt: skip
        clients = session.scalar(
            select(func.count()).select_from(Entity).join(Dataset, Dataset.id == Entity.dataset_id)
            .where(Dataset.project_id == project_id, Dataset.name == "clients")
        )  # fmt: skip
    return clients, submissions


def _existing(app, scale: float) -> int | None:
    from sqlalchemy import select

    from server.models.projects import Project

    with app.extensions["donghanh"].db.transaction(write=False) as session:
        return session.scalar(
            select(Project.id).where(
                Project.name == PROJECT_NAME.format(scale=scale, schema=_schema_head())
            )
        )


def _app(url: str, folder: Path):
    from server.app import create_app
    from server.settings import Settings

    return create_app(Settings.from_env(bench_env(folder, url)))


def _schema_head() -> str:
    """A digest of the migrations' text: a kept database is reused only with the same schema
    (a migration edited in place counts as another schema)."""
    folder = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _log_in(app, project_id: int):
    """A supervisor of every ward: a web session (test client) and a bearer token."""
    from server.services import sessions, users

    email = f"sup{project_id}-{os.getpid()}@bench.org"
    with app.extensions["donghanh"].db.transaction() as session:
        users.create_user(
            session, None, email, "bench password 1", "donghanh", "supervisor", project_id
        )
    web = app.test_client()
    page = web.get("/login")
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    web.post("/login", data={"csrf_token": nonce, "email": email, "password": "bench password 1"})
    with app.extensions["donghanh"].db.transaction() as session:
        token = sessions.log_in(session, email, "bench password 1", None).issued.token
    return web, token


def cases(project_id: int) -> list[tuple[str, str, bool]]:
    """(name, path, web session?) of what is timed."""
    year = "from=2026-01-01&to=2026-12-31"
    api = f"/v1/projects/{project_id}/indicators"
    return [
        ("API: the year", f"{api}?{year}", False),
        ("API: a quarter", f"{api}?from=2026-07-01&to=2026-09-30", False),
        ("API: one ward, year", f"{api}?{year}&ward=00118", False),
        ("page: the year", f"/projects/{project_id}/indicators?{year}", True),
        ("XLSX: the year", f"/v1/projects/{project_id}/indicators.xlsx?{year}", False),
        ("API: the year (cached)", f"{api}?{year}", False),
    ]


def _forget() -> None:
    """Empty the indicators' in-process cache of computed reports, as any new submission
    does (its fingerprint changes): every case but "(cached)" times the computation."""
    from server.services import indicators

    cache = getattr(indicators, "_CACHE", None)
    if cache is not None:
        with getattr(indicators, "_CACHE_LOCK", threading.Lock()):
            cache.clear()


def time_cases(app, project_id: int, requests: int) -> list[str]:
    web, token = _log_in(app, project_id)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    lines = []
    for name, path, on_web in cases(project_id):
        client = web if on_web else api
        times, size, status = [], 0, 0
        for i in range(requests + 1):
            if not name.endswith("(cached)"):
                _forget()
            started = time.perf_counter()
            response = client.get(path, headers=None if on_web else headers)
            body = response.get_data()
            elapsed = (time.perf_counter() - started) * 1000
            status, size = response.status_code, len(body)
            if status != 200:
                break
            if i:  # the first request warms the caches; it is not counted
                times.append(elapsed)
        if status != 200:
            lines.append(f"  {name:24} HTTP {status} (not there yet?)")
            continue
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        lines.append(
            f"  {name:24} median {statistics.median(times):8.1f} ms  p95 {p95:8.1f} ms"
            f"  ({size / 1000:.0f} kB, n={len(times)})"
        )
    return lines


def run(
    kind: str,
    scale: float,
    requests: int,
    database_url: str | None = None,
    keep: bool = False,
    cache_dir: Path = DEFAULT_CACHE,
) -> list[str]:
    from server.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        folder = Path(tmp)
        cached = cache_dir / f"dashboard-{scale}-{_schema_head()}.sqlite"
        reused = False
        if kind == "sqlite":
            url = f"sqlite:///{folder}/bench.db"
            if keep and cached.is_file():
                shutil.copyfile(cached, folder / "bench.db")
                reused = True
            upgrade(url)
        else:
            url = database_url or PG_BENCH
            app = _app(url, folder)
            try:
                upgrade(url)
                reused = keep and _existing(app, scale) is not None
            except Exception:
                reused = False
            finally:
                app.extensions["donghanh"].db.dispose()
            if not reused:
                if database_url and database_url != PG_BENCH:
                    empty_schema(database_url)
                else:
                    reset_database("postgres", folder)
                upgrade(url)
        app = _app(url, folder)
        try:
            started = time.perf_counter()
            if reused:
                project_id = _existing(app, scale)
            else:
                project_id, _, _ = build(app, scale)
            seconds = time.perf_counter() - started
            if kind == "postgres" and not reused:
                _vacuum(app)
            clients, submissions = _stored(app, project_id)
            how = "reused" if reused else f"built in {seconds:.0f} s"
            lines = [f"{kind}: {clients} clients, {submissions} submissions ({how})"]
            lines += time_cases(app, project_id, requests)
        finally:
            app.extensions["donghanh"].db.dispose()
        if kind == "sqlite" and keep and not reused:
            cache_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / "bench.db", cached)
        return lines


def _vacuum(app) -> None:
    """What autovacuum does after a bulk load (it is off on the development machine)."""
    from sqlalchemy import text

    with app.extensions["donghanh"].db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 20,000 clients")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per case")
    parser.add_argument("--database-url", help=f"PostgreSQL to build in (default {PG_BENCH})")
    parser.add_argument("--keep", action="store_true", help="keep and reuse the built database")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    terminate_on_sigterm()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for kind in kinds:
        lines = run(kind, args.scale, args.requests, args.database_url, args.keep, args.cache_dir)
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
