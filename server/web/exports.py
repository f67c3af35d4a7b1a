"""The review list's exports that take a while, as jobs: a ZIP of CSVs or an XLSX workbook
of the list's submissions (with its filters) is started, its page shows a progress bar
(refreshed by the browser every few seconds, or by a few lines of JavaScript) and offers the
download when done; the person may leave the page and come back to its address."""

from __future__ import annotations

from flask import Response, g, jsonify, redirect, render_template, request, url_for

from server.db import get_db
from server.errors import MissingParameter
from server.extension import get_blobs, get_settings
from server.services import export_jobs, projects
from server.services.export_formats import XLSX_TYPE, ZIP_TYPE
from server.web import bp
from server.web.inputs import read_filters

BASE = "/projects/<int:project_id>/forms/<xml_form_id>/submissions/exports"
LABELS = {"vi": "vi", "en": "en", "codes": None}


@bp.post(BASE)
def start_export(project_id: int, xml_form_id: str) -> Response:
    """Start the job (audited as the export), then show its page."""
    kind = request.form.get("kind", "")
    labels = request.form.get("labels", "vi")
    if kind not in export_jobs.KINDS or labels not in LABELS:
        raise MissingParameter("Choose the export's format and its labels.")
    settings = get_settings()
    filters, _kept = read_filters(settings.timezone)
    job = export_jobs.start_job(
        get_db(),
        get_blobs(),
        g.principal,
        project_id,
        xml_form_id,
        kind,
        filters,
        LABELS[labels],
        settings.instance_path,
        settings.timezone,
    )
    return redirect(
        url_for("web.show_export", project_id=project_id, xml_form_id=xml_form_id, job_id=job.id),
        303,
    )


@bp.get(f"{BASE}/<job_id>")
def show_export(project_id: int, xml_form_id: str, job_id: str) -> str:
    job = export_jobs.get_job(
        g.principal, get_settings().instance_path, job_id, project_id, xml_form_id
    )
    with get_db().transaction(write=False) as session:
        project = projects.get_project(session, project_id)
    back = url_for("web.list_submissions", project_id=project_id, xml_form_id=xml_form_id)
    return render_template(
        "web/export_job.html", project=project, xml_form_id=xml_form_id, job=job, back=back
    )


@bp.get(f"{BASE}/<job_id>.json")
def export_progress(project_id: int, xml_form_id: str, job_id: str) -> Response:
    """How far the job has come, for the page's progress bar."""
    job = export_jobs.get_job(
        g.principal, get_settings().instance_path, job_id, project_id, xml_form_id
    )
    return jsonify(
        {"state": job.state, "done": job.done, "total": job.total, "percent": job.percent}
    )


@bp.get(f"{BASE}/<job_id>/file")
def download_export(project_id: int, xml_form_id: str, job_id: str) -> Response:
    job, path = export_jobs.job_file(
        g.principal, get_settings().instance_path, job_id, project_id, xml_form_id
    )
    from server.api.exports import disposition

    response = Response(
        export_jobs.stream_file(path), content_type=ZIP_TYPE if job.kind == "csv.zip" else XLSX_TYPE
    )
    response.headers["Content-Disposition"] = disposition(job.file_name)
    response.headers["Cache-Control"] = "private, no-store"
    return response
