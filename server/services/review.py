"""Review of submissions: approve, mark has issues, reject. Approval forwards a form whose
policy is on_approval; rejection cancels what has not been sent yet (docs/forwarding.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import forms
from server.auth.permissions import Principal, require
from server.errors import MissingParameter, NotFound
from server.models.actors import Actor
from server.models.audits import Audit
from server.models.forms import Form, FormVersion
from server.models.submissions import REVIEW_STATES, Submission, SubmissionVersion
from server.models.types import utcnow
from server.services import audit, deliveries, duplicates, entities, indicator_facts
from server.services import forms as form_service
from server.services.submissions import check_scope, get_submission_id


def set_review_state(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    instance_id: str,
    state: str,
    targets: list[str],
) -> Submission:
    """Set the review state of a submission (by its first instanceID); raise NotFound."""
    require(principal, "submission.update", project_id)
    if state not in REVIEW_STATES:
        raise MissingParameter(f"reviewState must be one of {', '.join(REVIEW_STATES)}.")
    row = session.execute(
        select(Submission, Form)
        .join(Form, Form.id == Submission.form_id)
        .where(
            Form.project_id == project_id,
            Form.xml_form_id == xml_form_id,
            Submission.instance_id == instance_id,
            Submission.deleted_at.is_(None),
        )
    ).first()
    if row is None:
        raise NotFound()  # the same answer as outside the wards: check_scope
    submission, form = row
    check_scope(principal, "submission.update", project_id, submission.ward)
    previous = submission.review_state
    submission.review_state = state
    submission.updated_at = utcnow()
    if (state == "rejected") != (previous == "rejected"):  # rejected answers are not counted
        indicator_facts.set_live(session, submission.id, state != "rejected")
    if state == "approved" and form.forward_policy == "on_approval":
        current = session.scalar(
            select(SubmissionVersion.id).where(
                SubmissionVersion.submission_id == submission.id, SubmissionVersion.current
            )
        )
        deliveries.enqueue(session, targets, submission.id, current, form.id, "approved")
    elif state == "rejected":
        deliveries.cancel_pending(session, submission.id)
    if state == "approved" and previous != "approved":
        _create_approved_entity(session, principal, form, submission.id)
    audit.record(
        session,
        principal.actor_id,
        "submission.update",
        "submission",
        submission.id,
        {"reviewState": state, "previous": previous, "instanceId": instance_id},
    )
    session.flush()
    return submission


def _create_approved_entity(
    session: Session, principal: Principal, form: Form, submission_id: int
) -> None:
    """Entity lists that require approval get their new entity now (Central's rule)."""
    version = session.scalar(
        select(SubmissionVersion).where(
            SubmissionVersion.submission_id == submission_id, SubmissionVersion.current
        )
    )
    if version is None or version.encrypted_key is not None:
        return
    form_version = session.get(FormVersion, version.form_version_id)
    schema = form_service.schema_of(session, form_version)
    root = forms.read_instance(version.xml).root
    entity = entities.process_submission(
        session, principal, form.project_id, schema, root, version.id, approved=True
    )
    duplicates.check_if_client(session, entity)


@dataclass(frozen=True, slots=True)
class ReviewEvent:
    """One review decision: who, when, from which state to which (None: not reviewed)."""

    at: datetime
    reviewer: str | None
    previous: str | None
    state: str


def review_history(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, instance_id: str
) -> list[ReviewEvent]:
    """The review decisions on a submission in the caller's wards, oldest first, from the
    audit log that ``set_review_state`` writes. Raises NotFound as the submission page does."""
    submission_id = get_submission_id(session, principal, project_id, xml_form_id, instance_id)
    rows = session.execute(
        select(Audit.acted_at, Actor.display_name, Audit.details)
        .outerjoin(Actor, Actor.id == Audit.actor_id)
        .where(
            Audit.action == "submission.update",
            Audit.subject_type == "submission",
            Audit.subject_id == submission_id,
        )
        .order_by(Audit.id)
    ).all()
    return [
        ReviewEvent(at, who, (details or {}).get("previous"), details["reviewState"])
        for at, who, details in rows
        if (details or {}).get("reviewState")
    ]
