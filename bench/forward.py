"""python -m bench.forward: drain a backlog of deliveries to a register on loopback (the
tests' scriptable register, storing by Idempotency-Key) and print deliveries/s."""

from __future__ import annotations

import argparse
import hashlib
import time
import uuid

import forms
from bench.common import instance
from bench.ingest import submission
from server.auth.permissions import SYSTEM
from server.services import ingest
from sync.worker import drain
from tests.support.register import Register


def backlog(app, count: int) -> None:
    """Store ``count`` submissions through the intake service (one outbox row each)."""
    ext = app.extensions["donghanh"]
    project_id = 1
    for _ in range(count):
        xml, _ = submission(False)
        incoming = ingest.Incoming(
            envelope=forms.read_instance(xml),
            xml=xml,
            xml_sha256=hashlib.sha256(xml).hexdigest(),
            parts={},
            device_id=f"collect:{uuid.uuid4().hex[:16]}",
            user_agent="bench",
        )
        with ext.db.transaction() as session:
            ingest.ingest_submission(
                session, ext.blobs, SYSTEM, project_id, incoming, ext.target_names
            )


def run(kind: str, count: int) -> str:
    register = Register(secret="")
    url = register.start()
    try:
        with instance(kind, register_target=url) as (_env, app, _issued):
            backlog(app, count)
            started = time.perf_counter()
            sent = drain(app)
            seconds = time.perf_counter() - started
    finally:
        register.stop()
    if sent != count or len(register.stored) != count or len(register.posts) != count:
        raise SystemExit(
            f"{kind}: sent {sent}, register stored {len(register.stored)} "
            f"from {len(register.posts)} posts; expected {count}"
        )
    return f"{kind:8} deliveries={count}  {count / seconds:7.1f} deliveries/s  ({seconds:.1f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        print(run(kind, args.count), flush=True)


if __name__ == "__main__":
    main()
