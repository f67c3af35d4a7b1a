"""Plan targets in the REST API (domain decision 6): GET the plan (optional ``period`` and
``indicator`` filters), PUT rows to insert, change or remove (``planned`` null). The rules,
the checks and the audit are services/targets.py's."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from server.api import bp
from server.db import get_db
from server.services import targets


@bp.get("/projects/<int:project_id>/targets")
def list_targets(project_id: int) -> Response:
    filters = targets.TargetFilters(
        period=request.args.get("period") or None,
        indicator=request.args.get("indicator") or None,
    )
    with get_db().transaction(write=False) as session:
        rows = targets.list_targets(session, g.principal, project_id, filters)
    return jsonify([row.as_json() for row in rows])


@bp.put("/projects/<int:project_id>/targets")
def set_targets(project_id: int) -> Response:
    """Every row or none is written; the answer is the plan afterwards (as GET gives it)."""
    rows = targets.rows_from_json(request.get_json(force=True, silent=True))
    with get_db().transaction() as session:
        plan = targets.set_targets(session, g.principal, project_id, rows)
    return jsonify([row.as_json() for row in plan])
