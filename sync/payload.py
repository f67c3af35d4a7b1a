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


def build(session: Session, version_id: int, target: TargetConfig, public_url: str) -> Payload:
    """Read one version and make its document for ``target``."""
    version = session.get(SubmissionVersion, version_id)
    submission = session.get(Submission, version.submission_id)
    form = session.get(Form, version.form_id)
    form_version = session.get(FormVersion, version.form_version_id)
    submitter = session.get(Actor, version.submitter_id) if version.submitter_id else None
    files = [
        AttachmentRef(*row)
        for row in session.execute(
            select(SubmissionAttachment.name, Blob.sha256, Blob.md5, Blob.size, Blob.content_type)
            .outerjoin(Blob, Blob.id == SubmissionAttachment.blob_id)
            .where(SubmissionAttachment.submission_version_id == version.id)
            .order_by(SubmissionAttachment.index)
        )
    ]
    schema = form_service.schema_of(session, form_version)
    redactions: dict[str, list[str]] = {"dropped": [], "hashed": []}
    withheld: set[str] = set()  # files answering a dropped or hashed field are not offered
    data = None
    if version.encrypted_key is None:
        envelope = forms.read_instance(version.xml)
        data = answers(schema, envelope.root, _privacy(target, redactions, withheld))
    base = (
        f"{public_url}/v1/projects/{form.project_id}/forms/{form.xml_form_id}/submissions/"
        f"{submission.instance_id}/versions/{version.instance_id}/attachments/"
    )
    document = {
        "schemaVersion": SCHEMA_VERSION,
        "idempotencyKey": idempotency_key(form.project_id, form.xml_form_id, version.instance_id),
        "supersedes": idempotency_key(form.project_id, form.xml_form_id, version.deprecated_id)
        if version.deprecated_id
        else None,
        "project": {"id": form.project_id},
        "form": {
            "xmlFormId": form.xml_form_id,
            "version": form_version.version,
            "title": form_version.title,
        },
        "submission": {
            "instanceId": submission.instance_id,
            "versionInstanceId": version.instance_id,
            "deprecatedId": version.deprecated_id,
            "instanceName": version.instance_name,
            "submitter": {
                "id": submitter.id,
                "type": submitter.type,
                "displayName": submitter.display_name,
            }
            if submitter
            else None,
            "deviceId": version.device_id,
            "createdAt": submission.created_at.isoformat(),
            "versionCreatedAt": version.created_at.isoformat(),
            "reviewState": submission.review_state,
            "encrypted": version.encrypted_key is not None,
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
        form.project_id,
        form.xml_form_id,
        submission.instance_id,
        version.instance_id,
        offered,
        all(f.sha256 for f in files),
        version.created_at,
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
