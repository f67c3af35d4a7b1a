"""python -m bench.forward: a backlog of N deliveries (default 10,000) drained to a register on
loopback in another process, on SQLite and on PostgreSQL, one record per request and in
batches; prints deliveries/s, the median of the runs and their spread.

The register is the tests' scriptable one (tests.support.register, an HTTP/1.1 keep-alive
server from the standard library) run as `python -m tests.support.register` in its own
process, a fresh one for every run, on one port (the target's name is its URL). The backlog is
stored once per database through the intake service (server.services.ingest.ingest_submission,
as the OpenRosa view calls it, so each submission gets its outbox row); before each run every
delivery is put back as it was enqueued. Only `sync.worker.drain(app)` is timed; the worker
process's CPU time per delivery is printed too (it says less about the machine's load). A run fails
unless the register stored exactly N distinct documents, one per submission.

    python -m bench.forward [--db sqlite|postgres|both] [--count 10000] [--runs 3]
                            [--mode single|batch|both] [--profile bench-forward.html]

``--profile PATH`` drains once more under pyinstrument (the loop's own thread: claiming,
reading, building and recording, and the time it waits for answers) and writes PATH (HTML)
and PATH with .txt (text).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

from bench.common import ROOT, free_port, instance, instance_xml, terminate_on_sigterm

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


def requeue(app) -> int:
    """Put every delivery back as the intake wrote it; return how many there are."""
    from sqlalchemy import func, select, update

    from server.models.deliveries import Delivery

    with app.extensions["donghanh"].db.transaction() as session:
        session.execute(
            update(Delivery).values(
                state="pending",
                attempts=0,
                next_attempt_at=Delivery.created_at,
                first_attempt_at=None,
                last_attempt_at=None,
                lease_until=None,
                lease_token=None,
                last_status=None,
                last_error=None,
                delivered_at=None,
            )
        )
        return session.scalar(select(func.count()).select_from(Delivery))


@contextmanager
def register_process(port: int):
    """`python -m tests.support.register` on ``port``; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.register", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        if not url:
            raise SystemExit("the register did not start")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/stats", timeout=10) as response:
        return json.load(response)


def drain_once(app, port: int, count: int, profile: str | None = None) -> tuple[float, dict]:
    from sync.worker import drain

    queued = requeue(app)
    if queued != count:
        raise SystemExit(f"{queued} deliveries queued, expected {count}")
    with register_process(port) as url:
        profiler = None
        if profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
        started, cpu = time.perf_counter(), time.process_time()
        drain(app)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        if profiler is not None:
            profiler.stop()
            Path(profile).write_text(profiler.output_html())
            Path(profile).with_suffix(".txt").write_text(
                profiler.output_text(unicode=True, show_all=False)
            )
        counts = stats(url)
    if counts["stored"] != count or counts["distinct"] != count:
        raise SystemExit(f"FAILED: register {counts}, expected {count} distinct documents")
    return seconds, {**counts, "cpu": cpu}


def run(kind: str, count: int, runs: int, modes: list[str], profile: str | None) -> None:
    from server.app import create_app
    from server.settings import Settings

    port = free_port()
    url = f"http://127.0.0.1:{port}/intake"
    with (
        instance(kind, register_target=url) as (env, app, issued),
        tempfile.TemporaryDirectory() as tmp,
    ):
        started = time.perf_counter()
        backlog(app, issued, count)
        print(
            f"{kind}: backlog of {count} stored in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        options = Path(tmp) / "targets.json"
        options.write_text(json.dumps({url: {"batch_url": f"{url}/batch", "batch_size": 100}}))
        apps = {"single": app}
        if "batch" in modes:
            apps["batch"] = create_app(
                Settings.from_env({**env, "REGISTER_TARGETS_FILE": str(options)})
            )
        try:
            for mode in modes:
                rates, cpus, requests = [], [], 0
                for _ in range(runs):
                    seconds, counts = drain_once(apps[mode], port, count)
                    rates.append(count / seconds)
                    cpus.append(counts["cpu"] * 1000 / count)
                    requests = counts["requests"]
                median = statistics.median(rates)
                print(
                    f"{kind:8} {mode:6} deliveries={count:<6} median {median:7.1f} deliveries/s"
                    f"  (runs: {', '.join(f'{r:.0f}' for r in rates)}; "
                    f"{requests} requests, {counts['posts'] - count} resends; worker CPU "
                    f"{statistics.median(cpus):.2f} ms/delivery)",
                    flush=True,
                )
                if profile:
                    path = f"{profile.removesuffix('.html')}-{kind}-{mode}.html"
                    drain_once(apps[mode], port, count, profile=path)
                    print(f"  profile: {path} and {Path(path).with_suffix('.txt')}", flush=True)
        finally:
            if "batch" in apps:
                apps["batch"].extensions["donghanh"].db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--count", type=int, default=10_000, help="deliveries in the backlog")
    parser.add_argument("--runs", type=int, default=3, help="drains per database and mode")
    parser.add_argument("--mode", choices=["single", "batch", "both"], default="both")
    parser.add_argument("--profile", help="also write a pyinstrument profile (HTML and .txt)")
    args = parser.parse_args()
    terminate_on_sigterm()
    print(
        f"forward: register on loopback in another process (tests.support.register); backlog "
        f"stored in-process; sync.worker.drain timed; {os.cpu_count()} cores",
        flush=True,
    )
    modes = ["single", "batch"] if args.mode == "both" else [args.mode]
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        run(kind, args.count, args.runs, modes, args.profile)


if __name__ == "__main__":
    main()
