"""formList, form XML download, manifest and media download (Central's OpenRosa paths)."""

from __future__ import annotations

from flask import Response, g, request

from server.blobs import BlobNotFound
from server.db import get_db
from server.errors import NotFound
from server.extension import get_blobs
from server.keys import KEY_PREFIX_ENVIRON
from server.openrosa import bp, xml
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
        files = form_service.list_attachments(session, version.id)
    form_url = f"{project_url(project_id)}/forms/{xml_form_id}"
    return Response(xml.manifest(files, form_url), content_type=XML_TYPE)


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/attachments/<name>")
def form_attachment(project_id: int, xml_form_id: str, name: str) -> Response:
    with get_db().transaction(write=False) as session:
        version = form_service.get_published(session, g.principal, project_id, xml_form_id)
        files = form_service.list_attachments(session, version.id)
    return media_response(files, name)


def media_response(files: list[form_service.AttachmentFile], name: str) -> Response:
    """Stream one uploaded form attachment with its md5 ETag (304 when unchanged)."""
    found = next((f for f in files if f.name == name and f.sha256), None)
    if found is None:
        raise NotFound(f"The form has no attachment named '{name}'.")
    if request.if_none_match.contains(found.md5):
        return Response(status=304, headers={"ETag": f'"{found.md5}"'})
    try:
        stream = get_blobs().open(found.sha256)
    except BlobNotFound:
        raise NotFound(f"The file '{name}' is missing from storage.") from None
    response = Response(
        _chunks(stream),
        direct_passthrough=True,
        content_type=found.content_type or "application/octet-stream",
    )
    response.headers["ETag"] = f'"{found.md5}"'
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _chunks(stream):
    try:
        while chunk := stream.read(1 << 16):
            yield chunk
    finally:
        stream.close()


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
