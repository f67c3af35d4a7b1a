"""Form drafts: upload a new definition as a draft, try it on a phone with its test token,
attach its media, then publish it (optionally renaming its version). Draft submissions are
kept apart (submissions.draft) and purged when the draft is published or dropped."""

from __future__ import annotations

import hashlib

from lxml import etree
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forms.xform import XF, H
from forms.xml import parse
from server.auth import tokens
from server.auth.permissions import Principal, require
from server.blobs import BlobStore
from server.errors import AlreadyExists, FormIdMismatch, NotFound
from server.models.blobs import Blob
from server.models.deliveries import Delivery
from server.models.forms import Form, FormAttachment, FormVersion
from server.models.submissions import Submission, SubmissionAttachment, SubmissionVersion
from server.models.types import utcnow
from server.services import audit, entities, storage
from server.services.forms import (
    SourceFile,
    add_version,
    check_xform,
    ensure_version_free,
    find_form,
)
from server.services.projects import get_project


def create_draft(
    session: Session,
    store: BlobStore,
    principal: Principal,
    project_id: int,
    xml: bytes,
    source: SourceFile | None,
    warnings: list[str],
    new_form: bool,
    xml_form_id: str | None = None,
) -> Form:
    """Make ``xml`` the form's draft (creating the form when ``new_form``).

    Raises AlreadyExists (new_form and the id is taken), InvalidForm, NotFound.
    """
    get_project(session, project_id)
    schema = check_xform(xml)
    if xml_form_id is not None and schema.form_id != xml_form_id:
        raise FormIdMismatch(f"The definition's form id '{schema.form_id}' is not '{xml_form_id}'.")
    form = find_form(session, project_id, schema.form_id)
    if new_form:
        require(principal, "form.create", project_id)
        if form is not None:
            raise AlreadyExists(
                f"A form with the id '{schema.form_id}' already exists in this "
                "project; upload a new draft of it instead."
            )
        form = Form(project_id=project_id, xml_form_id=schema.form_id, state="open")
        session.add(form)
        session.flush()
    else:
        require(principal, "form.update", project_id)
        if form is None:
            raise NotFound(f"Could not find the form '{schema.form_id}' in this project.")
    old_draft = form.draft_version_id
    version = add_version(
        session,
        store,
        form,
        schema,
        xml,
        source,
        warnings,
        carry_from=old_draft or form.current_version_id,
        published=False,
    )
    form.draft_version_id = version.id
    if old_draft is not None:
        _drop_version(session, form, old_draft)
    form.draft_token = form.draft_token or tokens.new_token()
    form.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        principal.actor_id,
        "form.update.draft.set",
        "form",
        form.id,
        {"xmlFormId": form.xml_form_id, "version": schema.version},
    )
    return form


def copy_published_to_draft(
    session: Session, store: BlobStore, principal: Principal, project_id: int, xml_form_id: str
) -> Form:
    """A new draft from the published definition (pyodk's forms.update with no file)."""
    form = get_form(session, principal, project_id, xml_form_id)
    if form.current_version_id is None:
        raise NotFound(f"The form '{xml_form_id}' has no published version to copy.")
    current = session.get(FormVersion, form.current_version_id)
    return create_draft(
        session, store, principal, project_id, current.xml, None, [], new_form=False
    )


def get_form(session: Session, principal: Principal, project_id: int, xml_form_id: str) -> Form:
    require(principal, "form.read", project_id)
    form = find_form(session, project_id, xml_form_id)
    if form is None:
        raise NotFound(f"Could not find the form '{xml_form_id}' in project {project_id}.")
    return form


def get_draft(
    session: Session, principal: Principal, project_id: int, xml_form_id: str
) -> tuple[Form, FormVersion]:
    require(principal, "draft.read", project_id, xml_form_id)
    form = find_form(session, project_id, xml_form_id)
    if form is None or form.draft_version_id is None:
        raise NotFound(f"The form '{xml_form_id}' has no draft.")
    return form, session.get(FormVersion, form.draft_version_id)


def find_by_draft_token(session: Session, token: str) -> Form | None:
    if not tokens.is_well_formed(token):
        return None
    return session.scalar(
        select(Form).where(Form.draft_token == token, Form.draft_version_id.is_not(None))
    )


