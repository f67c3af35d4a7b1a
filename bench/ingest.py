"""python -m bench.ingest: concurrent simulated Collect devices posting 25-field submissions
(optionally with a photo) to gunicorn on loopback, on SQLite and PostgreSQL; prints
submissions/s, p50/p99 latency of the POST and the server's peak resident memory.

The load generator runs on the same 2 cores as the server (processes of threads, one
requests.Session per device), so the numbers are a floor for the server alone."""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import threading
import time
import uuid

import requests
from sqlalchemy import func, select

from bench.common import gunicorn, instance, tree_rss_kib
from server.models.submissions import Submission

WARMUP = 50


def submission(photo: bool) -> tuple[bytes, str | None]:
    name = f"{uuid.uuid4().hex}.jpg" if photo else None
    answers = "".join(f"<t{i}>van ban tra loi {i}</t{i}>" for i in range(10))
    answers += "".join(f"<n{i}>{i * 7}</n{i}>" for i in range(5))
    answers += "".join(f"<d{i}>{i}.25</d{i}>" for i in range(3))
    answers += "".join(f"<dt{i}>2026-11-{10 + i}</dt{i}>" for i in range(3))
    answers += "".join(f"<s{i}>co</s{i}>" for i in range(3)) + f"<anh>{name or ''}</anh>"
    xml = (
        f'<data id="bench" version="1">{answers}<meta><instanceID>uuid:{uuid.uuid4()}'
        "</instanceID></meta></data>"
    ).encode()
    return xml, name


def device(url: str, count: int, photo_bytes: bytes, out: list) -> None:
    http = requests.Session()
    headers = {"X-OpenRosa-Version": "1.0"}
    http.head(f"{url}/submission", headers=headers, timeout=30)
    for _ in range(count):
        xml, name = submission(bool(photo_bytes))
        files = [("xml_submission_file", ("s.xml", xml, "text/xml"))]
        if name:
            files.append((name, (name, photo_bytes, "image/jpeg")))
        started = time.perf_counter()
        response = http.post(f"{url}/submission", files=files, headers=headers, timeout=60)
        out.append((time.perf_counter() - started, response.status_code))


def process_main(url: str, devices: int, per_device: int, photo_kb: int, queue) -> None:
    photo = bytes(range(256)) * (photo_kb * 4) if photo_kb else b""
    results: list = []
    threads = [
        threading.Thread(target=device, args=(url, per_device, photo, results))
        for _ in range(devices)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(results)


def load(url: str, devices: int, count: int, photo_kb: int) -> tuple[float, list]:
    processes = min(devices, 4)
    per_device = max(1, count // devices)
    queue = multiprocessing.Queue()
    started = time.perf_counter()
    procs = [
        multiprocessing.Process(
            target=process_main,
            args=(
                url,
                devices // processes + (1 if i < devices % processes else 0),
                per_device,
                photo_kb,
                queue,
            ),
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    results = [r for _ in procs for r in queue.get()]
    for p in procs:
        p.join()
    return time.perf_counter() - started, results


def run(kind: str, devices: int, photo_kb: int, count: int, workers: int) -> str:
    with instance(kind) as (env, app, issued), gunicorn(env, workers) as (base, pid):
        url = issued.server_url(base)
        load(url, min(devices, 8), WARMUP, photo_kb)
        peak = tree_rss_kib(pid)
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.wait(0.2):
                peak = max(peak, tree_rss_kib(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        seconds, results = load(url, devices, count, photo_kb)
        stop.set()
        bad = [s for _, s in results if s != 201]
        with app.extensions["donghanh"].db.transaction(write=False) as session:
            stored = session.scalar(select(func.count()).select_from(Submission))
        expected = len(results) + min(devices, 8) * max(1, WARMUP // min(devices, 8))
        if bad or stored != expected:
            raise SystemExit(
                f"{kind}: {len(bad)} non-201 answers, {stored} stored, {expected} expected"
            )
        latencies = sorted(t for t, _ in results)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        p50 = statistics.median(latencies)
        return (
            f"{kind:8} devices={devices:<3} photo={photo_kb:>3}KB n={len(results):<5} "
            f"{len(results) / seconds:7.1f} sub/s  p50 {p50 * 1000:6.1f} ms  "
            f"p99 {p99 * 1000:6.1f} ms  rss_peak {peak / 1024:5.0f} MB  workers={workers}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--devices", default="8,32")
    parser.add_argument("--photo-kb", default="0,100")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(
        "load: devices as threads in up to 4 client processes on the same machine; "
        "EMBEDDED_WORKER=no"
    )
    for kind in kinds:
        for photo_kb in (int(x) for x in args.photo_kb.split(",")):
            for devices in (int(x) for x in args.devices.split(",")):
                print(run(kind, devices, photo_kb, args.count, args.workers), flush=True)


if __name__ == "__main__":
    main()
