"""The document sent to the register for one submission version (docs/forwarding.md,
docs/payload.schema.json): typed answers by XLSForm name, with each target's privacy rules
applied, plus form, version, instanceIDs, submitter, times, review state and attachments."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import forms
from forms.answers import DROP, answers
from server.models.actors import Actor
from server.models.blobs import Blob
from server.models.forms import Form, FormVersion
from server.models.submissions import Submission, SubmissionAttachment, SubmissionVersion
from server.registers import TargetConfig
from server.services import forms as form_service

SCHEMA_VERSION = "1.0"


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    name: str
    sha256: str | None
    md5: str | None
    size: int | None
    content_type: str | None


@dataclass(frozen=True, slots=True)
class Payload:
    body: bytes
    idempotency_key: str
    project_id: int
    xml_form_id: str
    submission_instance_id: str  # the submission's first instanceID (Central's logical id)
    instance_id: str  # this version's instanceID
    attachments: tuple[AttachmentRef, ...]  # the files offered to this target
    complete: bool  # every expected attachment has arrived
    version_created_at: datetime


def idempotency_key(project_id: int, xml_form_id: str, instance_id: str) -> str:
    """Stable per (form, instanceID): one version, one key, whatever the number of attempts."""
    raw = f"donghanh:{project_id}:{xml_form_id}:{instance_id}".encode()
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class Source:
    """What a version's documents are made of, read once for every target."""

    version_id: int
    xml: bytes
    encrypted: bool
    instance_id: str
    deprecated_id: str | None
    instance_name: str | None
    device_id: str | None
    created_at: datetime
    submission_instance_id: str
    submission_created_at: datetime
    review_state: str | None
    project_id: int
    xml_form_id: str
    form_version: str
    title: str
    schema: forms.FormSchema
    submitter: tuple[int, str, str] | None  # id, type, display name
    files: tuple[AttachmentRef, ...]


def read(session: Session, version_ids: list[int]) -> dict[int, Source]:
    """The versions, their submissions, forms, form versions and submitters in one query, and
    their attachments in a second (a form version's XML is read only when its schema is not
    cached yet). Missing ids are left out."""
    if not version_ids:
        return {}
    ids = sorted(set(version_ids))
    files: dict[int, list[AttachmentRef]] = {}
    for row in session.execute(
        select(
            SubmissionAttachment.submission_version_id,
            SubmissionAttachment.name,
            Blob.sha256,
            Blob.md5,
            Blob.size,
            Blob.content_type,
        )
        .outerjoin(Blob, Blob.id == SubmissionAttachment.blob_id)
        .where(SubmissionAttachment.submission_version_id.in_(ids))
        .order_by(SubmissionAttachment.submission_version_id, SubmissionAttachment.index)
    ):
        files.setdefault(row[0], []).append(AttachmentRef(*row[1:]))
    rows = session.execute(
        select(
            SubmissionVersion.id,
            SubmissionVersion.xml,
            SubmissionVersion.encrypted_key,
            SubmissionVersion.instance_id,
            SubmissionVersion.deprecated_id,
            SubmissionVersion.instance_name,
            SubmissionVersion.device_id,
            SubmissionVersion.created_at,
            Submission.instance_id.label("submission_instance_id"),
            Submission.created_at.label("submission_created_at"),
            Submission.review_state,
            Form.project_id,
            Form.xml_form_id,
            FormVersion.id.label("form_version_id"),
            FormVersion.sha256.label("form_sha256"),
            FormVersion.version.label("form_version"),
            FormVersion.title,
            Actor.id.label("actor_id"),
            Actor.type.label("actor_type"),
            Actor.display_name,
        )
        .join(Submission, Submission.id == SubmissionVersion.submission_id)
        .join(Form, Form.id == SubmissionVersion.form_id)
        .join(FormVersion, FormVersion.id == SubmissionVersion.form_version_id)
        .outerjoin(Actor, Actor.id == SubmissionVersion.submitter_id)
        .where(SubmissionVersion.id.in_(ids))
    )
    return {
        r.id: Source(
            r.id,
            r.xml,
            r.encrypted_key is not None,
            r.instance_id,
            r.deprecated_id,
            r.instance_name,
            r.device_id,
            r.created_at,
            r.submission_instance_id,
            r.submission_created_at,
            r.review_state,
            r.project_id,
            r.xml_form_id,
            r.form_version,
            r.title,
            form_service.schema_by_id(session, r.form_version_id, r.form_sha256),
            (r.actor_id, r.actor_type, r.display_name) if r.actor_id is not None else None,
            tuple(files.get(r.id, ())),
        )
        for r in rows
    }


