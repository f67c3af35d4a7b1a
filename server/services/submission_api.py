"""Submissions as Central's REST API shows them (pyodk's ``submissions.list/get``, the XML of
a submission, its attachments and comments), in the caller's wards, and the REST API's ways
to add to them (a submission sent as XML, a new version of one, a file of one). A listing
and every look at one submission are recorded in the audit log, as the web pages' are."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, require
from server.blobs import BlobStore
from server.errors import (
    AlreadyExists,
    DeprecatingOldSubmission,
    FormIdMismatch,
    MissingParameter,
    NotFound,
    XmlConflict,
)
from server.models.submissions import (
    Submission,
    SubmissionAttachment,
    SubmissionComment,
    SubmissionVersion,
)
from server.services import audit, ingest, storage, submissions
from server.services.submissions import (
    form_or_404,
    get_submission_id,
    live_in_scope,
)
from server.uploads import Part


@dataclass(frozen=True, slots=True)
class SubmissionView:
    """Central's Submission: ``submitter_id`` is the actor (app user or web user) who sent it."""

    instance_id: str
    submitter_id: int | None
    device_id: str | None
    user_agent: str | None
    review_state: str | None
    instance_name: str | None
    created_at: datetime
    updated_at: datetime | None


def _views(session: Session, where: list) -> list[SubmissionView]:
    rows = session.execute(
        select(Submission, SubmissionVersion.instance_name)
        .join(
            SubmissionVersion,
            (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current,
        )
        .where(*where)
        .order_by(Submission.id.desc())
    ).all()
    return [
        SubmissionView(
            s.instance_id,
            s.submitter_id,
            s.device_id,
            s.user_agent,
            s.review_state,
            name,
            s.created_at,
            s.updated_at,
        )
        for s, name in rows
    ]


def view_of(session: Session, submission_id: int) -> SubmissionView:
    """One submission as Central shows it (for the answer to a write; no audit row)."""
    [view] = _views(session, [Submission.id == submission_id])
    return view


def list_views(
    session: Session, principal: Principal, project_id: int, xml_form_id: str
) -> list[SubmissionView]:
    """The form's live submissions in the caller's wards, newest first."""
    require(principal, "submission.read", project_id)
    form = form_or_404(session, project_id, xml_form_id)
    where = live_in_scope(principal, project_id, form)
    views = _views(session, where)
    audit.record(
        session, principal.actor_id, "submission.list", "form", form.id, {"count": len(views)}
    )
    return views


def get_view(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, instance_id: str
) -> SubmissionView:
    submission_id = get_submission_id(session, principal, project_id, xml_form_id, instance_id)
    audit.record(session, principal.actor_id, "submission.read", "submission", submission_id)
    return view_of(session, submission_id)


def current_xml(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, instance_id: str
) -> bytes:
    """The exact XML of the submission's current version."""
    submission_id = get_submission_id(session, principal, project_id, xml_form_id, instance_id)
    xml = session.scalar(
        select(SubmissionVersion.xml).where(
            SubmissionVersion.submission_id == submission_id, SubmissionVersion.current
        )
    )
    audit.record(
        session, principal.actor_id, "submission.read", "submission", submission_id, {"xml": True}
    )
    return xml


def attachment_states(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, instance_id: str
) -> list[tuple[str, bool]]:
    """(name, arrived) of each file the current version names (Central's attachment list);
    the look is audited."""
    submission_id = get_submission_id(session, principal, project_id, xml_form_id, instance_id)
    states = submissions.attachment_states(session, _current_version_id(session, submission_id))
    audit.record(
        session,
        principal.actor_id,
        "submission.attachment.list",
        "submission",
        submission_id,
        {"count": len(states)},
    )
    return states


def comments(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, instance_id: str
) -> list[SubmissionComment]:
    """The comments on a submission, oldest first; the look is audited."""
    submission_id = get_submission_id(session, principal, project_id, xml_form_id, instance_id)
    found = submissions.comments_of(session, submission_id)
    audit.record(
        session,
        principal.actor_id,
        "submission.comment.list",
        "submission",
        submission_id,
        {"count": len(found)},
    )
    return found


def _current_version_id(session: Session, submission_id: int) -> int:
    return session.scalar(
        select(SubmissionVersion.id).where(
            SubmissionVersion.submission_id == submission_id, SubmissionVersion.current
        )
    )


def put_attachment(
    session: Session,
    store: BlobStore,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    instance_id: str,
    name: str,
    file: Part,
) -> None:
    """Store a file the submission's current version names (Central's REST upload); a file it
    does not name is refused, as Central does."""
    submission_id = get_submission_id(
        session, principal, project_id, xml_form_id, instance_id, "submission.update"
    )
    slot = session.scalar(
        select(SubmissionAttachment)
        .join(SubmissionVersion, SubmissionVersion.id == SubmissionAttachment.submission_version_id)
        .where(
            SubmissionVersion.submission_id == submission_id,
            SubmissionVersion.current,
            SubmissionAttachment.name == name,
        )
    )
    if slot is None:
        raise NotFound(f"The submission {instance_id} does not name a file '{name}'.")
    slot.blob_id = storage.store_file(
        session, store, file.path, file.sha256, file.md5, file.size, file.content_type
    )
    audit.record(
        session,
        principal.actor_id,
        "submission.attachment.update",
        "submission",
        submission_id,
        {"instanceId": instance_id, "count": 1},
    )


def write(
    session: Session,
    store: BlobStore,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    incoming: ingest.Incoming,
    targets: list[str] | tuple[str, ...],
    edited: str | None = None,
) -> tuple[ingest.IngestResult, SubmissionView | None]:
    """A submission sent to the REST API as XML (``edited`` None: pyodk's create) or a new
    version of the submission ``edited`` names (pyodk's edit, which needs submission.update),
    through the same ingest as Collect. Unlike Collect's resend, a create whose instanceID is
    already stored is refused (409), as in Central. A refused resend comes back in
    ``result.problem``, to raise once the audit row is committed."""
    if incoming.envelope.form_id != xml_form_id:
        raise FormIdMismatch(
            f"The submission is for the form '{incoming.envelope.form_id}', not '{xml_form_id}'."
        )
    if edited is not None:
        _check_edit_target(
            session, principal, project_id, xml_form_id, edited, incoming.envelope.deprecated_id
        )
    result = ingest.ingest_submission(
        session,
        store,
        principal,
        project_id,
        incoming,
        targets,
        "submission.create" if edited is None else "submission.update",
    )
    taken = AlreadyExists(
        f"A resource already exists with instanceID value(s) of {result.instance_id}."
    )
    if edited is None and isinstance(result.problem, XmlConflict | DeprecatingOldSubmission):
        # Central's REST create has no resend: any instanceID in use is its uniqueness
        # violation (409.3, lib/resources/submissions.js), whatever the XML holds.
        return replace(result, problem=taken), None
    if result.problem is not None:
        return result, None
    if result.action is ingest.Action.ADD_ATTACHMENTS:
        raise taken
    return result, view_of(session, result.submission_id)


def _check_edit_target(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    instance_id: str,
    deprecated_id: str | None,
) -> None:
    """A REST edit (PUT) must replace a version of the submission its URL names."""
    submission_id = get_submission_id(
        session, principal, project_id, xml_form_id, instance_id, "submission.update"
    )
    if not deprecated_id:
        raise MissingParameter("An edit must carry meta/deprecatedID: the instanceID it replaces.")
    owner = session.scalar(
        select(SubmissionVersion.submission_id).where(
            SubmissionVersion.form_id == form_or_404(session, project_id, xml_form_id).id,
            SubmissionVersion.instance_id == deprecated_id,
        )
    )
    if owner is not None and owner != submission_id:
        raise MissingParameter(
            f"The deprecatedID {deprecated_id} is a version of another submission, not of "
            f"{instance_id}."
        )


# --- Versions (Central's GET .../submissions/{instanceId}/versions) ------------------------


def versions(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, instance_id: str
) -> list[SubmissionVersion]:
    """Every version of a live submission the caller may read, newest first (Central orders
    by the version's id, descending); the look is audited."""
    submission_id = get_submission_id(session, principal, project_id, xml_form_id, instance_id)
    rows = session.scalars(
        select(SubmissionVersion)
        .where(SubmissionVersion.submission_id == submission_id)
        .order_by(SubmissionVersion.id.desc())
    ).all()
    audit.record(
        session,
        principal.actor_id,
        "submission.read",
        "submission",
        submission_id,
        {"versions": len(rows)},
    )
    return list(rows)


def version(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    instance_id: str,
    version_id: str,
) -> SubmissionVersion:
    """One version (by its own instanceID) of the submission ``instance_id``; a version of
    another submission is a 404, as is one outside the caller's wards. The read is audited
    (with ``xml`` when the caller then takes its XML: the view says so by reading .xml)."""
    submission_id = get_submission_id(session, principal, project_id, xml_form_id, instance_id)
    row = session.scalar(
        select(SubmissionVersion).where(
            SubmissionVersion.submission_id == submission_id,
            SubmissionVersion.instance_id == version_id,
        )
    )
    if row is None:
        raise NotFound()
    audit.record(
        session,
        principal.actor_id,
        "submission.read",
        "submission",
        submission_id,
        {"version": version_id},
    )
    return row
