"""The life and end of records: soft delete and restore of a submission, purge (deleted
submissions after the retention period, or everything received before a date), and the
erasure of one client's data on request. Every step is in the audit log, which records
counts and ids, never answers.

A purge removes the rows for good: versions, attachments (and their files once no other
record uses them), deliveries, comments, and the link from entity versions. What has already
reached the central register is not recalled here: the register is told by its own process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, event, or_, select, update
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, require
from server.blobs import BlobStore
from server.errors import NotFound
from server.models.blobs import Blob
from server.models.deliveries import Delivery
from server.models.entities import Dataset, Entity, EntityVersion
from server.models.forms import Form, FormAttachment, FormVersion
from server.models.submissions import (
    Submission,
    SubmissionAttachment,
    SubmissionComment,
    SubmissionVersion,
)
from server.models.types import utcnow
from server.services import audit, deliveries, duplicates, entities, indicator_facts
from server.services.submissions import check_scope, form_or_404, in_scope_clause

DELETED_RETENTION = timedelta(days=30)  # Central's: a deleted submission can be restored


def _submission(session, project_id, xml_form_id, instance_id, deleted: bool) -> Submission:
    row = session.scalar(
        select(Submission)
        .join(Form, Form.id == Submission.form_id)
        .where(
            Form.project_id == project_id,
            Form.xml_form_id == xml_form_id,
            Submission.instance_id == instance_id,
            Submission.deleted_at.is_not(None) if deleted else Submission.deleted_at.is_(None),
        )
    )
    if row is None:
        raise NotFound()  # the same answer as outside the wards: check_scope
    return row


def delete_submission(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, instance_id: str
) -> None:
    """Hide a submission (restorable for the retention period); what was not sent stays."""
    require(principal, "submission.delete", project_id)
    submission = _submission(session, project_id, xml_form_id, instance_id, deleted=False)
    check_scope(principal, "submission.delete", project_id, submission.ward)
    submission.deleted_at = utcnow()
    indicator_facts.set_live(session, submission.id, False)
    cancelled = deliveries.cancel_pending(session, submission.id)
    audit.record(
        session,
        principal.actor_id,
        "submission.delete",
        "submission",
        submission.id,
        {"instanceId": instance_id, "cancelledDeliveries": cancelled},
    )


def restore_submission(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, instance_id: str
) -> None:
    require(principal, "submission.delete", project_id)
    submission = _submission(session, project_id, xml_form_id, instance_id, deleted=True)
    check_scope(principal, "submission.delete", project_id, submission.ward)
    submission.deleted_at = None
    indicator_facts.set_live(session, submission.id, submission.review_state != "rejected")
    audit.record(
        session,
        principal.actor_id,
        "submission.restore",
        "submission",
        submission.id,
        {"instanceId": instance_id},
    )


@dataclass(frozen=True, slots=True)
class DeletedRow:
    instance_id: str
    instance_name: str | None
    deleted_at: datetime
    purge_at: datetime


def list_deleted(
    session: Session, principal: Principal, project_id: int, xml_form_id: str
) -> list[DeletedRow]:
    """The form's deleted submissions in the caller's wards (the ones it may restore), newest
    deletion first; the look is audited with its count."""
    require(principal, "submission.delete", project_id)
    form = form_or_404(session, project_id, xml_form_id)
    query = (
        select(Submission.instance_id, SubmissionVersion.instance_name, Submission.deleted_at)
        .join(
            SubmissionVersion,
            (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current,
        )
        .where(Submission.form_id == form.id, Submission.deleted_at.is_not(None))
        .order_by(Submission.deleted_at.desc())
    )
    scope = in_scope_clause(principal, "submission.delete", project_id)
    if scope is not None:
        query = query.where(scope)
    rows = session.execute(query).all()
    audit.record(
        session,
        principal.actor_id,
        "submission.deleted.list",
        "form",
        form.id,
        {"count": len(rows)},
    )
    return [DeletedRow(i, n, d, d + DELETED_RETENTION) for i, n, d in rows]


@dataclass(frozen=True, slots=True)
class PurgeCount:
    submissions: int = 0
    versions: int = 0
    attachments: int = 0
    files: int = 0
    deliveries: int = 0
    entities: int = 0

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__}


def purge_deleted(
    session: Session,
    store: BlobStore,
    principal: Principal,
    now: datetime | None = None,
    retention: timedelta = DELETED_RETENTION,
) -> PurgeCount:
    """Remove for good the submissions deleted more than ``retention`` ago."""
    require(principal, "data.purge")
    cutoff = (now or utcnow()) - retention
    ids = list(session.scalars(select(Submission.id).where(Submission.deleted_at < cutoff)))
    count = _purge(session, store, ids)
    audit.record(
        session,
        principal.actor_id,
        "submission.purge",
        None,
        None,
        {"reason": "deleted", "before": cutoff.isoformat(), **count.as_dict()},
    )
    return count


def purge_received_before(
    session: Session, store: BlobStore, principal: Principal, project_id: int, before: datetime
) -> PurgeCount:
    """The programme's retention period: remove everything a project received before a date."""
    require(principal, "data.purge")
    ids = list(
        session.scalars(
            select(Submission.id)
            .join(Form, Form.id == Submission.form_id)
            .where(Form.project_id == project_id, Submission.created_at < before)
        )
    )
    count = _purge(session, store, ids)
    audit.record(
        session,
        principal.actor_id,
        "submission.purge",
        "project",
        project_id,
        {"reason": "retention", "before": before.isoformat(), **count.as_dict()},
    )
    return count


