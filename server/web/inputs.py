"""HTML form posts and query strings read with marshmallow ("inputs": "forms" means ODK forms)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from server.services import paging
from server.services.audit import AuditFilters
from server.services.submissions import (
    DELIVERY_FILTERS,
    RECEIVED,
    REVIEW_STATES,
    SubmissionFilters,
)


class LoginInput(Schema):
    class Meta:
        unknown = EXCLUDE

    email = fields.String(required=True, validate=validate.Length(min=1, max=320))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class CodeInput(Schema):
    class Meta:
        unknown = EXCLUDE

    code = fields.String(required=True, validate=validate.Length(min=1, max=40))


class PasswordResetInput(Schema):
    class Meta:
        unknown = EXCLUDE

    new = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    repeat = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class PasswordChangeInput(PasswordResetInput):
    old = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class ReviewInput(Schema):
    class Meta:
        unknown = EXCLUDE

    review_state = fields.String(required=True, validate=validate.OneOf(REVIEW_STATES))
    comment = fields.String(load_default="", validate=validate.Length(max=10_000))
    # The list's filters (a query string) to return to; absent when not posted from the page.
    back = fields.String(load_default=None, validate=validate.Length(max=2000))


class DuplicateInput(Schema):
    """A decision on a suspected duplicate pair (the queue's buttons)."""

    class Meta:
        unknown = EXCLUDE

    decision = fields.String(required=True, validate=validate.OneOf(("same", "different", "undo")))
    keep = fields.String(load_default=None, validate=validate.Length(max=64))


class CommentInput(Schema):
    class Meta:
        unknown = EXCLUDE

    body = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class AppUserInput(Schema):
    class Meta:
        unknown = EXCLUDE

    display_name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    wards = fields.String(load_default="", validate=validate.Length(max=2000))
    sites = fields.String(load_default="", validate=validate.Length(max=2000))


class FilterInput(Schema):
    """The submission list's query string; a bad value is ignored, not an error."""

    class Meta:
        unknown = EXCLUDE

    since = fields.Date(load_default=None)
    until = fields.Date(load_default=None)
    submitter = fields.Integer(load_default=None, strict=False)
    ward = fields.String(load_default=None, validate=validate.Length(max=32))
    review = fields.String(load_default=None, validate=validate.OneOf((*REVIEW_STATES, RECEIVED)))
    delivery = fields.String(load_default=None, validate=validate.OneOf(DELIVERY_FILTERS))
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    before = fields.Integer(load_default=None, strict=False)


def read_form(schema: Schema) -> tuple[dict, dict]:
    """(data, errors) from request.form; errors is empty when the post is valid."""
    try:
        return schema.load(request.form), {}
    except ValidationError as e:
        return {}, e.messages


def read_filters(timezone: str) -> tuple[SubmissionFilters, dict]:
    """The list's filters; the values kept for the page. Dates are local days, made UTC."""
    kept = _kept(FilterInput())
    zone = ZoneInfo(timezone)
    since = _start_of(kept.get("since"), zone)
    until = _start_of(kept.get("until"), zone, days=1)
    filters = SubmissionFilters(
        since=since,
        until=until,
        submitter_id=kept.get("submitter"),
        ward=kept.get("ward"),
        review_state=kept.get("review"),
        delivery=kept.get("delivery"),
        text=kept.get("q"),
        before_id=kept.get("before"),
    )
    return filters, kept


def _start_of(day: date | None, zone: ZoneInfo, days: int = 0) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=days), time.min, tzinfo=zone).astimezone(
        ZoneInfo("UTC")
    )


class AuditFilterInput(Schema):
    class Meta:
        unknown = EXCLUDE

    action = fields.String(load_default=None, validate=validate.Length(max=64))
    actor = fields.Integer(load_default=None, strict=False)
    subject_type = fields.String(load_default=None, validate=validate.Length(max=32))
    subject_id = fields.Integer(load_default=None, strict=False)
    since = fields.Date(load_default=None)
    until = fields.Date(load_default=None)
    before = fields.Integer(load_default=None, strict=False)


