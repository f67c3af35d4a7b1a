"""Suspected duplicate clients in the REST API: the open pairs of a list in the caller's
wards, and a decision on one pair ("same" merges, "different" is never suggested again,
"undo" takes a decision back within 30 days)."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from server.api import bp
from server.db import get_db
from server.errors import UnexpectedValue
from server.extension import get_target_names
from server.services import duplicates

PAIRS = "/projects/<int:project_id>/datasets/<name>/duplicates"


def pair_json(view: duplicates.PairView) -> dict:
    return {
        "a": view.a.uuid,
        "b": view.b.uuid,
        "score": view.score,
        "reasons": list(view.reasons),
        "state": view.state,
        "survivor": view.survivor,
        "decidedAt": view.decided_at.isoformat() if view.decided_at else None,
    }


@bp.get(PAIRS)
def list_duplicates(project_id: int, name: str) -> Response:
    with get_db().transaction() as session:  # writes the audit row of the look
        views = duplicates.list_pairs(session, g.principal, project_id, name)
        return jsonify([pair_json(v) for v in views])


@bp.post(PAIRS + "/<a>/<b>")
def decide_duplicate(project_id: int, name: str, a: str, b: str) -> Response:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise UnexpectedValue("The body must be a JSON object with a decision.", field="body")
    decision = body.get("decision")
    keep = body.get("keep")
    if not isinstance(decision, str) or decision not in (*duplicates.DECISIONS, "undo"):
        raise UnexpectedValue(
            "The decision must be 'same', 'different' or 'undo'.",
            field="decision",
            value=decision,
        )
    if keep is not None and not isinstance(keep, str):
        raise UnexpectedValue("keep must be the uuid of one of the two.", field="keep", value=keep)
    with get_db().transaction() as session:
        if decision == "undo":
            view = duplicates.undo(session, g.principal, project_id, name, a, b, get_target_names())
        else:
            view = duplicates.decide(
                session, g.principal, project_id, name, a, b, decision, keep, get_target_names()
            )
        return jsonify(pair_json(view))