def erase_client(
    session: Session,
    store: BlobStore,
    principal: Principal,
    project_id: int,
    entity_uuid: str,
) -> PurgeCount:
    """Remove one client's data on request: the client's entity and its versions, entities of
    other lists that name it (its referrals), every submission that made or changed them or
    names the client, with their files and deliveries."""
    require(principal, "data.purge")
    entity_uuid = entities.entity_name(entity_uuid)
    datasets = select(Dataset.id).where(Dataset.project_id == project_id)
    client = session.scalar(
        select(Entity).where(Entity.uuid == entity_uuid, Entity.dataset_id.in_(datasets))
    )
    if client is None:
        raise NotFound(f"Could not find the entity {entity_uuid} in this project.")
    # Entities that name the client in their data (a referral's client property).
    named = [
        e
        for e in session.scalars(select(Entity).where(Entity.dataset_id.in_(datasets)))
        if e.id == client.id or entity_uuid in (str(v).lower() for v in (e.data or {}).values())
    ]
    entity_ids = [e.id for e in named]
    made_by = select(EntityVersion.submission_version_id).where(
        EntityVersion.entity_id.in_(entity_ids), EntityVersion.submission_version_id.is_not(None)
    )
    forms = select(Form.id).where(Form.project_id == project_id)
    submission_ids = set(
        session.scalars(
            select(SubmissionVersion.submission_id).where(
                SubmissionVersion.form_id.in_(forms),
                or_(
                    SubmissionVersion.id.in_(made_by),
                    *[SubmissionVersion.xml.contains(e.uuid.encode()) for e in named],
                ),
            )
        )
    )
    count = _purge(session, store, sorted(submission_ids))
    duplicates.forget(session, entity_ids)
    events = deliveries.forget_events(session, project_id, [e.uuid for e in named])
    session.execute(delete(EntityVersion).where(EntityVersion.entity_id.in_(entity_ids)))
    session.execute(delete(Entity).where(Entity.id.in_(entity_ids)))
    session.execute(
        update(Dataset)
        .where(Dataset.id.in_({e.dataset_id for e in named}))
        .values(changed_at=utcnow())
    )  # phones fetch their lists again, without the client
    result = PurgeCount(**{**count.as_dict(), "entities": len(entity_ids)})
    audit.record(
        session,
        principal.actor_id,
        "client.erase",
        "project",
        project_id,
        {"entityId": entity_uuid, **result.as_dict(), "events": events},
    )
    return result


def _purge(session: Session, store: BlobStore, submission_ids: list[int]) -> PurgeCount:
    if not submission_ids:
        return PurgeCount()
    version_ids = list(
        session.scalars(
            select(SubmissionVersion.id).where(SubmissionVersion.submission_id.in_(submission_ids))
        )
    )
    blob_ids = set(
        session.scalars(
            select(SubmissionAttachment.blob_id).where(
                SubmissionAttachment.submission_version_id.in_(version_ids),
                SubmissionAttachment.blob_id.is_not(None),
            )
        )
    )
    attachments = session.execute(
        delete(SubmissionAttachment).where(
            SubmissionAttachment.submission_version_id.in_(version_ids)
        )
    ).rowcount
    indicator_facts.remove(session, submission_ids)
    gone_deliveries = session.execute(
        delete(Delivery).where(Delivery.submission_id.in_(submission_ids))
    ).rowcount
    session.execute(
        update(EntityVersion)
        .where(EntityVersion.submission_version_id.in_(version_ids))
        .values(submission_version_id=None)
    )
    session.execute(
        delete(SubmissionComment).where(SubmissionComment.submission_id.in_(submission_ids))
    )
    versions = session.execute(
        delete(SubmissionVersion).where(SubmissionVersion.id.in_(version_ids))
    ).rowcount
    submissions = session.execute(
        delete(Submission).where(Submission.id.in_(submission_ids))
    ).rowcount
    files = _drop_unused_blobs(session, store, blob_ids)
    return PurgeCount(
        submissions=submissions or 0,
        versions=versions or 0,
        attachments=attachments or 0,
        files=files,
        deliveries=gone_deliveries or 0,
    )


def _drop_unused_blobs(session: Session, store: BlobStore, blob_ids: set[int]) -> int:
    """Delete the blobs no record uses any more (rows, then files after the flush)."""
    if not blob_ids:
        return 0
    used = set(
        session.scalars(
            select(SubmissionAttachment.blob_id).where(SubmissionAttachment.blob_id.in_(blob_ids))
        )
    )
    used |= set(
        session.scalars(select(FormAttachment.blob_id).where(FormAttachment.blob_id.in_(blob_ids)))
    )
    used |= set(
        session.scalars(
            select(FormVersion.xls_blob_id).where(FormVersion.xls_blob_id.in_(blob_ids))
        )
    )
    unused = blob_ids - used
    hashes = list(session.scalars(select(Blob.sha256).where(Blob.id.in_(unused))))
    session.execute(delete(Blob).where(Blob.id.in_(unused)))

    def remove_files(_session) -> None:  # only once the rows are gone for good
        for sha256 in hashes:
            store.delete(sha256)

    if hashes:
        event.listen(session, "after_commit", remove_files, once=True)
    return len(hashes)
