"""The audit log for administrators: search by who, what, which record and when; export."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, g, render_template, request

from server.api.audits import audit_csv_response
from server.db import get_db
from server.extension import get_settings
from server.services import audit
from server.web import bp
from server.web.inputs import read_audit_filters


@bp.get("/audits")
def list_audits() -> str:
    filters, kept = read_audit_filters(get_settings().timezone)
    with get_db().transaction() as session:  # reading the log is logged
        rows, next_before = audit.search(session, g.principal, filters, 100)
        actors = audit.actors_in_log(session, g.principal)
        actions = audit.actions_in_log(session)
    query = {k: v for k, v in request.args.items() if k != "before" and v.strip()}
    return render_template(
        "web/audits.html",
        rows=rows,
        actors=actors,
        actions=actions,
        kept=kept,
        next_url=f"?{urlencode({**query, 'before': next_before})}" if next_before else None,
        export_url=f"/audits.csv?{urlencode(query)}",
    )


@bp.get("/audits.csv")
def export_audits() -> Response:
    filters, _kept = read_audit_filters(get_settings().timezone)
    return audit_csv_response(g.principal, filters)
