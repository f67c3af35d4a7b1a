"""Exports in the REST API, as Central serves them: a form's submissions as a ZIP of CSVs
(``submissions.csv.zip``, the files under ``media/`` unless ``attachments=false``), the
main table as one CSV (``submissions.csv``), the geopoints and geoshapes as GeoJSON
(``submissions.geojson``); and, beyond Central, the same tables as an XLSX workbook and an
entity list as CSV or XLSX. Each is audited before its first byte and streamed."""

from __future__ import annotations

import re

from flask import Response, g, request, stream_with_context

from server.api import bp, is_true
from server.db import get_db
from server.errors import MissingParameter
from server.extension import get_blobs, get_settings
from server.services import (
    entity_export,
    export_formats,
    export_jobs,
    submission_map,
    submission_tables,
)
from server.services.submissions import SubmissionFilters

FORM = "/projects/<int:project_id>/forms/<xml_form_id>"


def disposition(filename: str) -> str:
    """Central's Content-Disposition: an ASCII name, and the exact one in RFC 5987 form."""
    from urllib.parse import quote

    ascii_name = "".join(c if c.isascii() and c not in '"\\' else "-" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _options() -> dict:
    return {
        "odata_filter": request.args.get("$filter") or None,
        "split_multiples": is_true(request.args.get("splitSelectMultiples")),
        "group_paths": (request.args.get("groupPaths") or "").lower() != "false",
    }


def export_response(
    principal, project_id: int, xml_form_id: str, kind: str, filters, options: dict
) -> Response:
    """Audit the export (the caller, the form, the format, the filters, whether special-
    category answers are in it), then stream it in a read transaction of its own."""
    media = kind == "csv.zip" and (request.args.get("attachments") or "").lower() != "false"
    settings = get_settings()
    with get_db().transaction() as session:
        plan = submission_tables.plan_export(
            session, principal, project_id, xml_form_id, filters, **options
        )
        submission_tables.record_export(
            session, principal, plan, kind, export_jobs.audit_filters(filters, options, media)
        )
    name = plan.tables[0].name

    def generate():
        with get_db().transaction(write=False) as session:
            again = submission_tables.plan_export(
                session, principal, project_id, xml_form_id, filters, **options
            )
            if kind == "csv.zip":
                yield from export_formats.csv_zip(
                    session, get_blobs(), again, media, settings.spool_path
                )
            else:
                yield from export_formats.csv_main(session, again)

    if kind == "csv.zip":
        content_type, filename = export_formats.ZIP_TYPE, f"{name}.zip"
    else:
        content_type, filename = export_formats.CSV_TYPE, f"{name}.csv"
    response = Response(stream_with_context(generate()), content_type=content_type)
    response.headers["Content-Disposition"] = disposition(filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get(f"{FORM}/submissions.csv.zip")
def export_csv_zip(project_id: int, xml_form_id: str) -> Response:
    """Central's export: the main table, one CSV per repeat, and the media."""
    return export_response(
        g.principal, project_id, xml_form_id, "csv.zip", SubmissionFilters(), _options()
    )


@bp.get(f"{FORM}/submissions.csv")
def export_submissions(project_id: int, xml_form_id: str) -> Response:
    """Central's root-table CSV (current versions, the caller's wards)."""
    return export_response(
        g.principal, project_id, xml_form_id, "csv", SubmissionFilters(), _options()
    )


@bp.get(f"{FORM}/submissions.xlsx")
def export_xlsx(project_id: int, xml_form_id: str) -> Response:
    """The tables as a workbook: ``labels=vi`` (default), ``en`` or ``codes``."""
    labels = request.args.get("labels") or "vi"
    if labels not in ("vi", "en", "codes"):
        raise MissingParameter("labels must be vi, en or codes.")
    settings = get_settings()
    filename, path = export_jobs.xlsx_response_file(
        get_db(),
        g.principal,
        project_id,
        xml_form_id,
        SubmissionFilters(),
        {**_options(), "split_multiples": True},  # always, as Briefcase splits them
        None if labels == "codes" else labels,
        settings.spool_path,
        settings.timezone,
    )
    response = Response(export_jobs.stream_and_remove(path), content_type=export_formats.XLSX_TYPE)
    response.headers["Content-Disposition"] = disposition(filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get(f"{FORM}/submissions.geojson")
def export_geojson(project_id: int, xml_form_id: str) -> Response:
    """Central's GeoJSON FeatureCollection of one geo question (``fieldpath``, else the
    first one outside a repeat); ``limit`` as Central takes it."""
    paths = request.args.getlist("fieldpath")
    if len(paths) > 1:
        raise MissingParameter("At most one fieldpath may be given.")
    limit = request.args.get("limit", "")
    if limit and not re.fullmatch(r"[0-9]{1,9}", limit):  # "²" passes isdigit(), not int()
        raise MissingParameter("limit must be a whole number.")
    with get_db().transaction() as session:  # the export is audited before its first byte
        plan = submission_map.plan_geojson(
            session,
            g.principal,
            project_id,
            xml_form_id,
            request.args.get("$filter") or None,
            paths[0] if paths else None,
            int(limit) if limit.isdigit() and int(limit) > 0 else None,
        )

    def generate():
        with get_db().transaction(write=False) as session:
            for text in submission_map.geojson_chunks(session, plan):
                yield text.encode("utf-8")

    response = Response(stream_with_context(generate()), content_type="application/geo+json")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/projects/<int:project_id>/datasets/<name>/entities.csv")
def export_entities_csv(project_id: int, name: str) -> Response:
    """An entity list with Central's ``entities.csv`` columns; the caller's wards only."""
    return entity_response(project_id, name, "csv")


@bp.get("/projects/<int:project_id>/datasets/<name>/entities.xlsx")
def export_entities_xlsx(project_id: int, name: str) -> Response:
    """The same list as an XLSX sheet."""
    return entity_response(project_id, name, "xlsx")


def entity_response(project_id: int, name: str, kind: str) -> Response:
    """Audit the export of an entity list, then stream it."""
    with get_db().transaction() as session:
        plan = entity_export.plan_export(session, g.principal, project_id, name, kind)
    if kind == "csv":

        def generate():
            with get_db().transaction(write=False) as session:
                yield from entity_export.csv_bytes(session, plan)

        body = stream_with_context(generate())
        content_type = export_formats.CSV_TYPE
    else:
        with get_db().transaction(write=False) as session:
            path = entity_export.xlsx_file(session, plan, get_settings().spool_path)
        body = export_jobs.stream_and_remove(path)
        content_type = export_formats.XLSX_TYPE
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = disposition(f"{name}.{kind}")
    response.headers["Cache-Control"] = "private, no-store"
    return response
