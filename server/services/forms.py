"""Forms: publish compiled XForms (with their source XLSForm), list them for Collect, find the
version a submission names, and read a version's schema."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, defer

import forms
from server.auth.permissions import SYSTEM, Principal, require
from server.blobs import BlobStore
from server.errors import (
    AlreadyExists,
    FormNotOpen,
    FormVersionNotFound,
    InvalidForm,
    NotFound,
    VersionConflict,
)
from server.models.blobs import Blob
from server.models.entities import Dataset
from server.models.forms import FORM_STATES, FORWARD_POLICIES, Form, FormAttachment, FormVersion
from server.models.types import utcnow
from server.services import audit, entities, storage
from server.services.projects import get_project


@dataclass(frozen=True, slots=True)
class SourceFile:
    """The XLSForm a version was compiled from, already on disk."""

    path: str
    filename: str
    content_type: str


@dataclass(frozen=True, slots=True)
class CollectForm:
    """What formList needs about one form."""

    xml_form_id: str
    title: str
    version: str
    md5: str
    has_attachments: bool


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    name: str
    type: str
    sha256: str | None
    md5: str | None
    content_type: str | None
    dataset: str | None = None  # served from this entity list, as CSV


def publish_form(
    session: Session,
    store: BlobStore,
    principal: Principal,
    project_id: int,
    xml: bytes,
    source: SourceFile | None = None,
    warnings: list[str] | None = None,
) -> FormVersion:
    """Publish an XForm as the form's current version (the CLI's and ?publish=true's path).

    Raises InvalidForm (not an XForm, no meta/instanceID), VersionConflict (this id and
    version are already published) or NotFound (project).
    """
    get_project(session, project_id)
    schema = check_xform(xml)
    form = find_form(session, project_id, schema.form_id)
    creating = form is None
    if creating:
        require(principal, "form.create", project_id)
        form = Form(project_id=project_id, xml_form_id=schema.form_id, state="open")
        session.add(form)
        session.flush()
    else:
        require(principal, "form.update", project_id)
        ensure_version_free(session, form, schema.version)
    version = add_version(
        session,
        store,
        form,
        schema,
        xml,
        source,
        warnings,
        carry_from=form.current_version_id,
        published=True,
    )
    entities.ensure_datasets(session, project_id, schema, version.id)
    form.current_version_id = version.id
    form.updated_at = None if creating else utcnow()
    session.flush()
    audit.record(
        session,
        principal.actor_id,
        "form.create" if creating else "form.update.publish",
        "form",
        form.id,
        {"xmlFormId": schema.form_id, "version": schema.version},
    )
    return version


def publish_new_form(
    session: Session,
    store: BlobStore,
    principal: Principal,
    project_id: int,
    xml: bytes,
    source: SourceFile | None,
    warnings: list[str],
) -> Form:
    """Create and publish a form in one step (?publish=true); AlreadyExists if the id is taken."""
    schema = check_xform(xml)
    if find_form(session, project_id, schema.form_id) is not None:
        raise AlreadyExists(
            f"A form with the id '{schema.form_id}' already exists in this "
            "project; upload a new draft of it instead."
        )
    publish_form(session, store, principal, project_id, xml, source, warnings)
    return find_form(session, project_id, schema.form_id)


def check_xform(xml: bytes) -> forms.FormSchema:
    """Read an XForm and check it can take submissions; raise InvalidForm."""
    try:
        schema = forms.read_xform(xml)
    except forms.FormError as e:
        raise InvalidForm(str(e)) from None
    if schema.field(f"/{schema.root_name}/meta/instanceID") is None:
        raise InvalidForm("The form has no meta/instanceID; add it (pyxform adds it by default).")
    if schema.form_id.lower().endswith((".xls", ".xlsx", ".xml")):
        raise InvalidForm(f"The form id '{schema.form_id}' must not end in a file extension.")
    return schema


def find_form(session: Session, project_id: int, xml_form_id: str) -> Form | None:
    return session.scalar(
        select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id)
    )


def ensure_version_free(session: Session, form: Form, version: str) -> None:
    """Raise VersionConflict if this form already has a published version of that name."""
    taken = session.scalar(
        select(FormVersion.id).where(
            FormVersion.form_id == form.id,
            FormVersion.version == version,
            FormVersion.published_at.is_not(None),
        )
    )
    if taken is not None:
        raise VersionConflict(
            f"You tried to publish the form '{form.xml_form_id}' with version '{version}', but "
            "a published form has already existed in this project with those identifiers. "
            "Please choose a new version and try again."
        )


def add_version(
    session: Session,
    store: BlobStore,
    form: Form,
    schema: forms.FormSchema,
    xml: bytes,
    source: SourceFile | None,
    warnings: list[str] | None,
    carry_from: int | None,
    published: bool,
) -> FormVersion:
    """Store one definition (exact bytes, hashes, source XLSForm) with its attachment slots."""
    version = FormVersion(
        form_id=form.id,
        version=schema.version,
        title=schema.title,
        xml=xml,
        md5=hashlib.md5(xml, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(xml).hexdigest(),
        key_public=schema.public_key,
        warnings="\n".join(warnings) if warnings else None,
        published_at=utcnow() if published else None,
    )
    if source is not None:
        sha, md5, size = storage.hash_file(source.path)
        version.xls_blob_id = storage.store_file(
            session, store, source.path, sha, md5, size, source.content_type
        )
        version.xls_filename = source.filename
    session.add(version)
    session.flush()
    _carry_attachments(session, schema, version.id, carry_from)
    return version


def _carry_attachments(session, schema, version_id, previous_id) -> None:
    """Create the slots the new version expects, keeping files already uploaded by name."""
    kept = {}
    if previous_id is not None:
        kept = dict(
            session.execute(
                select(FormAttachment.name, FormAttachment.blob_id).where(
                    FormAttachment.form_version_id == previous_id
                )
            ).all()
        )
    for media in schema.media:
        session.add(
            FormAttachment(
                form_version_id=version_id,
                name=media.name,
                type=media.type,
                blob_id=kept.get(media.name),
                updated_at=utcnow(),
            )
        )


def list_for_collect(
    session: Session, principal: Principal, project_id: int, xml_form_id: str | None = None
) -> list[CollectForm]:
    """Published, open forms the principal may read, ordered by title (Central's formList)."""
    require(principal, "form.read", project_id)
    get_project(session, project_id)
    query = (
        select(
            Form.xml_form_id,
            FormVersion.title,
            FormVersion.version,
            FormVersion.md5,
            FormVersion.id,
        )
        .join(FormVersion, FormVersion.id == Form.current_version_id)
        .where(Form.project_id == project_id, Form.state == "open")
        .order_by(FormVersion.title, Form.xml_form_id)
    )
    if xml_form_id:
        query = query.where(Form.xml_form_id == xml_form_id)
    if principal.forms is not None:  # an app user: only its assigned forms
        query = query.where(Form.xml_form_id.in_(sorted(principal.forms)))
    rows = session.execute(query).all()
    with_media = (
        set(
            session.scalars(
                select(FormAttachment.form_version_id)
                .where(FormAttachment.form_version_id.in_([r.id for r in rows]))
                .distinct()
            )
        )
        if rows
        else set()
    )
    return [CollectForm(r.xml_form_id, r.title, r.version, r.md5, r.id in with_media) for r in rows]


def get_published(
    session: Session, principal: Principal, project_id: int, xml_form_id: str
) -> FormVersion:
    """The current published version of a form the principal may read; raise NotFound."""
    require(principal, "form.read", project_id, xml_form_id)
    version = session.scalar(
        select(FormVersion)
        .join(Form, Form.current_version_id == FormVersion.id)
        .where(
            Form.project_id == project_id, Form.xml_form_id == xml_form_id, Form.state != "closed"
        )
    )
    if version is None:
        raise NotFound(f"Could not find the form '{xml_form_id}' in project {project_id}.")
    return version


def list_attachments(
    session: Session, form_version_id: int, principal: Principal | None = None
) -> list[AttachmentFile]:
    """The files a version expects; an entity list's hash is computed for ``principal``."""
    rows = session.execute(
        select(
            FormAttachment.name,
            FormAttachment.type,
            Blob.sha256,
            Blob.md5,
            Blob.content_type,
            Dataset,
        )
        .outerjoin(Blob, Blob.id == FormAttachment.blob_id)
        .outerjoin(Dataset, Dataset.id == FormAttachment.dataset_id)
        .where(FormAttachment.form_version_id == form_version_id)
        .order_by(FormAttachment.name)
    ).all()
    files = []
    for name, kind, sha256, md5, content_type, dataset in rows:
        if dataset is not None and sha256 is None:
            md5 = entities.openrosa_hash(session, principal or SYSTEM, dataset)
            files.append(AttachmentFile(name, kind, None, md5, "text/csv", dataset.name))
        else:
            files.append(AttachmentFile(name, kind, sha256, md5, content_type))
    return files


def get_for_submission(
    session: Session, project_id: int, xml_form_id: str, version: str, draft: bool = False
) -> tuple[Form, FormVersion]:
    """The form and version a submission names: a published one, or the draft when ``draft``.
    One query on the hot path; the error cases are told apart only when it finds nothing.

    Raises NotFound (no such form or draft), FormVersionNotFound, FormNotOpen (closed).
    """
    row = session.execute(
        _FOR_SUBMISSION[draft],
        {"project_id": project_id, "xml_form_id": xml_form_id, "version": version},
    ).first()
    if row is None:
        form = find_form(session, project_id, xml_form_id)
        if form is None or (form.draft_version_id if draft else form.current_version_id) is None:
            raise NotFound(
                f"Could not find the form{' draft' if draft else ''} "
                f"'{xml_form_id}' in this project."
            )
        raise FormVersionNotFound(
            f"The form version specified in this submission '{version}' does not exist."
        )
    form, form_version = row
    if not draft and form.state not in ("open", "closing"):
        raise FormNotOpen()
    return form, form_version


def _for_submission(draft: bool):
    query = (
        select(Form, FormVersion)
        .join(FormVersion, FormVersion.form_id == Form.id)
        .options(defer(FormVersion.xml))
        .where(
            Form.project_id == bindparam("project_id"),
            Form.xml_form_id == bindparam("xml_form_id"),
            FormVersion.version == bindparam("version"),
        )
    )
    if draft:
        return query.where(FormVersion.id == Form.draft_version_id)
    return query.where(FormVersion.published_at.is_not(None))


#: Built once (every submission reads one); the form's state is read anew each time.
_FOR_SUBMISSION = {draft: _for_submission(draft) for draft in (False, True)}


def schema_of(session: Session, form_version: FormVersion) -> forms.FormSchema:
    """The parsed schema of a version, cached by its sha256 (the XML never changes)."""
    cached = _SCHEMAS.get(form_version.sha256)
    if cached is None:
        cached = forms.read_xform(form_version.xml)
        _SCHEMAS[form_version.sha256] = cached
    return cached


def schema_by_id(session: Session, form_version_id: int, sha256: str) -> forms.FormSchema:
    """The same, when only the version's id and sha256 are at hand: its XML is read from the
    database only the first time."""
    cached = _SCHEMAS.get(sha256)
    if cached is None:
        cached = schema_of(session, session.get(FormVersion, form_version_id))
    return cached


# Form versions are immutable and few (tens per server), so this cache stays small.
_SCHEMAS: dict[str, forms.FormSchema] = {}


def set_state(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, state: str
) -> None:
    """Open, closing (unlisted, still accepting) or closed (refusing submissions)."""
    _set(session, principal, project_id, xml_form_id, "state", state, FORM_STATES)


def set_forward_policy(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, policy: str
) -> None:
    """on_receipt (forward each new version) or on_approval (forward once approved)."""
    _set(session, principal, project_id, xml_form_id, "forward_policy", policy, FORWARD_POLICIES)


def _set(session, principal, project_id, xml_form_id, attribute, value, allowed) -> None:
    require(principal, "form.update", project_id)
    if value not in allowed:
        raise InvalidForm(f"Unknown value '{value}'; use one of {', '.join(allowed)}.")
    form = find_form(session, project_id, xml_form_id)
    if form is None:
        raise NotFound(f"Could not find the form '{xml_form_id}' in project {project_id}.")
    setattr(form, attribute, value)
    form.updated_at = utcnow()
    audit.record(
        session, principal.actor_id, f"form.update.{attribute}", "form", form.id, {attribute: value}
    )
