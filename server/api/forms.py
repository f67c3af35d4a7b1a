"""Form management in the REST API (Central's shape, what pyodk calls): list and read forms,
upload an XLSForm or XForm as a new form or draft, attach media to the draft, publish it with
a version, list versions and download any version's XForm and source XLSForm, close a form."""

from __future__ import annotations

from urllib.parse import unquote

from flask import Response, g, jsonify, request

import forms
from server import uploads
from server.api import bp, is_true
from server.api.schemas import FormOutput, FormStateInput
from server.blobs import iter_blob
from server.db import get_db
from server.errors import InvalidForm, Problem
from server.extension import get_blobs, get_settings
from server.services import drafts, form_reads
from server.services import forms as form_service

FORM = "/projects/<int:project_id>/forms/<xml_form_id>"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"


class FormWarnings(Problem):
    code, status = "400.16", 400
    message = (
        "The XLSForm is valid, but it has warnings: read them, then upload again with "
        "?ignoreWarnings=true."
    )


def _definition(
    form_id: str | None,
) -> tuple[bytes, form_service.SourceFile | None, list[str], object]:
    """Read the body as an XForm or compile it as an XLSForm (pyxform, then ODK Validate)."""
    spool = uploads.read_body(request.environ, forms.MAX_FORM_BYTES, get_settings().spool_path)
    content_type = (request.mimetype or "").lower()
    if content_type in ("application/xml", "text/xml"):
        with open(spool.path, "rb") as f:
            return f.read(), None, [], spool
    if content_type not in (XLSX, XLS):
        spool.close()
        raise InvalidForm(
            f"Upload an XForm (application/xml) or an XLSForm ({XLSX} or {XLS}), "
            f"not '{content_type or 'no content type'}'."
        )
    suffix = ".xlsx" if content_type == XLSX else ".xls"
    # A draft of an existing form takes its id when the XLSForm names none (Central's rule).
    fallback = form_id or unquote(request.headers.get("X-XlsForm-FormId-Fallback", "")) or None
    try:
        with open(spool.path, "rb") as f:
            compiled = forms.compile_xlsform(
                f.read(), filename=f"form{suffix}", fallback_form_id=fallback
            )
    except forms.FormError as e:
        spool.close()
        raise InvalidForm(str(e), error=str(e), sheet=e.sheet, row=e.row) from None
    except BaseException:
        spool.close()  # never leave the upload behind, whatever failed
        raise
    name = f"{(fallback or 'form')[:100]}{suffix}"  # the column holds 255
    return (
        compiled.xform,
        form_service.SourceFile(spool.path, name, content_type),
        compiled.warnings,
        spool,
    )


def _save(project_id: int, new_form: bool, xml_form_id: str | None = None):
    xml, source, warnings, spool = _definition(xml_form_id)
    try:
        if warnings and not is_true(request.args.get("ignoreWarnings")):
            raise FormWarnings(warnings={"xlsFormWarnings": warnings})
        with get_db().transaction() as session:
            if new_form and is_true(request.args.get("publish")):
                xml_form_id = form_service.publish_new_form(
                    session, get_blobs(), g.principal, project_id, xml, source, warnings
                ).xml_form_id
            else:
                form = drafts.create_draft(
                    session,
                    get_blobs(),
                    g.principal,
                    project_id,
                    xml,
                    source,
                    warnings,
                    new_form,
                    xml_form_id,
                )
                xml_form_id = form.xml_form_id
            view = form_reads.form_view(session, g.principal, project_id, xml_form_id)
    finally:
        spool.close()
    if not new_form:  # Central answers a new draft of an existing form with success only
        return jsonify({"success": True})
    return jsonify(FormOutput().dump(view))


@bp.get("/projects/<int:project_id>/forms")
def list_forms(project_id: int) -> Response:
    with get_db().transaction(write=False) as session:
        views = form_reads.list_form_views(session, g.principal, project_id)
    return jsonify(FormOutput(many=True).dump(views))


@bp.post("/projects/<int:project_id>/forms")
def create_form(project_id: int) -> Response:
    return _save(project_id, new_form=True)


