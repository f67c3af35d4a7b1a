"""The home page (projects) and a project's page (its forms, with counts)."""

from __future__ import annotations

from flask import Response, g, render_template

from server.auth.permissions import can
from server.db import get_db
from server.services import form_reads, projects, submissions
from server.web import bp


@bp.get("/")
def home() -> str:
    with get_db().transaction(write=False) as session:
        visible = projects.list_visible_projects(session, g.principal)
        summary = [(p, form_reads.list_form_views(session, g.principal, p.id)) for p in visible]
    return render_template("web/home.html", projects=summary)


@bp.get("/projects/<int:project_id>")
def show_project(project_id: int) -> Response | str:
    with get_db().transaction(write=False) as session:
        project = projects.get_project(session, project_id)
        views = form_reads.list_form_views(session, g.principal, project_id)
        counts = (
            submissions.counts_by_form(session, g.principal, project_id)
            if can(g.principal, "submission.read", project_id)
            else {}
        )
    return render_template("web/project.html", project=project, forms=views, counts=counts)
