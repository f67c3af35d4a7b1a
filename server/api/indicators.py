"""The programme's indicators in the REST API: GET /v1/projects/{id}/indicators (every code of
docs/indicators.md for a range of event dates and a scope, in the caller's wards) and
GET /v1/projects/{id}/indicators/{code}/records (the clients, submissions or referrals behind
one number). Bad dates or from after to are a 400 problem."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from server.api import bp
from server.db import get_db
from server.services import indicators, projects


@bp.get("/projects/<int:project_id>/indicators")
def project_indicators(project_id: int) -> Response:
    query = indicators.parse_query(request.args)
    with get_db().transaction(write=False) as session:
        projects.get_project(session, project_id)
        body = indicators.report(
            session, g.principal, project_id, query.first, query.last, query.scope
        )
    return jsonify(body)


@bp.get("/projects/<int:project_id>/indicators/<code>/records")
def indicator_records(project_id: int, code: str) -> Response:
    query = indicators.parse_query(request.args)
    with get_db().transaction(write=False) as session:
        projects.get_project(session, project_id)
        rows = indicators.records(
            session,
            g.principal,
            project_id,
            code,
            query.first,
            query.last,
            query.scope,
            query.cell,
        )
    return jsonify(
        {
            "code": code,
            "from": query.first.isoformat(),
            "to": query.last.isoformat(),
            "records": rows,
        }
    )
