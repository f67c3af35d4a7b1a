"""POST /v1/sessions (log in), DELETE /v1/sessions/current, GET /v1/users/current.

An account with a one-time code (TOTP) sends it as "code" beside email and password (a
recovery code works too); without it the answer is 401.91, and no session is opened."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from server.api import bp
from server.api.schemas import SessionInput, SessionOutput
from server.db import get_db
from server.errors import AuthenticationFailed, TooManyLogins
from server.extension import get_settings, login_limits
from server.services import second_factor, sessions


@bp.post("/sessions")
def create_session() -> Response:
    data = SessionInput().load(request.get_json(force=True, silent=True) or {})
    settings = get_settings()
    with get_db().transaction() as session:
        result = sessions.log_in(
            session,
            data["email"],
            data["password"],
            request.remote_addr,
            "bearer",
            login_limits(settings),
        )
        refused = result.issued and second_factor.check_bearer(
            session, result.issued.token, data["code"], settings.secret_key
        )
    if result.issued is None:  # refused after the audit row and the count were committed
        raise TooManyLogins() if result.locked_until else AuthenticationFailed()
    if refused:  # an account with a one-time code: none sent, or a wrong one
        raise refused
    return jsonify(SessionOutput().dump(result.issued))


@bp.delete("/sessions/current")
def end_session() -> Response:
    auth = request.authorization
    if auth is not None and auth.type == "bearer" and auth.token:
        with get_db().transaction() as session:
            sessions.end_session(session, auth.token)
    return jsonify({"success": True})


@bp.delete("/sessions/<token>")
def end_session_by_token(token: str) -> Response:
    """Central's logout of a named session: one's own, or anyone's for an administrator; a
    token that opens nothing is refused like another's (403.1, lib/resources/sessions.js)."""
    with get_db().transaction() as session:
        sessions.end_session_by_token(session, g.principal, token)
    return jsonify({"success": True})


@bp.get("/users/current")
def current_user() -> Response:
    principal = g.principal
    return jsonify(
        {"id": principal.actor_id, "type": principal.kind, "displayName": principal.display_name}
    )
