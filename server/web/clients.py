"""The pages of one client (its properties and history) and of one referral (its service,
dates and outcomes), each a look audited by the service that reads it."""

from __future__ import annotations

from flask import g, render_template
from flask_babel import get_locale

from server.db import get_db
from server.services import clients, projects
from server.web import bp


@bp.get("/projects/<int:project_id>/clients/<entity_id>")
def show_client(project_id: int, entity_id: str) -> str:
    with get_db().transaction() as session:  # writes the audit row of this look
        project = projects.get_project(session, project_id)
        view = clients.client_history(
            session, g.principal, project_id, entity_id, str(get_locale() or "vi")
        )
    return render_template("web/client.html", project=project, c=view)


@bp.get("/projects/<int:project_id>/referrals/<referral_id>")
def show_referral(project_id: int, referral_id: str) -> str:
    with get_db().transaction() as session:  # writes the audit row of this look
        project = projects.get_project(session, project_id)
        view = clients.referral_detail(
            session, g.principal, project_id, referral_id, str(get_locale() or "vi")
        )
    return render_template("web/referral.html", project=project, r=view)
