"""formList, form XML download, manifest and media download (Central's OpenRosa paths)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, g, request, stream_with_context

from server.blobs import BlobNotFound, iter_blob
from server.db import get_db
from server.errors import NotFound
from server.extension import get_blobs
from server.keys import KEY_PREFIX_ENVIRON
from server.openrosa import bp, xml
from server.services import entities
from server.services import forms as form_service

XML_TYPE = "text/xml; charset=utf-8"  # Collect requires text/xml on formList and manifest


def project_url(project_id: int) -> str:
    """Base URL the caller used, keeping its /v1/key/{token} prefix (Central's basePath)."""
    prefix = request.environ.get(KEY_PREFIX_ENVIRON, "/v1")
    return f"{request.host_url.rstrip('/')}{prefix}/projects/{project_id}"


@bp.get("/projects/<int:project_id>/formList")
def form_list(project_id: int) -> Response:
    with get_db().transaction(write=False) as session:
        items = form_service.list_for_collect(
            session, g.principal, project_id, request.args.get("formID")
        )
    return Response(xml.form_list(items, project_url(project_id)), content_type=XML_TYPE)


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>.xml")
def form_xml(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        version = form_service.get_published(session, g.principal, project_id, xml_form_id)
    return Response(
        version.xml, content_type="application/xml", headers={"ETag": f'"{version.md5}"'}
    )


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/manifest")
def manifest(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        version = form_service.get_published(session, g.principal, project_id, xml_form_id)
        files = form_service.list_attachments(session, version.id, g.principal)
    form_url = f"{project_url(project_id)}/forms/{quote(xml_form_id, safe='')}"
    return Response(xml.manifest(files, form_url, project_url(project_id)), content_type=XML_TYPE)


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/attachments/<name>")
def form_attachment(project_id: int, xml_form_id: str, name: str) -> Response:
    with get_db().transaction(write=False) as session:
        version = form_service.get_published(session, g.principal, project_id, xml_form_id)
        files = form_service.list_attachments(session, version.id, g.principal)
    return media_response(files, name, project_id)


def media_response(
    files: list[form_service.AttachmentFile], name: str, project_id: int
) -> Response:
    """Stream one form attachment (a file, or an entity list as CSV) with an ETag; 304 when
    the device already has it."""
    found = next((f for f in files if f.name == name and (f.sha256 or f.dataset)), None)
    if found is None:
        raise NotFound(f"The form has no attachment named '{name}'.")
    if request.if_none_match.contains(found.md5):
        return Response(status=304, headers={"ETag": f'"{found.md5}"'})
    if found.dataset:
        response = Response(
            stream_with_context(entity_csv(project_id, found.dataset)),
            content_type="text/csv; charset=utf-8",
        )
        response.headers["ETag"] = f'"{found.md5}"'
        response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
        return response
    try:
        body = iter_blob(get_blobs(), found.sha256)
    except BlobNotFound:
        raise NotFound(f"The file '{name}' is missing from storage.") from None
    response = Response(
        body,
        direct_passthrough=True,
        content_type=found.content_type or "application/octet-stream",
    )
    response.headers["ETag"] = f'"{found.md5}"'
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def entity_csv(project_id: int, dataset: str):
    """The entity list as Collect reads it: name,label,__version,<properties>, one row per live
    entity the caller may have (its wards), streamed. The download is audited once the stream
    ends, however it ends (the phone may hang up), with the rows that went out."""
    principal = g.principal
    lines, complete = 0, False
    try:
        with get_db().transaction(write=False) as session:
            for line in entities.csv_lines(session, principal, project_id, dataset):
                yield line
                lines += 1
        complete = True
    finally:
        if lines:  # the header went out: the list exists and the caller may read it
            with get_db().transaction() as session:
                entities.record_download(
                    session, principal, project_id, dataset, lines - 1, complete
                )


@bp.get("/projects/<int:project_id>/datasets/<name>/integrity")
def integrity(project_id: int, name: str) -> Response:
    ids = [i for i in request.args.get("id", "").split(",") if i]
    with get_db().transaction() as session:  # the check is audited
        rows = entities.integrity(session, g.principal, project_id, name, ids)
    return Response(xml.integrity(rows), content_type=XML_TYPE)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
