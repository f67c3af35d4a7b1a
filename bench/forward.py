"""python -m bench.forward: a backlog of N deliveries (default 10,000) drained to a register on
loopback, on SQLite and on PostgreSQL; prints deliveries/s.

The register is the tests' scriptable one (tests.support.register.Register: a threaded
werkzeug server with keep-alive, storing documents by Idempotency-Key), started in this
process on 127.0.0.1 and named by REGISTER_TARGET. The backlog is stored in-process through
the intake service (server.services.ingest.ingest_submission, as the OpenRosa view calls it,
so each submission gets its outbox row); only `sync.worker.drain(app)` is timed. The run fails
unless the register stored exactly N distinct documents, one per submission.

    python -m bench.forward [--db sqlite|postgres|both] [--count 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
import uuid

from bench.common import instance, instance_xml, terminate_on_sigterm

BATCH = 500  # submissions stored per transaction while building the backlog


def backlog(app, issued, count: int) -> None:
    """Store ``count`` submissions through the intake service, as the app user sends them."""
    import forms
    from server.services import app_users, ingest

    ext = app.extensions["donghanh"]
    rng = random.Random(1)
    with ext.db.transaction(write=False) as session:
        principal = app_users.principal_for_token(session, issued.token)
    done = 0
    while done < count:
        with ext.db.transaction() as session:
            for _ in range(min(BATCH, count - done)):
                xml = instance_xml(None, rng)
                incoming = ingest.Incoming(
                    envelope=forms.read_instance(xml),
                    xml=xml,
                    xml_sha256=hashlib.sha256(xml).hexdigest(),
                    parts={},
                    device_id=f"collect:{uuid.uuid4().hex[:16]}",
                    user_agent="bench",
                )
                result = ingest.ingest_submission(
                    session, ext.blobs, principal, issued.project_id, incoming, ext.target_names
                )
                if result.problem is not None:
                    raise SystemExit(f"backlog: intake refused a submission: {result.problem}")
                done += 1


def pending(app) -> int:
    from sqlalchemy import func, select

    from server.models.deliveries import Delivery

    with app.extensions["donghanh"].db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(Delivery))


def run(kind: str, count: int) -> str:
    from sync.worker import drain
    from tests.support.register import Register

    register = Register(secret="")
    url = register.start()
    try:
        with instance(kind, register_target=url) as (_env, app, issued):
            started = time.perf_counter()
            backlog(app, issued, count)
            stored_in = time.perf_counter() - started
            queued = pending(app)
            if queued != count:
                raise SystemExit(f"{kind}: {queued} deliveries queued, expected {count}")
            started = time.perf_counter()
            processed = drain(app)
            seconds = time.perf_counter() - started
    finally:
        register.stop()
    documents = list(register.stored.values())
    distinct = {d["submission"]["versionInstanceId"] for d in documents}
    label = f"{kind:8} deliveries={count:<6}"
    if len(register.stored) != count or len(distinct) != count:
        raise SystemExit(
            f"FAILED {label}: register stored {len(register.stored)} documents "
            f"({len(distinct)} distinct instances) from {len(register.posts)} POSTs, "
            f"worker processed {processed}; expected {count}"
        )
    resent = len(register.posts) - count
    return (
        f"{label} {count / seconds:7.1f} deliveries/s  ({seconds:.1f} s; backlog stored in "
        f"{stored_in:.1f} s; {resent} resends)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--count", type=int, default=10_000, help="deliveries in the backlog")
    args = parser.parse_args()
    terminate_on_sigterm()
    print(
        "forward: register on loopback (tests.support.register, threaded werkzeug, in this "
        "process); backlog stored in-process; sync.worker.drain timed",
        flush=True,
    )
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        print(run(kind, args.count), flush=True)


if __name__ == "__main__":
    main()
