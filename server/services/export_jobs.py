"""Exports that take a while, run as jobs: the web UI starts one (a ZIP of CSVs or an XLSX),
the job writes its file into ``instance/exports`` in a thread of its own while the page
shows how far it has come, and the file is downloaded when it is done. The person may leave
the page meanwhile and come back (the job's address is kept in the page's link).

A job is a small JSON file beside its output (state, rows done, rows in all, its owner),
replaced atomically on each step, so that any worker process of the server can answer for
it. Only the person who started a job sees it; a finished file is kept for a day.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from server.auth.permissions import Principal, can
from server.blobs import BlobStore
from server.db import Database
from server.errors import NotFound
from server.services import export_formats, submission_tables
from server.services.submissions import SubmissionFilters, filters_for_audit

KINDS = ("csv.zip", "xlsx")
KEEP_SECONDS = 24 * 3600
STALE_SECONDS = 15 * 60  # a running job not heard of for this long died with its worker
_CHUNK = 256 * 1024
_log = logging.getLogger(__name__)


@dataclass(slots=True)
class Job:
    id: str
    actor_id: int | None
    project_id: int
    xml_form_id: str
    kind: str
    state: str  # running | done | failed
    done: int
    total: int
    started: float
    updated: float
    file_name: str

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return min(99, self.done * 100 // self.total) if self.total else 0

    @property
    def stale(self) -> bool:
        return self.state == "running" and time.time() - self.updated > STALE_SECONDS


def audit_filters(filters: SubmissionFilters | None, options: dict, media: bool) -> dict:
    """The filters and options of an export as its audit row keeps them."""
    kept = filters_for_audit(filters or SubmissionFilters())
    if options.get("odata_filter"):
        kept["$filter"] = options["odata_filter"]
    if options.get("split_multiples"):
        kept["splitSelectMultiples"] = True
    if media:
        kept["attachments"] = True
    return kept


def _folder(instance_path: str) -> Path:
    folder = Path(instance_path) / "exports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _save(folder: Path, job: Job) -> None:
    job.updated = time.time()
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(job), f)
    os.replace(tmp, folder / f"{job.id}.json")


def start_job(
    db: Database,
    store: BlobStore,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    kind: str,
    filters: SubmissionFilters,
    language: str | None,
    instance_path: str,
    timezone: str,
    run_in_thread: bool = True,
) -> Job:
    """Check the caller may export, audit the export, and start writing its file; returns the
    job at once (``run_in_thread`` False runs it to the end first, for the CLI and tests)."""
    folder = _folder(instance_path)
    _forget_old(folder)
    with db.transaction() as session:
        plan = submission_tables.plan_export(session, principal, project_id, xml_form_id, filters)
        total = submission_tables.count_rows(session, plan)
        details = audit_filters(filters, {}, kind == "csv.zip")
        if kind == "xlsx":
            details["labels"] = language or "codes"
        submission_tables.record_export(session, principal, plan, kind, details)
    name = plan.tables[0].name
    file_name = f"{name}.zip" if kind == "csv.zip" else f"{name}.xlsx"
    job = Job(
        secrets.token_urlsafe(16), principal.actor_id, project_id, xml_form_id, kind,
        "running", 0, total, time.time(), time.time(), file_name,
    )  # fmt: skip
    _save(folder, job)
    args = (db, store, principal, job, filters, language, folder, timezone)
    if run_in_thread:
        threading.Thread(target=_run, args=args, daemon=True, name=f"export-{job.id}").start()
    else:
        _run(*args)
    return job


def _run(db, store, principal, job: Job, filters, language, folder: Path, timezone) -> None:
    out = folder / f"{job.id}.out"

    def progress(done: int) -> None:
        if done >= 0:
            job.done = done
            _save(folder, job)

    try:
        with db.transaction(write=False) as session:
            plan = submission_tables.plan_export(
                session,
                principal,
                job.project_id,
                job.xml_form_id,
                filters,
                split_multiples=job.kind == "xlsx",
            )
            if job.kind == "xlsx":
                job.done = export_formats.xlsx(session, plan, out, language, timezone, progress)
            else:
                with out.open("wb") as f:
                    for chunk in export_formats.csv_zip(
                        session, store, plan, True, str(folder), progress
                    ):
                        f.write(chunk)
                job.done = max(job.done, job.total)
        job.state = "done"
    except Exception:  # the thread's edge: whatever failed, the page says so, not spin
        job.state = "failed"
        out.unlink(missing_ok=True)
        _log.exception("export job %s of form %s failed", job.id, job.xml_form_id)
    finally:
        _save(folder, job)


def get_job(
    principal: Principal, instance_path: str, job_id: str, project_id: int, xml_form_id: str
) -> Job:
    """The caller's own job of this project's form, while the caller may still read its
    submissions; NotFound for anyone else's, another form's or an unknown one. Files older
    than a day are removed first."""
    if principal.actor_id is None or not job_id.replace("-", "").replace("_", "").isalnum():
        raise NotFound()
    folder = _folder(instance_path)
    _forget_old(folder)
    path = folder / f"{job_id}.json"
    try:
        job = Job(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        raise NotFound() from None
    if (job.actor_id, job.project_id, job.xml_form_id) != (
        principal.actor_id, project_id, xml_form_id
    ) or not can(principal, "submission.read", project_id):
        raise NotFound()
    if job.stale:
        job.state = "failed"
    return job


def job_file(
    principal: Principal, instance_path: str, job_id: str, project_id: int, xml_form_id: str
) -> tuple[Job, Path]:
    """The finished file of the caller's job; NotFound until it is done."""
    job = get_job(principal, instance_path, job_id, project_id, xml_form_id)
    path = _folder(instance_path) / f"{job.id}.out"
    if job.state != "done" or not path.exists():
        raise NotFound()
    return job, path


