"""Intake of OpenRosa submissions: Central's deduplication rules (odk-protocol.md section 5)
as a pure classifier, and the writes that follow. Never touches flask.request; never commits.

The unique index on (form_id, instance_id) is the final judge. A POST that edits nothing
(no deprecatedID), almost every one a phone sends, is first written as new with
``INSERT ... ON CONFLICT DO NOTHING``: no query before it, no savepoint. Only when that insert
finds the instanceID taken (a resend, a split upload, a conflict, a race another device won)
do the rules read what is stored and decide, their writes in a savepoint, and on an
IntegrityError they decide again. Edits race the same way: the unique index on (form_id,
deprecated_id) lets one edit supersede a version, and the others, deciding again, find it no
longer current (409.9).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import forms
from forms import InstanceEnvelope, answers
from server.auth.permissions import Principal, require, require_wards
from server.blobs import BlobStore
from server.errors import (
    AlreadyExists,
    DeprecatingOldSubmission,
    FormIdMismatch,
    InsufficientRights,
    MalformedXml,
    MissingParameter,
    Problem,
    SubmissionDeleted,
    UnexpectedValue,
    UpdateTargetNotFound,
    XmlConflict,
)
from server.models.submissions import Submission, SubmissionAttachment, SubmissionVersion
from server.models.types import utcnow
from server.services import (
    audit,
    deliveries,
    duplicates,
    entities,
    indicator_facts,
    storage,
)
from server.services import forms as form_service
from server.uploads import Part

WARD_FIELD = entities.SCOPE_PROPERTY  # domain.md: the commune/ward code ("ma_xa")
# Collect, Enketo and pyxform's jr:preload="uid" write `uuid:` and a UUID; Central makes a bare
# UUID for a submission without one. Letters, digits and dashes after `uuid:` (the shape, not
# the UUID's exact grouping): nothing a spreadsheet runs (=HYPERLINK in a CSV export), no
# separator a file or object name could fold, at most 64 characters.
INSTANCE_ID = re.compile(
    r"uuid:[0-9A-Za-z][0-9A-Za-z-]{0,63}|[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
)


def check_instance_ids(instance_id: str | None, deprecated_id: str | None) -> None:
    """Refuse an instanceID or deprecatedID without Collect's shape (Central's 400.8)."""
    for name, value in (("instanceID", instance_id), ("deprecatedID", deprecated_id)):
        if value is not None and not INSTANCE_ID.fullmatch(value):
            raise UnexpectedValue(
                f"Unexpected {name} value; expected uuid: followed by a UUID, as Collect writes.",
                field=name,
            )


class Action(Enum):
    NEW = "new"
    ADD_ATTACHMENTS = "add_attachments"
    EDIT = "edit"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class VersionFacts:
    """What the rules need to know about an existing version."""

    sha256: str
    current: bool
    deleted: bool


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    problem: Problem | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    action: Action
    submission_id: int | None
    version_id: int | None
    instance_id: str
    attachments_stored: int
    problem: Problem | None = None


def classify_incoming(
    incoming_sha256: str,
    instance_id: str,
    deprecated_id: str | None,
    existing: VersionFacts | None,
    deprecated: VersionFacts | None,
) -> Decision:
    """Decide what one POST means, from the facts alone (Central's openRosaSubmission)."""
    if existing is not None:
        if existing.deleted:
            return _conflict(SubmissionDeleted())
        if existing.current and existing.sha256 == incoming_sha256:
            return Decision(Action.ADD_ATTACHMENTS)
        if deprecated_id and deprecated is not None and deprecated.current:
            return _conflict(
                AlreadyExists(
                    f"A resource already exists with instanceID value(s) of {instance_id}."
                )
            )
        if existing.sha256 != incoming_sha256:
            return _conflict(XmlConflict())
        return _conflict(_out_of_date(instance_id))
    if not deprecated_id:
        return Decision(Action.NEW)
    if deprecated is None:
        return _conflict(
            UpdateTargetNotFound(
                "You tried to update an existing submission, but we can't find that submission "
                f"to update ({deprecated_id})."
            )
        )
    if deprecated.deleted:
        return _conflict(SubmissionDeleted())
    if not deprecated.current:
        return _conflict(_out_of_date(deprecated_id))
    return Decision(Action.EDIT)


def _conflict(problem: Problem) -> Decision:
    return Decision(Action.CONFLICT, problem)


def _out_of_date(instance_id: str) -> Problem:
    return DeprecatingOldSubmission(
        f"You tried to update a submission, but the copy you were editing ({instance_id}) is "
        "now out of date. Please get the latest version that has been submitted, and try again."
    )


@dataclass(frozen=True, slots=True)
class Incoming:
    """One parsed POST: its envelope, exact XML, attachment parts and request facts."""

    envelope: InstanceEnvelope
    xml: bytes
    xml_sha256: str
    parts: dict[str, Part]
    device_id: str | None
    user_agent: str | None
    draft_of: str | None = None  # the form id whose draft this POST tests


def incoming_from(
    xml: Part,
    parts: dict[str, Part],
    device_id: str | None,
    user_agent: str | None,
    draft_of: str | None = None,
) -> Incoming:
    """Parse the submission XML (Collect's multipart part or the REST API's body).

    Raises MalformedXml or MissingParameter (no form id, an encrypted one without meta)."""
    raw = xml.read_all()
    try:
        envelope = forms.read_instance(raw)
    except forms.XmlError as e:
        raise MalformedXml(str(e)) from None
    except forms.InstanceError as e:
        raise MissingParameter(str(e)) from None
    return Incoming(
        envelope=envelope,
        xml=raw,
        xml_sha256=xml.sha256,
        parts=parts,
        device_id=(device_id or "").strip()[:255] or None,
        user_agent=(user_agent or "")[:255] or None,
        draft_of=draft_of,
    )


def ingest_submission(
    session: Session,
    store: BlobStore,
    principal: Principal,
    project_id: int,
    incoming: Incoming,
    targets: list[str] | tuple[str, ...] = (),
    verb: str = "submission.create",
) -> IngestResult:
    """Store one submission POST by the rules; a conflict comes back in ``result.problem``.

    A new version of a form whose policy is on_receipt gets one outbox row per target, in
    the same transaction. With ``incoming.draft_of`` (a form id) the submission tests that
    form's draft: it is kept apart and never forwarded.

    Raises NotFound, FormVersionNotFound, FormNotOpen, InsufficientRights. A conflict is
    returned rather than raised so that the caller can commit its audit row.
    """
    envelope = incoming.envelope
    draft = incoming.draft_of is not None
    if draft and envelope.form_id != incoming.draft_of:
        raise FormIdMismatch(
            f"The submission is for '{envelope.form_id}', not the draft of '{incoming.draft_of}'."
        )
    form, form_version = form_service.get_for_submission(
        session, project_id, envelope.form_id, envelope.version, draft
    )
    # Collect and the REST API's POST create; the REST API's PUT edits with submission.update.
    require(principal, "draft.submit" if draft else verb, project_id, envelope.form_id)
    schema = form_service.schema_of(session, form_version)
    expected = envelope.attachment_names(schema.binary_paths)
    too_long = [
        v for v in (envelope.instance_id, envelope.deprecated_id, *expected) if v and len(v) > 255
    ]
    if too_long:  # the columns hold 255 characters; no phone writes such ids or file names
        raise MissingParameter("An instanceID, deprecatedID or file name is over 255 characters.")
    check_instance_ids(envelope.instance_id, envelope.deprecated_id)
    listing = listing_facts(schema, envelope.root) if envelope.encrypted_key is None else {}
    facts = (
        indicator_facts.facts_of(envelope.form_id, envelope.root)
        if not draft and envelope.encrypted_key is None
        else None
    )
    instance_id = envelope.instance_id or f"uuid:{uuid.uuid4()}"
    after = _After(session, principal, project_id, schema, envelope, facts, form, targets, draft)
    if envelope.deprecated_id is None:
        fresh = _try_new(
            session, store, principal, form.id, form_version.id, instance_id, incoming,
            expected, listing, draft, project_id, verb,
        )  # fmt: skip
        if fresh is not None:
            after(fresh, instance_id)
            return fresh
    for attempt in range(3):
        existing, deprecated = _facts(session, form.id, instance_id, envelope.deprecated_id)
        decision = classify_incoming(
            incoming.xml_sha256,
            instance_id,
            envelope.deprecated_id,
            existing and existing[1],
            deprecated and deprecated[1],
        )
        if decision.action is Action.CONFLICT:
            audit.record(
                session,
                principal.actor_id,
                "submission.conflict",
                "form",
                form.id,
                {
                    "instanceId": instance_id,
                    "code": decision.problem.code,
                    "deviceId": incoming.device_id,
                },
            )
            return IngestResult(Action.CONFLICT, None, None, instance_id, 0, decision.problem)
        if not draft:
            require_write_rights(
                session, principal, project_id, verb, decision.action, deprecated, listing
            )
        try:
            with session.begin_nested():
                result = _apply(
                    session,
                    store,
                    principal,
                    form.id,
                    form_version.id,
                    instance_id,
                    incoming,
                    expected,
                    decision.action,
                    existing,
                    deprecated,
                    listing,
                )
                if result.action is not Action.ADD_ATTACHMENTS:
                    after(result, instance_id)
                return result
        except IntegrityError:
            if attempt == 2:
                raise
            continue  # another device stored it first: decide again with its row in view
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class _After:
    """What follows a new version, on either path: the entity its block declares (and, for a
    client, the check for suspected duplicates), its indicator facts, its outbox rows."""

    session: Session
    principal: Principal
    project_id: int
    schema: forms.FormSchema
    envelope: InstanceEnvelope
    facts: dict | None
    form: object
    targets: list[str] | tuple[str, ...]
    draft: bool

    def __call__(self, result: IngestResult, instance_id: str) -> None:
        session = self.session
        if not self.draft:
            entity = entities.process_submission(
                session,
                self.principal,
                self.project_id,
                self.schema,
                self.envelope.root,
                result.version_id,
            )
            duplicates.check_if_client(session, entity)
        if self.facts is not None:
            indicator_facts.write(
                session,
                self.project_id,
                result.submission_id,
                instance_id,
                self.principal.actor_id,
                self.facts,
                edit=result.action is Action.EDIT,
            )
        if not self.draft and self.form.forward_policy == "on_receipt" and self.targets:
            deliveries.enqueue(
                session,
                list(self.targets),
                result.submission_id,
                result.version_id,
                self.form.id,
                "received",
            )


def _if_new(dialect, table):
    """INSERT ... ON CONFLICT (form_id, instance_id) DO NOTHING RETURNING id, built once."""
    return (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["form_id", "instance_id"])
        .returning(table.c.id)
    )


