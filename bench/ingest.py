"""python -m bench.ingest: concurrent simulated ODK Collect devices posting submissions of a
25-field form (optionally with a ~100 KB photo each) to the server under gunicorn on
127.0.0.1, on SQLite and on PostgreSQL. Prints, per run, submissions/s, p50/p99 latency of the
POST and the peak resident memory of gunicorn (master + workers).

Each device is a thread with its own keep-alive requests.Session, speaking as Collect does
(User-Agent, X-OpenRosa-Version, Date, ?deviceID=): one HEAD /submission, then multipart POSTs
of fresh uuid4 instances, one at a time. Devices are spread over a few client processes on
the same machine as the server, so the client's CPU competes with the server's: the numbers
are a floor for the server alone. The forwarding worker is off (EMBEDDED_WORKER=no); the outbox
rows are still written with each submission.

Each run is followed by the same load against bench/bare.py, a bare reference endpoint
under the same gunicorn settings (stream, parse once, hash, one transaction, 201: nothing
else), and the line ends with the ratio of the two: the figures move with the machine's other
work, the ratio much less.

A run warms up with 50 submissions, then measures --count of them: throughput is count over
the wall time from the start signal (every device has done its HEAD) to the last answer. It
fails loudly on any non-201 answer or if the database does not hold exactly warm-up + count
submissions (and as many outbox rows).

    python -m bench.ingest [--db sqlite|postgres|both] [--devices 8,32] [--photo-kb 0,100]
                           [--count 2000] [--workers 4] [--client-procs N]
                           [--entities]
    python -m bench.ingest --profile ingest.html [--db postgres] [--count 500]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench import bare
from bench.common import (
    QUESTIONS,
    gunicorn,
    instance,
    instance_xml,
    memory_kib,
    photo_bytes,
    terminate_on_sigterm,
)

WARMUP = 50
USER_AGENT = "org.odk.collect.android/v2026.3.3 Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7)"


def _headers() -> dict:
    return {
        "X-OpenRosa-Version": "1.0",
        "Date": time.strftime("%a, %d %b %Y %I:%M:%S GMT", time.gmtime()),
    }


def _device(url, photo, entity, tickets, ready, go, out, errors) -> None:
    """One phone: HEAD once, then POST while there are tickets left."""
    import requests

    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    params = {"deviceID": f"collect:{uuid.uuid4().hex[:16]}"}
    try:
        head = http.head(f"{url}/submission", params=params, headers=_headers(), timeout=60)
        if head.status_code != 204:
            errors.append(f"HEAD answered {head.status_code}")
    except Exception as exc:
        errors.append(f"HEAD failed: {exc!r}")
    ready.release()
    go.wait()
    last = time.monotonic()
    while True:
        with tickets.get_lock():
            if tickets.value <= 0:
                break
            tickets.value -= 1
        name = f"{int(time.time() * 1000)}.jpg" if photo else None
        xml = instance_xml(name, entity=entity)
        files = [("xml_submission_file", ("Tham_ho_2026-11-22_09-21-47.xml", xml, "text/xml"))]
        if name:
            # Each photo unique: the blob store keeps one copy per sha256, so repeated bytes
            # would hide the cost of writing them.
            unique = uuid.uuid4().bytes + photo[16:]
            files.append((name, (name, unique, "image/jpeg")))
        started = time.monotonic()
        try:
            response = http.post(
                f"{url}/submission", params=params, headers=_headers(), files=files, timeout=120
            )
            status, body = response.status_code, response.text[:300]
        except Exception as exc:
            status, body = 0, repr(exc)
        last = time.monotonic()
        out.append((last - started, status))
        if status != 201:
            errors.append(f"POST answered {status}: {body}")
    out.append((None, last))  # this device's end time


def _client_process(url, devices, photo_kb, entity, tickets, ready, go, results) -> None:
    photo = photo_bytes(photo_kb)
    out: list = []
    errors: list = []
    threads = [
        threading.Thread(target=_device, args=(url, photo, entity, tickets, ready, go, out, errors))
        for _ in range(devices)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((out, errors))


@dataclass
class Load:
    seconds: float
    latencies: list[float]
    statuses: list[int]
    errors: list[str]


def load(
    url: str, devices: int, count: int, photo_kb: int, procs: int, entity: bool = False
) -> Load:
    """Run ``devices`` devices in ``procs`` forked client processes until ``count`` POSTs."""
    ctx = multiprocessing.get_context("fork")
    tickets = ctx.Value("i", count)
    ready = ctx.Semaphore(0)
    go = ctx.Event()
    results = ctx.Queue()
    procs = max(1, min(procs, devices))
    workers = [
        ctx.Process(
            target=_client_process,
            args=(
                url,
                devices // procs + (i < devices % procs),
                photo_kb,
                entity,
                tickets,
                ready,
                go,
                results,
            ),
            daemon=True,
        )
        for i in range(procs)
    ]
    try:
        for p in workers:
            p.start()
        for _ in range(devices):
            if not ready.acquire(timeout=120):
                raise RuntimeError("devices did not get ready")
        started = time.monotonic()
        go.set()
        latencies, statuses, errors, ends = [], [], [], []
        for _ in workers:
            out, errs = results.get(timeout=3600)
            errors += errs
            for latency, value in out:
                if latency is None:
                    ends.append(value)
                else:
                    latencies.append(latency)
                    statuses.append(value)
        for p in workers:
            p.join(30)
    finally:
        for p in workers:
            if p.is_alive():
                p.kill()
    return Load(max(ends) - started, latencies, statuses, errors)


def count_rows(app) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    from server.models.deliveries import Delivery
    from server.models.entities import Entity
    from server.models.submissions import Submission

    with app.extensions["donghanh"].db.transaction(write=False) as session:
        submissions = session.scalar(select(func.count()).select_from(Submission))
        outbox = session.scalar(select(func.count()).select_from(Delivery))
        entities = session.scalar(select(func.count()).select_from(Entity))
    return submissions, outbox, entities


def _measure(url: str, devices: int, photo_kb: int, count: int, procs: int, pid: int, entity: bool):
    """Warm up, then measure ``count`` POSTs while sampling the server's memory."""
    warm = load(url, devices, WARMUP, photo_kb, procs, entity)
    peak = memory_kib(pid)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.1):
            peak = max(peak, memory_kib(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        measured = load(url, devices, count, photo_kb, procs, entity)
    finally:
        stop.set()
        sampler.join()
    return warm, measured, peak


def _check(label: str, warm: Load, measured: Load, count: int) -> None:
    errors = warm.errors + measured.errors
    statuses = warm.statuses + measured.statuses
    bad = sum(1 for s in statuses if s != 201)
    if errors or bad or len(measured.statuses) != count:
        shown = "\n  ".join(sorted(set(errors))[:10])
        raise SystemExit(f"FAILED {label}: {bad} non-201 answers of {len(statuses)}\n  {shown}")


def _rates(measured: Load, count: int) -> tuple[float, float, float]:
    latencies = sorted(measured.latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return count / measured.seconds, statistics.median(latencies), p99


def reference(
    kind: str, devices: int, photo_kb: int, count: int, workers: int, procs: int, entity: bool
):
    """The bare endpoint (bench/bare.py) under the same gunicorn settings and load: the
    submissions/s this machine allows right now for streaming, one parse, a hash and one
    transaction."""
    from bench.common import reset_database

    with tempfile.TemporaryDirectory(prefix="bench-bare-") as folder:
        url = reset_database(kind, Path(folder))
        bare.prepare(url)
        env = {"BARE_DATABASE_URL": url}
        with gunicorn(env, workers, "bench.bare:make_app()", "python:bench.bare") as (base, pid):
            warm, measured, _peak = _measure(
                f"{base}/bare", devices, photo_kb, count, procs, pid, entity
            )
    _check(f"bare {kind} devices={devices}", warm, measured, count)
    return _rates(measured, count)


def run(
    kind: str,
    devices: int,
    photo_kb: int,
    count: int,
    workers: int,
    procs: int,
    entities: bool = False,
) -> str:
    with (
        instance(kind, entities=entities) as (env, app, issued),
        gunicorn(env, workers) as (base, pid),
    ):
        url = issued.server_url(base)
        warm, measured, peak = _measure(url, devices, photo_kb, count, procs, pid, entities)
        hwm = memory_kib(pid, "VmHWM")
        pss = memory_kib(pid, "Pss")
        submissions, outbox, households = count_rows(app)
    label = f"{kind:8} devices={devices:<3} photo={photo_kb:>3}KB n={count:<5}"
    label += " entities" if entities else ""
    _check(label, warm, measured, count)
    if submissions != count + WARMUP or outbox != count + WARMUP:
        raise SystemExit(
            f"FAILED {label}: database holds {submissions} submissions and {outbox} outbox rows,"
            f" expected {count + WARMUP} of each"
        )
    if entities and households != count + WARMUP:
        raise SystemExit(f"FAILED {label}: {households} households made, expected {count + WARMUP}")
    rate, p50, p99 = _rates(measured, count)
    bare, _bp50, bare_p99 = reference(kind, devices, photo_kb, count, workers, procs, entities)
    return (
        f"{label} {rate:7.1f} sub/s  p50 {p50 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms"
        f"  | bare {bare:6.1f} sub/s (p99 {bare_p99 * 1000:5.0f} ms)  ratio {rate / bare:4.2f}"
        f"  | rss_peak {peak / 1024:4.0f} MB (sum VmHWM {hwm / 1024:4.0f} MB,"
        f" PSS now {pss / 1024:4.0f} MB)  workers={workers}"
    )


def profile(kind: str, count: int, html: str) -> str:
    """The hot path in one process: ``count`` Collect-style POSTs through the app itself
    (Flask's test client: no HTTP, no other process), profiled with pyinstrument. Writes the
    call tree as HTML to ``html`` and returns it as text."""
    import io

    from pyinstrument import Profiler

    with instance(kind) as (_env, app, issued):
        client = app.test_client()
        path = issued.server_url("http://bench")[len("http://bench") :] + "/submission"

        def post() -> None:
            body = {"xml_submission_file": (io.BytesIO(instance_xml(None)), "x.xml", "text/xml")}
            answer = client.post(
                f"{path}?deviceID=collect:profile",
                data=body,
                headers={"X-OpenRosa-Version": "1.0", "User-Agent": USER_AGENT},
                content_type="multipart/form-data",
            )
            if answer.status_code != 201:
                raise SystemExit(f"FAILED profile: POST answered {answer.status_code}")

        for _ in range(WARMUP):
            post()
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(count):
            post()
        profiler.stop()
    with open(html, "w", encoding="utf-8") as f:
        f.write(profiler.output_html())
    return profiler.output_text(unicode=True, color=False, show_all=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--devices", default="8,32", help="comma-separated device counts")
    parser.add_argument("--photo-kb", default="0,100", help="comma-separated photo sizes (KB)")
    parser.add_argument("--count", type=int, default=2000, help="measured submissions per run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--client-procs", type=int, default=4, help="client processes the devices share"
    )
    parser.add_argument(
        "--entities",
        action="store_true",
        help="each submission also creates an entity (a household, four properties)",
    )
    parser.add_argument(
        "--profile",
        metavar="HTML",
        help="instead of the load, profile --count POSTs in one process (pyinstrument) and "
        "write the call tree to HTML (text on stdout)",
    )
    args = parser.parse_args()
    terminate_on_sigterm()
    if args.profile:
        for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
            print(f"{kind}: {args.count} POSTs in one process\n")
            print(profile(kind, args.count, args.profile.replace(".html", f"-{kind}.html")))
        return
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(
        f"load: {QUESTIONS}-question form; devices are threads (one keep-alive session each) in "
        f"up to {args.client_procs} client processes on the same {multiprocessing.cpu_count()}"
        f" cores as the server; warm-up {WARMUP}; gunicorn gthread, EMBEDDED_WORKER=no "
        "(no forwarding during the run; outbox rows are written)",
        flush=True,
    )
    for kind in kinds:
        for photo_kb in (int(x) for x in args.photo_kb.split(",")):
            for devices in (int(x) for x in args.devices.split(",")):
                line = run(
                    kind,
                    devices,
                    photo_kb,
                    args.count,
                    args.workers,
                    args.client_procs,
                    args.entities,
                )
                print(line, flush=True)


if __name__ == "__main__":
    main()
