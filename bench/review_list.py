"""How fast the supervisors' submission list answers with 100,000 submissions in a form,
and how fast an analyst reads them through the OData feed.

Stores the submissions through the intake service (as an app user sends them), spreads them
over 20 wards and three review states, then times the list page as a logged-in supervisor
sees it (the Flask view, its queries and the template) for the first page, a page deep in
the list, and each filter; prints the median of 5 requests per case. Then times the OData
feed as pyodk's get_table reads it: a page of 1,000 rows, a count, a filter, and the whole
table once (streamed; its size in MB).

    python -m bench.review_list --count 100000 --db both
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

from bench.common import instance, terminate_on_sigterm
from bench.forward import backlog

CASES = [
    ("first page", ""),
    ("deep page", "before={deep}"),
    ("ward", "ward=W07"),
    ("review: approved", "review=approved"),
    ("delivery: pending", "delivery=pending"),
    ("text search", "q=nguyen+van"),
    ("dates", "since=2000-01-01&until=2100-01-01"),
    ("ward + text", "ward=W07&q=nguyen"),
]


def spread(app, count: int) -> None:
    """Wards and review states over the stored submissions, as weeks of work would leave."""
    from sqlalchemy import text

    with app.extensions["donghanh"].db.transaction() as session:
        session.execute(
            text("UPDATE submissions SET ward = 'W' || lpad(CAST(id % 20 AS TEXT), 2, '0')")
            if session.get_bind().dialect.name == "postgresql"
            else text("UPDATE submissions SET ward = 'W' || printf('%02d', id % 20)")
        )
        session.execute(text("UPDATE submissions SET review_state = 'approved' WHERE id % 3 = 0"))
        session.execute(text("UPDATE submissions SET review_state = 'rejected' WHERE id % 7 = 0"))
    if app.extensions["donghanh"].db.engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load (it is off on the development machine's
        # server): without statistics the planner misjudges the delivery filter badly, and
        # without a visibility map every count reads the table.
        with app.extensions["donghanh"].db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def log_in(app):
    from server.services import users

    with app.extensions["donghanh"].db.transaction() as session:
        users.create_user(
            session, None, "sup@bench.org", "bench password 1", "donghanh", "supervisor", 1
        )
    client = app.test_client()
    page = client.get("/login")
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post(
        "/login",
        data={"csrf_token": nonce, "email": "sup@bench.org", "password": "bench password 1"},
    )
    return client


def run(kind: str, count: int) -> list[str]:
    with instance(kind) as (_env, app, issued):
        started = time.perf_counter()
        backlog(app, issued, count)
        spread(app, count)
        stored = time.perf_counter() - started
        client = log_in(app)
        base = "/projects/1/forms/bench/submissions"
        lines = [f"{kind}: {count} submissions stored in {stored:.0f} s"]
        for name, query in CASES:
            url = f"{base}?{query.format(deep=count // 50)}"
            times = []
            for _ in range(5):
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{kind} {name}: HTTP {response.status_code}")
            matches = re.search(r'id="count">([^<]+)<', response.text).group(1)
            lines.append(f"  {name:18} {statistics.median(times):7.1f} ms  ({matches.strip()})")
        lines += odata_cases(app, count)
        return lines


ODATA_CASES = [
    ("odata: 1,000 rows", "$top=1000", 5),
    ("odata: count only", "$top=0&$count=true", 5),
    ("odata: filter", "$filter=__system/reviewState eq 'approved'&$top=1000", 5),
    ("odata: whole table", "", 1),
]


def odata_cases(app, count: int) -> list[str]:
    from server.services import sessions

    with app.extensions["donghanh"].db.transaction() as session:
        token = sessions.log_in(session, "sup@bench.org", "bench password 1", None).issued.token
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    lines = []
    for name, query, repeat in ODATA_CASES:
        times, size = [], 0
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(
                f"/v1/projects/1/forms/bench.svc/Submissions?{query}", headers=headers
            )
            size = sum(len(chunk) for chunk in response.response)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{name}: HTTP {response.status_code}")
        lines.append(f"  {name:18} {statistics.median(times):7.1f} ms  ({size / 1e6:.1f} MB)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    terminate_on_sigterm()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for kind in kinds:
        print("\n".join(run(kind, args.count)), flush=True)


if __name__ == "__main__":
    main()
