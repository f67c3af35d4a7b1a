"""Reads of stored submissions (no intake rules here): attachments of a version."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, require
from server.errors import NotFound
from server.models.blobs import Blob
from server.models.forms import Form
from server.models.submissions import Submission, SubmissionAttachment, SubmissionVersion
from server.services import audit


def get_attachment(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    instance_id: str,
    name: str,
    version_id: str | None = None,
) -> Blob:
    """The blob of one attachment of the current version (or of ``version_id``); audited.

    Raises NotFound when the submission, version or file is unknown or not uploaded yet.
    """
    require(principal, "submission.read", project_id)
    query = (
        select(Blob, Submission.id)
        .join(SubmissionAttachment, SubmissionAttachment.blob_id == Blob.id)
        .join(SubmissionVersion, SubmissionVersion.id == SubmissionAttachment.submission_version_id)
        .join(Submission, Submission.id == SubmissionVersion.submission_id)
        .join(Form, Form.id == Submission.form_id)
        .where(
            Form.project_id == project_id,
            Form.xml_form_id == xml_form_id,
            Submission.instance_id == instance_id,
            Submission.deleted_at.is_(None),
            SubmissionAttachment.name == name,
        )
    )
    if version_id is None:
        query = query.where(SubmissionVersion.current)
    else:
        query = query.where(SubmissionVersion.instance_id == version_id)
    row = session.execute(query).first()
    if row is None:
        raise NotFound(f"Could not find the attachment '{name}' of submission {instance_id}.")
    blob, submission_id = row
    audit.record(
        session,
        principal.actor_id,
        "submission.attachment.read",
        "submission",
        submission_id,
        {"name": name, "instanceId": version_id or instance_id},
    )
    return blob