@bp.get(FORM)
def get_form(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        view = form_reads.form_view(session, g.principal, project_id, xml_form_id)
    return jsonify(FormOutput().dump(view))


@bp.patch(FORM)
def update_form(project_id: int, xml_form_id: str) -> Response:
    data = FormStateInput().load(request.get_json(force=True, silent=True) or {})
    with get_db().transaction() as session:
        if "state" in data:
            form_service.set_state(session, g.principal, project_id, xml_form_id, data["state"])
        if "forward_policy" in data:
            form_service.set_forward_policy(
                session, g.principal, project_id, xml_form_id, data["forward_policy"]
            )
        view = form_reads.form_view(session, g.principal, project_id, xml_form_id)
    return jsonify(FormOutput().dump(view))


@bp.post(f"{FORM}/draft")
def create_draft(project_id: int, xml_form_id: str) -> Response:
    if not request.content_length and "chunked" not in request.headers.get("Transfer-Encoding", ""):
        with get_db().transaction() as session:
            drafts.copy_published_to_draft(
                session, get_blobs(), g.principal, project_id, xml_form_id
            )
        return jsonify({"success": True})
    return _save(project_id, new_form=False, xml_form_id=xml_form_id)


@bp.get(f"{FORM}/draft")
def get_draft(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        view = form_reads.form_view(
            session,
            g.principal,
            project_id,
            xml_form_id,
            draft=True,
            public_url=get_settings().public_url,
        )
    return jsonify(FormOutput().dump(view))


@bp.delete(f"{FORM}/draft")
def delete_draft(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction() as session:
        drafts.delete_draft(session, g.principal, project_id, xml_form_id)
    return jsonify({"success": True})


@bp.post(f"{FORM}/draft/publish")
def publish_draft(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction() as session:
        drafts.publish_draft(
            session, g.principal, project_id, xml_form_id, request.args.get("version") or None
        )
    return jsonify({"success": True})


@bp.get(f"{FORM}/draft/attachments")
def list_draft_attachments(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        rows = form_reads.attachment_views(session, g.principal, project_id, xml_form_id, True)
    return jsonify(rows)


@bp.get(f"{FORM}/attachments")
def list_attachments(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        rows = form_reads.attachment_views(session, g.principal, project_id, xml_form_id, False)
    return jsonify(rows)


@bp.post(f"{FORM}/draft/attachments/<name>")
def upload_draft_attachment(project_id: int, xml_form_id: str, name: str) -> Response:
    settings = get_settings()
    spool = uploads.read_body(request.environ, settings.max_submission_bytes, settings.spool_path)
    try:
        with get_db().transaction() as session:
            drafts.set_draft_attachment(
                session,
                get_blobs(),
                g.principal,
                project_id,
                xml_form_id,
                name,
                spool.path,
                spool.sha256,
                spool.md5,
                spool.size,
                request.mimetype or "application/octet-stream",
            )
            [row] = [
                r
                for r in form_reads.attachment_views(
                    session, g.principal, project_id, xml_form_id, True
                )
                if r["name"] == name
            ]
    finally:
        spool.close()
    return jsonify(row)


@bp.get(f"{FORM}/versions")
def list_versions(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        views = form_reads.version_views(session, g.principal, project_id, xml_form_id)
    return jsonify(FormOutput(many=True).dump(views))


@bp.get(f"{FORM}/versions/<version>.xml")
def version_xml(project_id: int, xml_form_id: str, version: str) -> Response:
    with get_db().transaction(write=False) as session:
        row = form_reads.get_version(session, g.principal, project_id, xml_form_id, version)
    return Response(row.xml, content_type="application/xml")


@bp.get(f"{FORM}/versions/<version>.xlsx")
def version_xlsform(project_id: int, xml_form_id: str, version: str) -> Response:
    with get_db().transaction(write=False) as session:
        row = form_reads.get_version(session, g.principal, project_id, xml_form_id, version)
        blob = form_reads.source_blob(session, row)
    response = Response(
        iter_blob(get_blobs(), blob.sha256), content_type=blob.content_type, direct_passthrough=True
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{xml_form_id}.xlsx"'
    return response
