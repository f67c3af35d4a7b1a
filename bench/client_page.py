"""python -m bench.client_page: how long one client's page and history API and the
submission list's client links take on a project of 20,000 clients and 200,000
programme submissions (bench/indicator_facts' synthetic year), on SQLite and PostgreSQL.

Times, over --repeat clients picked at random, the service (clients.client_history,
submission_links for a page of 50 rows) and the page itself through the
Flask test client (logged in as a supervisor of every ward, then of one ward). Prints the
median and the slowest; nothing is asserted (README has the numbers).

    python -m bench.client_page [--db sqlite|postgres|both] [--clients 20000]
                                [--submissions 200000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time

from sqlalchemy import select

from bench.common import programme_app
from bench.indicator_facts import WARDS, seed

PASSWORD = "correct horse battery staple"


def _ms(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:6.1f} ms, max {max(times) * 1000:6.1f} ms"


def _browser(app, project_id: int, email: str, wards: tuple[str, ...]):
    from server.services import sessions, users

    db = app.extensions["donghanh"].db
    settings = app.extensions["donghanh"].settings
    with db.transaction() as session:
        users.create_user(
            session, None, email, PASSWORD, settings.digest_realm, "supervisor", project_id, wards
        )
        cookie = sessions.log_in(session, email, PASSWORD, None, "cookie").issued
        bearer = sessions.log_in(session, email, PASSWORD, None, "bearer").issued
    client = app.test_client()
    client.set_cookie("dh_session", cookie.token)
    return client, {"Authorization": f"Bearer {bearer.token}"}


def measure(app, project_id: int, repeat: int, rng: random.Random) -> list[str]:
    from server.auth.permissions import SYSTEM
    from server.models.entities import Entity
    from server.models.indicators import IndicatorFact
    from server.services import clients

    db = app.extensions["donghanh"].db
    with db.transaction(write=False) as session:
        uuids = session.scalars(
            select(Entity.uuid).where(Entity.data["ma_xa"].as_string() == WARDS[3])
        ).all()
        ids = session.scalars(select(IndicatorFact.submission_id).limit(5000)).all()
    picked = rng.sample(uuids, min(repeat, len(uuids)))
    lines, service, rows = [], [], []
    for uuid in picked:
        t0 = time.perf_counter()
        with db.transaction() as session:
            view = clients.client_history(session, SYSTEM, project_id, uuid, "vi")
        service.append(time.perf_counter() - t0)
        rows.append(len(view.history))
    lines.append(f"  client_history (service)   {_ms(service)}  ({statistics.mean(rows):.1f} rows)")
    times = []
    for _ in range(repeat):
        page = rng.sample(ids, 50)
        t0 = time.perf_counter()
        with db.transaction(write=False) as session:
            clients.submission_links(session, SYSTEM, project_id, page, "vi")
        times.append(time.perf_counter() - t0)
    lines.append(f"  submission_links (50 rows) {_ms(times)}")
    for who, wards in (("every ward", ()), ("one ward", (WARDS[3],))):
        browser, bearer = _browser(app, project_id, f"{who.replace(' ', '')}@example.org", wards)
        for name, path in (
            ("client page", "/projects/{p}/clients/{u}"),
            ("history API", "/v1/projects/{p}/clients/{u}/history"),
        ):
            times = []
            for uuid in picked:
                url = path.format(p=project_id, u=uuid)
                t0 = time.perf_counter()
                reply = browser.get(url, headers=bearer if url.startswith("/v1") else None)
                times.append(time.perf_counter() - t0)
                assert reply.status_code == 200, (url, reply.status_code)
            lines.append(f"  {name:12} {who:10}    {_ms(times)}")
    return lines


def run(kind: str, clients: int, submissions: int, repeat: int) -> list[str]:
    """Seed a fresh database of ``kind`` and time the cases; the lines printed."""

    with tempfile.TemporaryDirectory() as folder:
        app = programme_app(kind, folder)
        t0 = time.perf_counter()
        project_id = seed(app, clients, submissions, random.Random(12))
        lines = [
            f"{kind}: {clients} clients, {submissions} submissions seeded in "
            f"{time.perf_counter() - t0:.0f} s",
            *measure(app, project_id, repeat, random.Random(7)),
        ]
        app.extensions["donghanh"].db.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--submissions", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        for line in run(kind, args.clients, args.submissions, args.repeat):
            print(line, flush=True)


if __name__ == "__main__":
    main()
