"""The home page (projects), a project's page (its forms and entity lists, with counts), and
an entity list (the clients or referrals followed, in the caller's wards)."""

from __future__ import annotations

from flask import Response, g, render_template, request

from server.auth.permissions import can
from server.db import get_db
from server.services import entity_api, form_reads, projects, submissions
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
        lists = (
            entity_api.count_by_dataset(session, g.principal, project_id)
            if can(g.principal, "entity.read", project_id)
            else []
        )
    return render_template(
        "web/project.html", project=project, forms=views, counts=counts, lists=lists
    )


@bp.get("/projects/<int:project_id>/lists/<name>")
def list_entities(project_id: int, name: str) -> str:
    text = (request.args.get("q") or "").strip()[:200]
    try:
        after = int(request.args["after"]) if request.args.get("after") else None
    except ValueError:
        after = None
    with get_db().transaction() as session:
        project = projects.get_project(session, project_id)
        page = entity_api.page_entities(session, g.principal, project_id, name, text, after)
    return render_template("web/entities.html", project=project, page=page, q=text)
