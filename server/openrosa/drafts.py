"""Trying a draft on a phone: formList, XML, manifest, media and submission under
/projects/{p}/forms/{f}/draft, reached with the draft's test token (/v1/test/{token}/...) or
by a user with rights on the project. Test submissions are kept apart from real data."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, g

from server.auth.permissions import require
from server.db import get_db
from server.openrosa import bp, xml
from server.openrosa.formlist import XML_TYPE, media_response, project_url
from server.openrosa.submissions import receive
from server.services import drafts
from server.services import forms as form_service

DRAFT = "/projects/<int:project_id>/forms/<xml_form_id>/draft"


def _draft(session, project_id: int, xml_form_id: str):
    require(g.principal, "draft.read", project_id, xml_form_id)
    return drafts.get_draft(session, g.principal, project_id, xml_form_id)


@bp.get(f"{DRAFT}/formList")
def draft_form_list(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        form, version = _draft(session, project_id, xml_form_id)
        has_media = bool(form_service.list_attachments(session, version.id, g.principal))
    item = form_service.CollectForm(
        form.xml_form_id, version.title, version.version, version.md5, has_media
    )
    return Response(
        xml.form_list([item], project_url(project_id), draft=True), content_type=XML_TYPE
    )


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/draft.xml")
def draft_xml(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        _, version = _draft(session, project_id, xml_form_id)
    return Response(
        version.xml, content_type="application/xml", headers={"ETag": f'"{version.md5}"'}
    )


@bp.get(f"{DRAFT}/manifest")
def draft_manifest(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        _, version = _draft(session, project_id, xml_form_id)
        files = form_service.list_attachments(session, version.id, g.principal)
    form_url = f"{project_url(project_id)}/forms/{quote(xml_form_id, safe='')}/draft"
    return Response(xml.manifest(files, form_url, project_url(project_id)), content_type=XML_TYPE)


@bp.get(f"{DRAFT}/attachments/<name>")
def draft_attachment(project_id: int, xml_form_id: str, name: str) -> Response:
    with get_db().transaction(write=False) as session:
        _, version = _draft(session, project_id, xml_form_id)
        files = form_service.list_attachments(session, version.id, g.principal)
    return media_response(files, name, project_id)


@bp.get(f"{DRAFT}/submission")
def draft_submission_preflight(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        _draft(session, project_id, xml_form_id)
    return Response(status=204)


@bp.post(f"{DRAFT}/submission")
def post_draft_submission(project_id: int, xml_form_id: str) -> Response:
    return receive(project_id, xml_form_id)
