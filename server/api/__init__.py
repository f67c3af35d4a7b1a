"""The REST API blueprint under /v1 (a Central-compatible subset): JSON in and out, errors as
{message, code, details}. Callers authenticate with a Bearer session, Basic over HTTPS, or an
app-user key; only POST /v1/sessions is open."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request
from marshmallow import ValidationError

from server.auth import routes
from server.db import get_db
from server.errors import AuthenticationFailed, Problem, problem_json
from server.extension import get_settings, login_limits
from server.http.caller import require_live_project, resolve_principal_throttled

bp = Blueprint("api", __name__, url_prefix="/v1")


@bp.before_request
def authenticate() -> None:
    settings = get_settings()
    g.principal = resolve_principal_throttled(get_db(), settings, login_limits(settings))
    if g.principal.is_anonymous and not routes.is_open(request.endpoint):
        raise AuthenticationFailed("Authentication is required.")
    routes.enforce(g.principal, request.endpoint, request.view_args or {})
    require_live_project(get_db(), request.view_args)


def is_true(value: str | None) -> bool:
    """Central's isTrue: pyodk sends True/False, browsers true/false."""
    return (value or "").lower() == "true"


def render_problem(problem: Problem) -> Response:
    response = jsonify(problem_json(problem))
    response.status_code = problem.status
    return response


def render_validation(error: ValidationError) -> Response:
    problem = Problem("The request body is not valid.", fields=error.messages)
    problem.code, problem.status = "400.31", 400
    return render_problem(problem)


bp.register_error_handler(Problem, render_problem)
bp.register_error_handler(ValidationError, render_validation)
