"""Reads of forms for the API: one view per form (published or draft), versions, attachments
and the source XLSForm of a version."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, reaches_form, require
from server.errors import NotFound
from server.models.blobs import Blob
from server.models.forms import Form, FormVersion
from server.services import app_users, drafts


@dataclass(frozen=True, slots=True)
class FormView:
    project_id: int
    xml_form_id: str
    name: str | None
    version: str | None
    hash: str | None
    state: str
    forward_policy: str
    created_at: datetime
    updated_at: datetime | None
    published_at: datetime | None
    draft_token: str | None = None
    draft_url: str | None = None  # the Collect server URL for trying the draft
    draft_qr: str | None = None  # Collect's settings QR payload for that URL
    enketo_id: None = None
    key_id: None = None


def _view(form: Form, version: FormVersion | None, draft: bool = False) -> FormView:
    return FormView(
        project_id=form.project_id,
        xml_form_id=form.xml_form_id,
        name=version.title if version else None,
        version=version.version if version else None,
        hash=version.md5 if version else None,
        state=form.state,
        forward_policy=form.forward_policy,
        created_at=form.created_at,
        updated_at=form.updated_at,
        published_at=version.published_at if version else None,
        draft_token=form.draft_token if draft else None,
    )


def form_view(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    draft: bool = False,
    public_url: str = "",
) -> FormView:
    """The form as its published version shows it (or its draft, with the URL and QR code
    that set a phone up to try it); raise NotFound."""
    if draft:
        form, version = drafts.get_draft(session, principal, project_id, xml_form_id)
        url = (
            f"{public_url}/v1/test/{form.draft_token}/projects/{project_id}/forms/"
            f"{xml_form_id}/draft"
        )
        title = f"[Nháp] {version.title}"
        return dataclasses.replace(
            _view(form, version, draft=True),
            draft_url=url,
            draft_qr=app_users.collect_qr_payload(url, title, "📝"),
        )
    form = drafts.get_form(session, principal, project_id, xml_form_id)
    version = session.get(FormVersion, form.current_version_id or form.draft_version_id)
    return _view(form, version)


def list_form_views(session: Session, principal: Principal, project_id: int) -> list[FormView]:
    require(principal, "form.read", project_id)
    forms = session.scalars(
        select(Form).where(Form.project_id == project_id).order_by(Form.xml_form_id)
    ).all()
    forms = [f for f in forms if reaches_form(principal, f.xml_form_id)]
    return [
        _view(f, session.get(FormVersion, f.current_version_id or f.draft_version_id))
        for f in forms
    ]


def version_views(
    session: Session, principal: Principal, project_id: int, xml_form_id: str
) -> list[FormView]:
    """Published versions, newest first."""
    form = drafts.get_form(session, principal, project_id, xml_form_id)
    versions = session.scalars(
        select(FormVersion)
        .where(FormVersion.form_id == form.id, FormVersion.published_at.is_not(None))
        .order_by(FormVersion.published_at.desc(), FormVersion.id.desc())
    ).all()
    return [_view(form, v) for v in versions]


def get_version(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, version: str
) -> FormVersion:
    form = drafts.get_form(session, principal, project_id, xml_form_id)
    row = session.scalar(
        select(FormVersion).where(
            FormVersion.form_id == form.id,
            FormVersion.version == version,
            FormVersion.published_at.is_not(None),
        )
    )
    if row is None:
        raise NotFound(f"The form '{xml_form_id}' has no published version '{version}'.")
    return row


def source_blob(session: Session, version: FormVersion) -> Blob:
    """The XLSForm this version was compiled from; NotFound when it was uploaded as XML."""
    if version.xls_blob_id is None:
        raise NotFound("This version was uploaded as an XForm; there is no XLSForm to download.")
    return session.get(Blob, version.xls_blob_id)


def attachment_views(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, draft: bool
) -> list[dict]:
    """Central's FormAttachment list: name, type, hash (md5 of the file, null until it is
    uploaded), exists, blobExists, datasetExists (an entity list), updatedAt."""
    if draft:
        _, version = drafts.get_draft(session, principal, project_id, xml_form_id)
        version_id = version.id
    else:
        form = drafts.get_form(session, principal, project_id, xml_form_id)
        if form.current_version_id is None:
            raise NotFound(f"The form '{xml_form_id}' is not published.")
        version_id = form.current_version_id
    return [
        {
            "name": name,
            "type": kind,
            "hash": md5,
            "exists": bool(exists or dataset),
            "blobExists": bool(exists),
            "datasetExists": bool(dataset),
            "updatedAt": updated.isoformat() if updated else None,
        }
        for name, kind, exists, updated, md5, dataset in drafts.draft_attachments(
            session, version_id
        )
    ]


@dataclass(frozen=True, slots=True)
class DraftInfo:
    version: str
    title: str
    warnings: list[str]
    missing_files: list[str]  # media the draft expects and nobody uploaded yet
    test_url: str
    test_qr: str


@dataclass(frozen=True, slots=True)
class FormPage:
    form: FormView
    draft: DraftInfo | None
    versions: list[FormView]
    files: list[dict]  # of the published version


def form_page(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, public_url: str
) -> FormPage:
    """What the form's page shows: the form, its draft with warnings, versions and files."""
    view = form_view(session, principal, project_id, xml_form_id)
    form = drafts.get_form(session, principal, project_id, xml_form_id)
    draft = None
    if form.draft_version_id is not None:
        draft_view = form_view(session, principal, project_id, xml_form_id, True, public_url)
        version = session.get(FormVersion, form.draft_version_id)
        missing = [
            name
            for name, _kind, present, _updated, _md5, dataset in drafts.draft_attachments(
                session, version.id
            )
            if not present and not dataset  # an entity list is filled by the server
        ]
        draft = DraftInfo(
            version.version,
            version.title,
            [w for w in (version.warnings or "").split("\n") if w.strip()],
            missing,
            draft_view.draft_url or "",
            draft_view.draft_qr or "",
        )
    files = (
        attachment_views(session, principal, project_id, xml_form_id, False)
        if form.current_version_id is not None
        else []
    )
    return FormPage(view, draft, version_views(session, principal, project_id, xml_form_id), files)