def _forget_old(folder: Path) -> None:
    limit = time.time() - KEEP_SECONDS
    for path in folder.glob("*"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            continue


def stream_file(path: Path) -> Iterator[bytes]:
    """A file's bytes in chunks."""
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def stream_and_remove(path: Path) -> Iterator[bytes]:
    """A temp file's bytes in chunks. The file is opened and removed from the disk at once
    (its bytes stay readable through the open handle), so nothing is left behind even when
    the body is never read (a HEAD request) or the client goes away."""
    handle = path.open("rb")
    path.unlink(missing_ok=True)
    return _OpenFile(handle)


class _OpenFile:
    """An open file as a response body: its chunks, and ``close`` (which the WSGI server,
    or werkzeug for a HEAD request, calls whether or not the body was read)."""

    def __init__(self, handle):
        self.handle = handle

    def __iter__(self) -> Iterator[bytes]:
        try:
            while chunk := self.handle.read(_CHUNK):
                yield chunk
        finally:
            self.handle.close()

    def close(self) -> None:
        self.handle.close()


def xlsx_response_file(
    db: Database,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    filters: SubmissionFilters,
    options: dict,
    language: str | None,
    spool_path: str,
    timezone: str,
) -> tuple[str, Path]:
    """Audit an XLSX export and write it to a temp file (openpyxl's write-only mode keeps
    memory flat); returns its file name and path, for the API to stream and remove."""
    with db.transaction() as session:
        plan = submission_tables.plan_export(
            session, principal, project_id, xml_form_id, filters, **options
        )
        details = {**audit_filters(filters, options, False), "labels": language or "codes"}
        submission_tables.record_export(session, principal, plan, "xlsx", details)
    Path(spool_path).mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=spool_path, suffix=".xlsx")
    os.close(fd)
    path = Path(name)
    try:
        with db.transaction(write=False) as session:
            plan = submission_tables.plan_export(
                session, principal, project_id, xml_form_id, filters, **options
            )
            export_formats.xlsx(session, plan, path, language, timezone)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return f"{plan.tables[0].name}.xlsx", path