_IF_NEW = {
    name: (_if_new(dialect, Submission.__table__), _if_new(dialect, SubmissionVersion.__table__))
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _try_new(
    session, store, principal, form_id, form_version_id, instance_id, incoming, expected,
    listing, draft, project_id, verb,
) -> IngestResult | None:  # fmt: skip
    """Write the POST as a new submission if its instanceID is free: two inserts that do
    nothing on a taken key. None when it is taken (the rules decide, with what is stored),
    or when the caller may not write here (the rules give the answer they always gave)."""
    if not draft:
        try:
            require_write_rights(session, principal, project_id, verb, Action.NEW, None, listing)
        except InsufficientRights:
            return None
    new_submission, new_version = _IF_NEW[session.get_bind().dialect.name]
    now = utcnow()
    submission_id = session.execute(
        new_submission, _submission_values(form_id, instance_id, principal, incoming, listing, now)
    ).scalar()
    if submission_id is None:
        return None
    version_id = session.execute(
        new_version,
        _version_values(
            submission_id, form_id, form_version_id, instance_id, principal, incoming, now
        ),
    ).scalar()
    if version_id is None:  # an edit's version holds this instanceID: the rules decide
        session.execute(delete(Submission).where(Submission.id == submission_id))
        return None
    stored = _fill_attachments(
        session, store, version_id, expected, incoming.parts, {}, replace=False, new=True
    )
    audit.record(
        session,
        principal.actor_id,
        "submission.create",
        "submission",
        submission_id,
        {"instanceId": instance_id, "deviceId": incoming.device_id},
    )
    return IngestResult(Action.NEW, submission_id, version_id, instance_id, stored)


def _submission_values(form_id, instance_id, principal, incoming, listing, now) -> dict:
    return {
        "form_id": form_id,
        "instance_id": instance_id,
        "submitter_id": principal.actor_id,
        "device_id": incoming.device_id,
        "user_agent": incoming.user_agent,
        "draft": incoming.draft_of is not None,
        "created_at": now,
        **listing,
    }


def _version_values(
    submission_id, form_id, form_version_id, instance_id, principal, incoming, now
) -> dict:
    envelope = incoming.envelope
    return {
        "submission_id": submission_id,
        "form_id": form_id,
        "form_version_id": form_version_id,
        "instance_id": instance_id,
        "deprecated_id": envelope.deprecated_id,
        "instance_name": envelope.instance_name,
        "xml": incoming.xml,
        "sha256": incoming.xml_sha256,
        "current": True,
        "submitter_id": principal.actor_id,
        "device_id": incoming.device_id,
        "user_agent": incoming.user_agent,
        "encrypted_key": envelope.encrypted_key,
        "encrypted_data_name": envelope.encrypted_data_name,
        "encrypted_signature": envelope.encrypted_signature,
        "created_at": now,
    }


def require_write_rights(
    session: Session,
    principal: Principal,
    project_id: int,
    verb: str,
    action: Action,
    deprecated,
    listing: dict,
) -> None:
    """Who may write what, beyond the verb: a new submission (or the files of an identical
    resend) goes only into a ward the caller may ``verb`` in (a ward-scoped role: its own);
    an edit (deprecatedID) needs submission.update in the submission's ward and in the ward
    the edit gives it, unless the caller sent the version it replaces (Collect's edit of
    one's own finalized form), who may then move it only where it may create. Raises
    InsufficientRights (403.1), as Central answers a caller without the right."""
    ward = listing.get("ward")
    if action in (Action.NEW, Action.ADD_ATTACHMENTS):  # a resend adds files: the same rule
        require_wards(principal, verb, project_id, [ward])
    elif action is Action.EDIT:
        sent_by, old_ward = session.execute(
            select(SubmissionVersion.submitter_id, Submission.ward)
            .join(Submission, Submission.id == SubmissionVersion.submission_id)
            .where(SubmissionVersion.id == deprecated[0].id)
        ).one()
        if principal.actor_id is not None and sent_by == principal.actor_id:
            require_wards(principal, verb, project_id, [ward])
        else:
            require_wards(
                principal,
                "submission.update",
                project_id,
                [old_ward, ward],
                "Only the sender of a submission, or a supervisor of its commune/ward, may "
                "edit it.",
            )


def listing_facts(schema: forms.FormSchema, root) -> dict:
    """The columns the web UI filters on: the ward answered (a field named ``ma_xa``, the code
    every client carries) and the answers folded for search (special-category answers and
    file names left out)."""
    ward = None
    words = []
    for field, text in answers.leaves(schema, root):
        if field.name == WARD_FIELD and ward is None:
            ward = text[:32]
        if field.sensitive != "special" and field.type != "binary":
            words.append(text)
    return {"ward": ward, "search_text": answers.fold(" ".join(words))[:20_000] or None}


def _facts(session, form_id, instance_id, deprecated_id):
    ids = [instance_id] + ([deprecated_id] if deprecated_id else [])
    rows = session.execute(
        select(
            SubmissionVersion.id,
            SubmissionVersion.instance_id,
            SubmissionVersion.sha256,
            SubmissionVersion.current,
            SubmissionVersion.submission_id,
            Submission.deleted_at,
        )
        .join(Submission, Submission.id == SubmissionVersion.submission_id)
        .where(SubmissionVersion.form_id == form_id, SubmissionVersion.instance_id.in_(ids))
    ).all()
    found = {
        r.instance_id: (r, VersionFacts(r.sha256, r.current, r.deleted_at is not None))
        for r in rows
    }
    return found.get(instance_id), found.get(deprecated_id) if deprecated_id else None


def _apply(
    session,
    store,
    principal,
    form_id,
    form_version_id,
    instance_id,
    incoming,
    expected,
    action,
    existing,
    deprecated,
    listing,
) -> IngestResult:
    now = utcnow()
    if action is Action.ADD_ATTACHMENTS:
        row = existing[0]
        stored = _fill_attachments(
            session, store, row.id, expected, incoming.parts, {}, replace=True
        )
        if stored:
            audit.record(
                session,
                principal.actor_id,
                "submission.attachment.update",
                "submission",
                row.submission_id,
                {"instanceId": instance_id, "count": stored},
            )
        return IngestResult(action, row.submission_id, row.id, instance_id, stored)
    # Single INSERT ... RETURNING statements on the hot path, no ORM unit of work.
    if action is Action.NEW:
        submission_id = session.execute(
            insert(Submission)
            .values(_submission_values(form_id, instance_id, principal, incoming, listing, now))
            .returning(Submission.id)
        ).scalar_one()
        carried: dict[str, int | None] = {}
    else:  # EDIT
        old = deprecated[0]
        submission_id = old.submission_id
        session.execute(
            update(SubmissionVersion).where(SubmissionVersion.id == old.id).values(current=False)
        )
        session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(review_state="edited", updated_at=now, **listing)
        )
        carried = dict(
            session.execute(
                select(SubmissionAttachment.name, SubmissionAttachment.blob_id).where(
                    SubmissionAttachment.submission_version_id == old.id
                )
            ).all()
        )
    version_id = session.execute(
        insert(SubmissionVersion)
        .values(
            _version_values(
                submission_id, form_id, form_version_id, instance_id, principal, incoming, now
            )
        )
        .returning(SubmissionVersion.id)
    ).scalar_one()
    stored = _fill_attachments(
        session, store, version_id, expected, incoming.parts, carried, replace=False, new=True
    )
    audit.record(
        session,
        principal.actor_id,
        "submission.create" if action is Action.NEW else "submission.update.version",
        "submission",
        submission_id,
        {"instanceId": instance_id, "deviceId": incoming.device_id},
    )
    return IngestResult(action, submission_id, version_id, instance_id, stored)


def _fill_attachments(
    session, store, version_id, expected, parts, carried, replace, new=False
) -> int:
    """Create or fill the expected slots from the parts sent; return how many files were stored.
    A version just inserted (``new``) has no slots yet, so none are read."""
    slots = (
        {}
        if new
        else dict(
            session.execute(
                select(SubmissionAttachment.name, SubmissionAttachment.id).where(
                    SubmissionAttachment.submission_version_id == version_id
                )
            ).all()
        )
    )
    stored = 0
    for index, name in enumerate(expected):
        part = parts.get(name)
        blob_id = carried.get(name)
        if part is not None:
            blob_id = storage.store_file(
                session, store, part.path, part.sha256, part.md5, part.size, part.content_type
            )
            stored += 1
        if name not in slots:
            session.add(
                SubmissionAttachment(
                    submission_version_id=version_id,
                    name=name,
                    index=index,
                    blob_id=blob_id,
                    is_client_audit=name == "audit.csv",
                )
            )
        elif part is not None and replace:
            session.execute(
                update(SubmissionAttachment)
                .where(SubmissionAttachment.id == slots[name])
                .values(blob_id=blob_id)
            )
    session.flush()
    return stored
