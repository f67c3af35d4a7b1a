"""Forms: upload an XLSForm (a new form, or a new draft of one), read its errors and warnings
in plain words, try the draft on a phone, publish it, see the versions."""

from __future__ import annotations

import tempfile

from flask import Response, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

import forms
from server.db import get_db
from server.errors import Problem
from server.extension import get_blobs, get_settings
from server.services import drafts, form_reads, projects
from server.services import forms as form_service
from server.web import bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"


@bp.route("/projects/<int:project_id>/forms/new", methods=["GET", "POST"])
def upload_form(project_id: int) -> Response | str:
    return _upload(project_id, None)


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/draft")
def upload_draft(project_id: int, xml_form_id: str) -> Response | str:
    return _upload(project_id, xml_form_id)


def _upload(project_id: int, xml_form_id: str | None) -> Response | str:
    with get_db().transaction(write=False) as session:
        project = projects.get_project(session, project_id)
    if request.method == "GET":
        return render_template("web/upload.html", project=project, xml_form_id=xml_form_id)
    request.max_content_length = forms.MAX_FORM_BYTES
    upload = request.files.get("xlsform")
    if upload is None or not upload.filename:
        return _refused(project, xml_form_id, _("Choose an XLSForm file (.xlsx) to upload."))
    suffix = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    if suffix not in ("xlsx", "xls"):
        return _refused(
            project, xml_form_id, _("The file must be an XLSForm spreadsheet (.xlsx or .xls).")
        )
    with tempfile.NamedTemporaryFile(suffix=f".{suffix}") as spool:
        upload.save(spool)
        spool.flush()
        spool.seek(0)
        try:
            compiled = forms.compile_xlsform(
                spool.read(), filename=f"form.{suffix}", fallback_form_id=xml_form_id
            )
        except forms.FormError as e:
            return _refused(project, xml_form_id, _("The XLSForm has an error."), e)
        source = form_service.SourceFile(
            spool.name, f"{xml_form_id or 'form'}.{suffix}", XLSX if suffix == "xlsx" else XLS
        )
        try:
            with get_db().transaction() as session:
                form = drafts.create_draft(
                    session,
                    get_blobs(),
                    g.principal,
                    project_id,
                    compiled.xform.encode() if isinstance(compiled.xform, str) else compiled.xform,
                    source,
                    compiled.warnings,
                    xml_form_id is None,
                    xml_form_id,
                )
                new_id = form.xml_form_id
        except Problem as problem:
            if problem.status in (400, 409):
                return _refused(project, xml_form_id, problem.message)
            raise
    return redirect(url_for("web.show_form", project_id=project_id, xml_form_id=new_id), 303)


def _refused(project, xml_form_id, sentence: str, error: forms.FormError | None = None):
    html = render_template(
        "web/upload.html", project=project, xml_form_id=xml_form_id, error=sentence, detail=error
    )
    return Response(html, status=400, content_type="text/html; charset=utf-8")


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>")
def show_form(project_id: int, xml_form_id: str) -> str:
    with get_db().transaction(write=False) as session:
        project = projects.get_project(session, project_id)
        page = form_reads.form_page(
            session, g.principal, project_id, xml_form_id, get_settings().public_url
        )
    return render_template("web/form.html", project=project, page=page)


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/draft/publish")
def publish_draft(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction() as session:
        drafts.publish_draft(session, g.principal, project_id, xml_form_id)
    return redirect(
        url_for("web.show_form", project_id=project_id, xml_form_id=xml_form_id, done="published"),
        303,
    )


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/draft/delete")
def delete_draft(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction() as session:
        drafts.delete_draft(session, g.principal, project_id, xml_form_id)
    return redirect(url_for("web.show_form", project_id=project_id, xml_form_id=xml_form_id), 303)