def read_audit_filters(timezone: str) -> tuple[AuditFilters, dict]:
    kept = _kept(AuditFilterInput())
    zone = ZoneInfo(timezone)
    filters = AuditFilters(
        action=kept.get("action"),
        actor_id=kept.get("actor"),
        subject_type=kept.get("subject_type"),
        subject_id=kept.get("subject_id"),
        since=_start_of(kept.get("since"), zone),
        until=_start_of(kept.get("until"), zone, days=1),
        before_id=kept.get("before"),
    )
    return filters, kept


def _kept(schema: Schema) -> dict:
    """The query string's valid values; a bad value is left out rather than an error."""
    raw = {k: v for k, v in request.args.items() if v.strip()}
    kept: dict = {}
    for name in schema.fields:
        if name in raw:
            try:
                kept[name] = schema.load({name: raw[name]})[name]
            except ValidationError:
                continue
    return kept


class UserInput(Schema):
    class Meta:
        unknown = EXCLUDE

    email = fields.Email(required=True, validate=validate.Length(max=320))
    password = fields.String(required=True, validate=validate.Length(min=10, max=1024))
    role = fields.String(load_default="", validate=validate.Length(max=32))
    project_id = fields.Integer(load_default=None, allow_none=True)
    wards = fields.String(load_default="", validate=validate.Length(max=2000))
    digest = fields.Boolean(load_default=False)


class RoleInput(Schema):
    class Meta:
        unknown = EXCLUDE

    role = fields.String(required=True, validate=validate.Length(min=1, max=32))
    project_id = fields.Integer(load_default=None, allow_none=True)
    wards = fields.String(load_default="", validate=validate.Length(max=2000))


class EntityListInput(Schema):
    """An entity list page's query string (services/entity_views.Query)."""

    class Meta:
        unknown = EXCLUDE

    sort = fields.String(load_default=None, validate=validate.Length(max=64))
    desc = fields.Boolean(load_default=False)
    ward = fields.String(load_default=None, validate=validate.Length(max=16))
    date_field = fields.String(load_default=None, validate=validate.Length(max=64))
    date_from = fields.Date(load_default=None, data_key="from")
    date_to = fields.Date(load_default=None, data_key="to")
    q = fields.String(load_default="", validate=validate.Length(max=200))
    offset = fields.Integer(
        load_default=0, strict=False, validate=validate.Range(min=0, max=paging.MAX_NUMBER)
    )


FILTER_PREFIX = "f_"  # f_trang_thai=mo: a property's value to filter by


def read_entity_list_query() -> tuple[dict, dict]:
    """(the Query's fields, the values kept for the page) of an entity list's query string:
    chosen columns (``cols``, repeated), sort, filters ``f_<property>``, a date range."""
    schema = EntityListInput()
    raw = {k: v for k, v in request.args.items() if v.strip()}
    kept: dict = {}
    for name, item in schema.fields.items():
        key = item.data_key or name
        if key in raw:
            try:
                kept[name] = schema.load({key: raw[key]})[name]
            except ValidationError:
                continue
    filters = tuple(
        (k.removeprefix(FILTER_PREFIX)[:64], v.strip()[:64])
        for k, v in request.args.items()
        if k.startswith(FILTER_PREFIX) and v.strip()
    )
    columns = tuple(c[:64] for c in request.args.getlist("cols") if c.strip())[:20]
    query = {
        "columns": columns,
        "sort": kept.get("sort"),
        "descending": kept.get("desc", False),
        "filters": filters,
        "ward": kept.get("ward"),
        "date_field": kept.get("date_field"),
        "date_from": kept.get("date_from"),
        "date_to": kept.get("date_to"),
        "text": (kept.get("q") or "").strip(),
        "offset": kept.get("offset", 0),
    }
    return query, {**{k: raw[k] for k in raw}, "cols": list(columns)}
