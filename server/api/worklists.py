"""Work lists in the REST API: GET /v1/projects/{id}/worklists (each list's count) and
GET /v1/projects/{id}/worklists/{name} (one page of rows), for the caller's wards or the
``ward`` / ``site`` asked (another ward is a 403 problem, an unknown code a 400)."""

from __future__ import annotations

from flask import Response, g, jsonify, request
from flask_babel import get_locale

from server.api import bp
from server.db import get_db
from server.errors import UnexpectedValue
from server.services import projects, worklists


def _where(session, project_id: int):
    return worklists.where_of(
        session,
        g.principal,
        project_id,
        (request.args.get("ward") or "").strip() or None,
        (request.args.get("site") or "").strip() or None,
    )


def _language() -> str:
    asked = request.args.get("lang")
    return asked if asked in ("vi", "en") else str(get_locale() or "vi")


def _number(name: str, default: int) -> int:
    text = request.args.get(name)
    try:
        return int(text) if text else default
    except ValueError:
        raise UnexpectedValue(f"{name} must be a whole number.", field=name) from None


@bp.get("/projects/<int:project_id>/worklists")
def list_worklists(project_id: int) -> Response:
    today = worklists.local_today()
    with get_db().transaction(write=False) as session:
        projects.get_project(session, project_id)
        where = _where(session, project_id)
        counts = worklists.counts(session, g.principal, project_id, where, today)
    language = _language()
    return jsonify(
        [
            {"name": name, "title": worklists.title(name, language), "count": counts[name]}
            for name in worklists.NAMES
        ]
    )


@bp.get("/projects/<int:project_id>/worklists/<name>")
def get_worklist(project_id: int, name: str) -> Response:
    today = worklists.local_today()
    offset, limit = _number("offset", 0), min(_number("limit", worklists.PAGE), 1000)
    with get_db().transaction() as session:
        projects.get_project(session, project_id)
        where = _where(session, project_id)
        page = worklists.worklist(
            session, g.principal, project_id, name, where, today, offset, limit
        )
    language = _language()
    return jsonify(
        {
            "name": name,
            "title": worklists.title(name, language),
            "today": today.isoformat(),
            "total": page.total,
            "offset": page.offset,
            "rows": [worklists.describe(name, r, language, today) for r in page.rows],
        }
    )
