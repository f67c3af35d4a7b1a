"""HEAD/GET and POST /projects/{id}/submission: the OpenRosa Form Submission API."""

from __future__ import annotations

from flask import Response, g, request

from server import uploads
from server.db import get_db
from server.extension import get_blobs, get_settings, get_target_names
from server.openrosa import bp, messages, xml
from server.services import ingest, projects

XML_TYPE = "text/xml; charset=utf-8"


@bp.get("/projects/<int:project_id>/submission")
def submission_preflight(project_id: int) -> Response:
    """Collect sends HEAD first and requires 204 (it reads X-OpenRosa-Accept-Content-Length)."""
    with get_db().transaction(write=False) as session:
        projects.get_project(session, project_id)
    return Response(status=204)


@bp.post("/projects/<int:project_id>/submission")
def post_submission(project_id: int) -> Response:
    return receive(project_id, None)


def receive(project_id: int, draft_of: str | None) -> Response:
    """Stream, parse and ingest one POST; respond after the commit."""
    settings = get_settings()
    body = uploads.read_submission(
        request.environ,
        settings.max_submission_bytes,
        settings.max_submission_xml_bytes,
        settings.spool_path,
    )
    try:
        incoming = ingest.incoming_from(
            body.xml,
            body.attachments,
            request.args.get("deviceID"),
            uploads.user_agent(request),
            draft_of,
        )
        with get_db().transaction() as session:
            result = ingest.ingest_submission(
                session, get_blobs(), g.principal, project_id, incoming, get_target_names()
            )
    finally:
        body.close()
    if result.problem is not None:
        raise result.problem  # after the commit, so the refused resend is in the audit log
    message, language = messages.success()
    return Response(
        xml.response(message),
        status=201,
        content_type=XML_TYPE,
        headers={"Content-Language": language},
    )
