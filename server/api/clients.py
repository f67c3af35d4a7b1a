"""One client's history in the REST API: the JSON twin of the client page (the same service
function, scope and audit)."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from server.api import bp
from server.db import get_db
from server.services import clients


def _linked(item) -> dict | None:
    return None if item is None else {"uuid": item.uuid, "label": item.label}


@bp.get("/projects/<int:project_id>/clients/<entity_id>/history")
def client_history(project_id: int, entity_id: str) -> Response:
    language = request.accept_languages.best_match(["vi", "en"]) or "vi"  # labels' language
    with get_db().transaction() as session:  # writes the audit row of this look
        view = clients.client_history(session, g.principal, project_id, entity_id, language)
    return jsonify(
        {
            "uuid": view.uuid,
            "label": view.label,
            "ward": view.ward,
            "wardLabel": view.ward_label,
            "properties": [
                {
                    "name": p.name,
                    "label": p.label,
                    "value": p.value,
                    "raw": p.raw,
                    "sensitive": p.sensitive,
                }
                for p in view.properties
            ],
            "mergedInto": _linked(view.merged_into),
            "mergedFrom": [_linked(m) for m in view.merged_from],
            "hidden": view.hidden,
            "history": [
                {
                    "day": r.day.isoformat() if r.day else None,
                    "receivedAt": r.received_at.isoformat(),
                    "xmlFormId": r.xml_form_id,
                    "formTitle": r.form_title,
                    "instanceId": r.instance_id,
                    "title": r.title,
                    "summary": r.summary,
                    "sensitive": r.sensitive,
                    "reviewState": r.review_state,
                    "referral": r.referral,
                    "due": r.due.isoformat() if r.due else None,
                    "attendees": r.attendees,
                    "mergedInto": _linked(r.merged_into),
                }
                for r in view.history
            ],
        }
    )
