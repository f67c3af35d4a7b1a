"""Users' passwords over the REST API: PUT /v1/users/{id}/password (Central's: old and new,
ends the user's other sessions) and POST /v1/users/reset/initiate (Central's shape; this
server sends no email, so the one-time link is answered to the administrator who asked)."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from server.api import bp
from server.api.schemas import PasswordChangeInput, ResetInitiateInput
from server.db import get_db
from server.extension import get_settings
from server.services import passwords


@bp.put("/users/<int:actor_id>/password")
def change_password(actor_id: int) -> Response:
    data = PasswordChangeInput().load(request.get_json(force=True, silent=True) or {})
    auth = request.authorization
    keep = auth.token if auth is not None and auth.type == "bearer" else None
    with get_db().transaction() as session:
        passwords.change_password(
            session, g.principal, actor_id, data["old"], data["new"], keep_token=keep
        )
    return jsonify({"success": True})


@bp.post("/users/reset/initiate")
def initiate_reset() -> Response:
    data = ResetInitiateInput().load(request.get_json(force=True, silent=True) or {})
    with get_db().transaction() as session:
        issued = passwords.create_reset(session, g.principal, email=data["email"])
    return jsonify(
        {
            "success": True,
            "resetUrl": get_settings().public_url + issued.path(),
            "expiresAt": issued.expires_at.isoformat(),
        }
    )
