"""The audit log in the REST API: GET /v1/audits (search, newest first, Central's field names
plus ours) and GET /v1/audits.csv (everything that matches, streamed). Administrators only."""

from __future__ import annotations

from datetime import datetime

from flask import Response, g, jsonify, request, stream_with_context

from server.api import bp
from server.db import get_db
from server.errors import MissingParameter
from server.services import audit, paging


def filters_from_args(args) -> audit.AuditFilters:
    """The filters of the query string; a malformed value is a 400, not ignored."""

    def number(name: str) -> int | None:
        raw = args.get(name)
        if raw in (None, ""):
            return None
        if not raw.isdigit():
            raise MissingParameter(f"{name} must be a whole number.")
        return paging.check(int(raw), name)

    def moment(name: str) -> datetime | None:
        raw = args.get(name)
        if not raw:
            return None
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise MissingParameter(f"{name} must be an ISO 8601 date or time.") from None
        if value.tzinfo is None:
            raise MissingParameter(f"{name} must carry a time zone (e.g. 2026-11-22T00:00Z).")
        return value

    return audit.AuditFilters(
        action=args.get("action") or None,
        actor_id=number("actorId"),
        subject_type=args.get("subjectType") or None,
        subject_id=number("subjectId"),
        since=moment("start"),
        until=moment("end"),
        before_id=number("before"),
    )


def as_json(row: audit.AuditRow) -> dict:
    return {
        "id": row.id,
        "actorId": row.actor_id,
        "actorName": row.actor,
        "action": row.action,
        "subjectType": row.subject_type,
        "acteeId": row.subject_id,
        "details": row.details,
        "loggedAt": row.acted_at.isoformat(),
    }


@bp.get("/audits")
def list_audits() -> Response:
    filters = filters_from_args(request.args)
    limit = int(request.args["limit"]) if request.args.get("limit", "").isdigit() else 100
    with get_db().transaction() as session:  # reading the log is logged
        rows, next_before = audit.search(session, g.principal, filters, limit)
    response = jsonify([as_json(r) for r in rows])
    if next_before is not None:
        response.headers["X-Next-Before"] = str(next_before)
    return response


@bp.get("/audits.csv")
def export_audits() -> Response:
    filters = filters_from_args(request.args)
    return audit_csv_response(g.principal, filters)


def audit_csv_response(principal, filters: audit.AuditFilters) -> Response:
    """Record the export, then stream every matching row as CSV (one transaction to read)."""
    with get_db().transaction() as session:
        audit.record_export(session, principal, filters)

    def generate():
        with get_db().transaction(write=False) as session:
            yield from audit.csv_lines(audit.export(session, principal, filters))

    response = Response(stream_with_context(generate()), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
