"""marshmallow schemas: explicit allow-lists of fields, camelCase on the wire."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from server.models.forms import FORM_STATES, FORWARD_POLICIES
from server.models.submissions import REVIEW_STATES


class SessionInput(Schema):
    email = fields.String(required=True)
    password = fields.String(required=True)
    code = fields.String(load_default=None)  # the one-time code of an account that has one


class PasswordChangeInput(Schema):
    old = fields.String(required=True)
    new = fields.String(required=True)


class ResetInitiateInput(Schema):
    email = fields.String(required=True)


class SessionOutput(Schema):
    token = fields.String()
    csrf = fields.String()
    created_at = fields.DateTime(data_key="createdAt")
    expires_at = fields.DateTime(data_key="expiresAt")


class ReviewInput(Schema):
    review_state = fields.String(
        required=True, data_key="reviewState", validate=validate.OneOf(REVIEW_STATES)
    )


class SubmissionOutput(Schema):
    instance_id = fields.String(data_key="instanceId")
    submitter_id = fields.Integer(data_key="submitterId", allow_none=True)
    instance_name = fields.String(data_key="instanceName", allow_none=True)
    device_id = fields.String(data_key="deviceId", allow_none=True)
    user_agent = fields.String(data_key="userAgent", allow_none=True)
    review_state = fields.String(data_key="reviewState", allow_none=True)
    created_at = fields.DateTime(data_key="createdAt")
    updated_at = fields.DateTime(data_key="updatedAt", allow_none=True)
    deleted_at = fields.DateTime(data_key="deletedAt", allow_none=True)


class SubmissionVersionOutput(Schema):
    """Central's Submission.Def as the API reads it (lib/model/frames/submission.js)."""

    instance_id = fields.String(data_key="instanceId")
    instance_name = fields.String(data_key="instanceName", allow_none=True)
    submitter_id = fields.Integer(data_key="submitterId", allow_none=True)
    device_id = fields.String(data_key="deviceId", allow_none=True)
    user_agent = fields.String(data_key="userAgent", allow_none=True)
    current = fields.Boolean()
    created_at = fields.DateTime(data_key="createdAt")


class DeliveryOutput(Schema):
    id = fields.Integer()
    target = fields.String()
    state = fields.String()
    trigger = fields.String()
    attempts = fields.Integer()
    submission_id = fields.Integer(data_key="submissionId")
    created_at = fields.DateTime(data_key="createdAt")
    next_attempt_at = fields.DateTime(data_key="nextAttemptAt")
    last_attempt_at = fields.DateTime(data_key="lastAttemptAt", allow_none=True)
    last_status = fields.Integer(data_key="lastStatus", allow_none=True)
    last_error = fields.String(data_key="lastError", allow_none=True)
    delivered_at = fields.DateTime(data_key="deliveredAt", allow_none=True)


class TargetStatsOutput(Schema):
    target = fields.String()
    pending = fields.Integer()
    in_flight = fields.Integer(data_key="inFlight")
    delivered = fields.Integer()
    dead = fields.Integer()
    cancelled = fields.Integer()
    oldest_pending_seconds = fields.Float(data_key="oldestPendingSeconds", allow_none=True)


class FormOutput(Schema):
    project_id = fields.Integer(data_key="projectId")
    xml_form_id = fields.String(data_key="xmlFormId")
    name = fields.String(allow_none=True)
    version = fields.String(allow_none=True)
    hash = fields.String(allow_none=True)
    state = fields.String()
    forward_policy = fields.String(data_key="forwardPolicy")
    created_at = fields.DateTime(data_key="createdAt")
    updated_at = fields.DateTime(data_key="updatedAt", allow_none=True)
    published_at = fields.DateTime(data_key="publishedAt", allow_none=True)
    draft_token = fields.String(data_key="draftToken", allow_none=True)
    draft_url = fields.String(data_key="draftUrl", allow_none=True)
    draft_qr = fields.String(data_key="draftQrCode", allow_none=True)
    enketo_id = fields.String(data_key="enketoId", allow_none=True)
    key_id = fields.Integer(data_key="keyId", allow_none=True)


class FormStateInput(Schema):
    state = fields.String(validate=validate.OneOf(FORM_STATES))
    forward_policy = fields.String(
        data_key="forwardPolicy", validate=validate.OneOf(FORWARD_POLICIES)
    )


class ProjectOutput(Schema):
    """Central's Project (pyodk reads id, name, createdAt; the rest may be null)."""

    id = fields.Integer()
    name = fields.String()
    description = fields.String(allow_none=True)
    archived = fields.Boolean()
    key_id = fields.Constant(None, data_key="keyId")
    created_at = fields.DateTime(data_key="createdAt")
    updated_at = fields.DateTime(data_key="updatedAt", allow_none=True)
    deleted_at = fields.DateTime(data_key="deletedAt", allow_none=True)


class ProjectInput(Schema):
    """Central's Project.fromApi: its writable fields (name, description, archived); others
    are dropped as Central drops them."""

    class Meta:
        unknown = EXCLUDE

    name = fields.String(validate=validate.Length(min=1, max=255))
    description = fields.String(allow_none=True, validate=validate.Length(max=10_000))
    archived = fields.Boolean(allow_none=True)


class AppUserInput(Schema):
    """Central's {displayName}; ours adds the wards and sites (facility codes) the phone
    serves, each checked against its list."""

    display_name = fields.String(
        data_key="displayName", required=True, validate=validate.Length(min=1, max=255)
    )
    wards = fields.List(fields.String(validate=validate.Length(max=64)), load_default=list)
    sites = fields.List(fields.String(validate=validate.Length(max=64)), load_default=list)


class AppUserOutput(Schema):
    """Central's ProjectAppUser; ``token`` is the key only in the answer that creates it (a
    listing shows a marker that is not a key: app_users.listed_token)."""

    project_id = fields.Integer(data_key="projectId")
    id = fields.Integer()
    display_name = fields.String(data_key="displayName")
    created_at = fields.DateTime(data_key="createdAt")
    type = fields.Constant("field_key")
    token = fields.String(load_default=None, dump_default=None, allow_none=True)
    updated_at = fields.Constant(None, data_key="updatedAt")
    deleted_at = fields.Constant(None, data_key="deletedAt")


class CommentInput(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class CommentOutput(Schema):
    """Central's Comment (pyodk reads body, actorId, createdAt)."""

    body = fields.String()
    actor_id = fields.Integer(data_key="actorId", allow_none=True)
    created_at = fields.DateTime(data_key="createdAt")
