"""Submissions in the REST API, in Central's shapes: list and read them (pyodk's
``submissions.list/get``), their XML, attachments and comments, review (pyodk's PATCH),
soft delete and restore (exports: api/exports.py);
attachment downloads are also what the register uses
to fetch the files named in a forwarded payload. Every read is in the caller's wards."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from server import uploads
from server.api import bp
from server.api.schemas import (
    CommentInput,
    CommentOutput,
    ReviewInput,
    SubmissionOutput,
    SubmissionVersionOutput,
)
from server.blobs import iter_blob
from server.db import get_db
from server.errors import MissingParameter
from server.extension import get_blobs, get_settings, get_target_names
from server.services import ingest, lifecycle, review, submission_api, submissions

FORM_SUBMISSIONS = "/projects/<int:project_id>/forms/<xml_form_id>/submissions"
BASE = f"{FORM_SUBMISSIONS}/<instance_id>"


@bp.get(FORM_SUBMISSIONS)
def list_submissions(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction() as session:
        views = submission_api.list_views(session, g.principal, project_id, xml_form_id)
    return jsonify(SubmissionOutput(many=True).dump(views))


@bp.post(FORM_SUBMISSIONS)
def create_submission(project_id: int, xml_form_id: str) -> Response:
    """A submission sent as XML (pyodk's ``submissions.create``); its files follow one by one
    through POST .../attachments/{name}. An instanceID already used is a 409, as in Central."""
    return _write(project_id, xml_form_id, None)


@bp.put(BASE)
def edit_submission(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    """A new version of the submission (pyodk's ``submissions.edit``): the XML names the
    version it replaces in meta/deprecatedID; photos it keeps are carried forward."""
    return _write(project_id, xml_form_id, instance_id)


def _write(project_id: int, xml_form_id: str, edited: str | None) -> Response:
    if (request.mimetype or "").lower() not in ("application/xml", "text/xml"):
        raise MissingParameter("Send the submission XML with Content-Type: application/xml.")
    settings = get_settings()
    spool = uploads.read_xml_body(
        request.environ,
        settings.max_submission_xml_bytes,
        settings.max_submission_bytes,
        settings.spool_path,
    )
    try:
        xml = uploads.Part("xml_submission_file", None, "application/xml", spool)
        incoming = ingest.incoming_from(
            xml, {}, request.args.get("deviceID"), uploads.user_agent(request)
        )
        with get_db().transaction() as session:
            result, view = submission_api.write(
                session,
                get_blobs(),
                g.principal,
                project_id,
                xml_form_id,
                incoming,
                get_target_names(),
                edited,
            )
    finally:
        spool.close()
    if result.problem is not None:
        raise result.problem  # after the commit, so the refused resend is in the audit log
    return jsonify(SubmissionOutput().dump(view))


@bp.post(f"{BASE}/attachments/<name>")
def upload_submission_attachment(
    project_id: int, xml_form_id: str, instance_id: str, name: str
) -> Response:
    settings = get_settings()
    spool = uploads.read_body(request.environ, settings.max_submission_bytes, settings.spool_path)
    try:
        part = uploads.Part(name, name, request.mimetype or "application/octet-stream", spool)
        with get_db().transaction() as session:
            submission_api.put_attachment(
                session, get_blobs(), g.principal, project_id, xml_form_id, instance_id, name, part
            )
    finally:
        spool.close()
    return jsonify({"success": True})


@bp.get(BASE)
def get_submission(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    with get_db().transaction() as session:
        view = submission_api.get_view(session, g.principal, project_id, xml_form_id, instance_id)
    return jsonify(SubmissionOutput().dump(view))


@bp.get(f"{FORM_SUBMISSIONS}/<instance_id>.xml")
def submission_xml(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    with get_db().transaction() as session:
        xml = submission_api.current_xml(session, g.principal, project_id, xml_form_id, instance_id)
    return Response(xml, content_type="application/xml; charset=utf-8")


@bp.get(f"{BASE}/attachments")
def list_submission_attachments(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    with get_db().transaction() as session:  # audited
        states = submission_api.attachment_states(
            session, g.principal, project_id, xml_form_id, instance_id
        )
    return jsonify([{"name": name, "exists": arrived} for name, arrived in states])


@bp.get(f"{BASE}/comments")
def list_comments(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    with get_db().transaction() as session:  # audited
        rows = submission_api.comments(session, g.principal, project_id, xml_form_id, instance_id)
    return jsonify(CommentOutput(many=True).dump(rows))


@bp.post(f"{BASE}/comments")
def add_comment(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    data = CommentInput().load(request.get_json(force=True, silent=True) or {})
    with get_db().transaction() as session:
        row = submissions.add_comment(
            session, g.principal, project_id, xml_form_id, instance_id, data["body"]
        )
        out = CommentOutput().dump(row)
    return jsonify(out)


@bp.patch(BASE)
def review_submission(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    data = ReviewInput().load(request.get_json(force=True, silent=True) or {})
    with get_db().transaction() as session:
        submission = review.set_review_state(
            session,
            g.principal,
            project_id,
            xml_form_id,
            instance_id,
            data["review_state"],
            get_target_names(),
        )
    return jsonify(SubmissionOutput().dump(submission))


@bp.get(f"{BASE}/attachments/<name>")
def submission_attachment(
    project_id: int, xml_form_id: str, instance_id: str, name: str
) -> Response:
    return _attachment(project_id, xml_form_id, instance_id, name, None)


@bp.get(f"{BASE}/versions")
def list_submission_versions(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    """Every version of the submission, newest first (what pyodk's edit recipes read)."""
    with get_db().transaction() as session:
        rows = submission_api.versions(session, g.principal, project_id, xml_form_id, instance_id)
        out = SubmissionVersionOutput(many=True).dump(rows)
    return jsonify(out)


@bp.get(f"{BASE}/versions/<version_id>")
def get_submission_version(
    project_id: int, xml_form_id: str, instance_id: str, version_id: str
) -> Response:
    with get_db().transaction() as session:
        row = submission_api.version(
            session, g.principal, project_id, xml_form_id, instance_id, version_id
        )
        out = SubmissionVersionOutput().dump(row)
    return jsonify(out)


@bp.get(f"{BASE}/versions/<version_id>.xml")
def submission_version_xml(
    project_id: int, xml_form_id: str, instance_id: str, version_id: str
) -> Response:
    """The exact XML of one version, as it was sent."""
    with get_db().transaction() as session:
        xml = submission_api.version(
            session, g.principal, project_id, xml_form_id, instance_id, version_id
        ).xml
    return Response(xml, content_type="application/xml; charset=utf-8")


@bp.get(f"{BASE}/versions/<version_id>/attachments/<name>")
def version_attachment(
    project_id: int, xml_form_id: str, instance_id: str, version_id: str, name: str
) -> Response:
    return _attachment(project_id, xml_form_id, instance_id, name, version_id)


def _attachment(project_id, xml_form_id, instance_id, name, version_id) -> Response:
    with get_db().transaction() as session:
        blob = submissions.get_attachment(
            session, g.principal, project_id, xml_form_id, instance_id, name, version_id
        )
    response = Response(
        iter_blob(get_blobs(), blob.sha256), content_type=blob.content_type, direct_passthrough=True
    )
    response.headers["ETag"] = f'"{blob.md5}"'
    response.headers["Content-Disposition"] = "attachment"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.delete(BASE)
def delete_submission(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    """Central's soft delete: hidden everywhere, restorable for 30 days, then purged."""
    with get_db().transaction() as session:
        lifecycle.delete_submission(session, g.principal, project_id, xml_form_id, instance_id)
    return jsonify({"success": True})


@bp.post(f"{BASE}/restore")
def restore_submission(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    with get_db().transaction() as session:
        lifecycle.restore_submission(session, g.principal, project_id, xml_form_id, instance_id)
    return jsonify({"success": True})


@bp.post("/projects/<int:project_id>/erasures")
def erase_client(project_id: int) -> Response:
    """Remove one client's data on request: body {"entityId": "<uuid of the client>"}."""
    body = request.get_json(force=True, silent=True) or {}
    entity_id = body.get("entityId")
    if not isinstance(entity_id, str) or not entity_id.strip():
        raise MissingParameter('Send {"entityId": "<the client\'s entity uuid>"}.')
    with get_db().transaction() as session:
        count = lifecycle.erase_client(session, get_blobs(), g.principal, project_id, entity_id)
    return jsonify(count.as_dict())