def publish_draft(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    version: str | None = None,
) -> FormVersion:
    """Publish the draft, renaming its version first when ``version`` is given.

    Raises NotFound (no draft) or VersionConflict. Test submissions are purged.
    """
    require(principal, "form.update", project_id)
    form, draft = get_draft(session, principal, project_id, xml_form_id)
    if version is not None and version != draft.version:
        _rename_version(draft, version)
    ensure_version_free(session, form, draft.version)
    _purge_draft_submissions(session, form.id)
    entities.ensure_datasets(session, project_id, check_xform(draft.xml), draft.id)
    draft.published_at = utcnow()
    form.current_version_id = draft.id
    form.draft_version_id = None
    form.draft_token = None
    form.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        principal.actor_id,
        "form.update.publish",
        "form",
        form.id,
        {"xmlFormId": xml_form_id, "version": draft.version},
    )
    return draft


def delete_draft(session: Session, principal: Principal, project_id: int, xml_form_id: str) -> None:
    require(principal, "form.update", project_id)
    form, draft = get_draft(session, principal, project_id, xml_form_id)
    form.draft_version_id = None
    form.draft_token = None
    session.flush()
    _drop_version(session, form, draft.id)
    audit.record(session, principal.actor_id, "form.update.draft.delete", "form", form.id)


def set_draft_attachment(
    session: Session,
    store: BlobStore,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    name: str,
    path: str,
    sha256: str,
    md5: str,
    size: int,
    content_type: str,
) -> FormAttachment:
    """Upload or replace a media or data file the draft expects; raise NotFound otherwise."""
    require(principal, "form.update", project_id)
    _, draft = get_draft(session, principal, project_id, xml_form_id)
    return set_attachment(
        session, store, principal, draft, name, path, sha256, md5, size, content_type
    )


def set_attachment(
    session: Session,
    store: BlobStore,
    principal: Principal,
    version: FormVersion,
    name: str,
    path: str,
    sha256: str,
    md5: str,
    size: int,
    content_type: str,
) -> FormAttachment:
    """Store a file in one of the slots a form version expects; NotFound for other names."""
    slot = session.scalar(
        select(FormAttachment).where(
            FormAttachment.form_version_id == version.id, FormAttachment.name == name
        )
    )
    if slot is None:
        raise NotFound(f"The form does not expect a file named '{name}'.")
    slot.blob_id = storage.store_file(session, store, path, sha256, md5, size, content_type)
    slot.dataset_id = None  # an uploaded file wins over an entity list of the same name
    slot.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        principal.actor_id,
        "form.attachment.update",
        "form",
        version.form_id,
        {"name": name},
    )
    return slot


def _rename_version(draft: FormVersion, version: str) -> None:
    """Rewrite the version attribute of the instance root (Central's ?version=)."""
    root = parse(draft.xml)
    model = root.find(f"{{{H}}}head/{{{XF}}}model")
    instance = model.find(f"{{{XF}}}instance")
    data = next(c for c in instance if isinstance(c.tag, str))
    data.set("version", version)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    draft.xml, draft.version = xml, version
    draft.md5 = hashlib.md5(xml, usedforsecurity=False).hexdigest()
    draft.sha256 = hashlib.sha256(xml).hexdigest()


def _purge_draft_submissions(session: Session, form_id: int) -> None:
    ids = select(Submission.id).where(Submission.form_id == form_id, Submission.draft)
    version_ids = select(SubmissionVersion.id).where(SubmissionVersion.submission_id.in_(ids))
    session.execute(
        delete(SubmissionAttachment).where(
            SubmissionAttachment.submission_version_id.in_(version_ids)
        )
    )
    session.execute(delete(Delivery).where(Delivery.submission_id.in_(ids)))
    session.execute(delete(SubmissionVersion).where(SubmissionVersion.submission_id.in_(ids)))
    session.execute(delete(Submission).where(Submission.form_id == form_id, Submission.draft))


def _drop_version(session: Session, form: Form, version_id: int) -> None:
    """Remove an unpublished definition, its slots and its test submissions."""
    _purge_draft_submissions(session, form.id)
    session.execute(delete(FormAttachment).where(FormAttachment.form_version_id == version_id))
    session.execute(
        delete(FormVersion).where(FormVersion.id == version_id, FormVersion.published_at.is_(None))
    )


def draft_attachments(session: Session, form_version_id: int) -> list[tuple]:
    """(name, type, exists, updated_at, md5 or None, linked to an entity list) of each file
    the version expects."""
    return list(
        session.execute(
            select(
                FormAttachment.name,
                FormAttachment.type,
                Blob.id.is_not(None),
                FormAttachment.updated_at,
                Blob.md5,
                FormAttachment.dataset_id.is_not(None),
            )
            .outerjoin(Blob, Blob.id == FormAttachment.blob_id)
            .where(FormAttachment.form_version_id == form_version_id)
            .order_by(FormAttachment.name)
        ).all()
    )