def build(session: Session, version_id: int, target: TargetConfig, public_url: str) -> Payload:
    """Read one version and make its document for ``target``."""
    return render(read(session, [version_id])[version_id], target, public_url)


def build_batch(
    session: Session, items: list[tuple[int, TargetConfig]], public_url: str
) -> list[Payload]:
    """The documents for (version, target) pairs, read in two queries for the whole batch."""
    sources = read(session, [version_id for version_id, _ in items])
    return [render(sources[version_id], target, public_url) for version_id, target in items]


def render(source: Source, target: TargetConfig, public_url: str) -> Payload:
    """Make the version's document for ``target`` (no database)."""
    files = source.files
    redactions: dict[str, list[str]] = {"dropped": [], "hashed": []}
    withheld: set[str] = set()  # files answering a dropped or hashed field are not offered
    data = None
    if not source.encrypted:
        envelope = forms.read_instance(source.xml)
        data = answers(source.schema, envelope.root, _privacy(target, redactions, withheld))
    base = (
        f"{public_url}/v1/projects/{source.project_id}/forms/{source.xml_form_id}/submissions/"
        f"{source.submission_instance_id}/versions/{source.instance_id}/attachments/"
    )
    submitter = source.submitter
    document = {
        "schemaVersion": SCHEMA_VERSION,
        "idempotencyKey": idempotency_key(
            source.project_id, source.xml_form_id, source.instance_id
        ),
        "supersedes": idempotency_key(source.project_id, source.xml_form_id, source.deprecated_id)
        if source.deprecated_id
        else None,
        "project": {"id": source.project_id},
        "form": {
            "xmlFormId": source.xml_form_id,
            "version": source.form_version,
            "title": source.title,
        },
        "submission": {
            "instanceId": source.submission_instance_id,
            "versionInstanceId": source.instance_id,
            "deprecatedId": source.deprecated_id,
            "instanceName": source.instance_name,
            "submitter": {
                "id": submitter[0],
                "type": submitter[1],
                "displayName": submitter[2],
            }
            if submitter
            else None,
            "deviceId": source.device_id,
            "createdAt": source.submission_created_at.isoformat(),
            "versionCreatedAt": source.created_at.isoformat(),
            "reviewState": source.review_state,
            "encrypted": source.encrypted,
        },
        "answers": data,
        "attachments": [_attachment(f, base) for f in files if f.name not in withheld],
        "redactions": redactions,
    }
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    offered = tuple(f for f in files if f.name not in withheld)
    return Payload(
        body,
        document["idempotencyKey"],
        source.project_id,
        source.xml_form_id,
        source.submission_instance_id,
        source.instance_id,
        offered,
        all(f.sha256 for f in files),
        source.created_at,
    )


#: The "form" an event's object is filed under by the directory and S3 targets
#: (``<project>/_events/<entity>/<event id>.json``); no XLSForm id starts with "_".
EVENTS = "_events"


def build_event(event: dict) -> Payload:
    """The document for an event that is no submission (docs/forwarding.md, "Events"): two
    clients merged as one person (``entity.merge``) or the merge undone
    (``entity.unmerge``). It carries uuids only, as submissions do."""
    key = hashlib.sha256(f"donghanh:event:{event['id']}".encode()).hexdigest()
    document = {
        "schemaVersion": SCHEMA_VERSION,
        "idempotencyKey": key,
        "project": {"id": event["projectId"]},
        "event": {k: v for k, v in event.items() if k != "projectId"},
    }
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Payload(
        body,
        key,
        event["projectId"],
        EVENTS,
        event["merged"],
        event["id"],
        (),
        True,
        datetime.fromisoformat(event["at"]),
    )


def _privacy(target: TargetConfig, redactions: dict[str, list[str]], withheld: set[str]):
    def transform(field: forms.Field, value: object) -> object:
        rule = target.rule_for(field.name, field.sensitive)
        if rule == "full" or value is None:
            return value
        if field.type == "binary":
            withheld.add(str(value))
        if rule == "drop":
            redactions["dropped"].append(field.name)
            return DROP
        redactions["hashed"].append(field.name)
        text = (
            " ".join(value)
            if isinstance(value, list)
            else json.dumps(value, sort_keys=True)
            if isinstance(value, dict)
            else str(value)
        )
        return target.pseudonym(text)

    return transform


def _attachment(ref: AttachmentRef, base: str) -> dict:
    return {
        "name": ref.name,
        "present": ref.sha256 is not None,
        "sha256": ref.sha256,
        "md5": ref.md5,
        "size": ref.size,
        "contentType": ref.content_type,
        "url": base + ref.name if ref.sha256 else None,
    }
