"""The home page (projects), a project's page (its forms and entity lists, with counts), and
an entity list (the clients or referrals followed, in the caller's wards)."""

from __future__ import annotations

from flask import Response, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from server.auth.permissions import can
from server.db import get_db
from server.services import entity_api, entity_views, form_reads, projects, submissions
from server.services.indicator_views import scope_options
from server.web import bp
from server.web.inputs import read_entity_list_query


@bp.get("/")
def home(error: str | None = None) -> str:
    with get_db().transaction(write=False) as session:
        visible = projects.list_visible_projects(session, g.principal)
        summary = [(p, form_reads.list_form_views(session, g.principal, p.id)) for p in visible]
    return render_template(
        "web/home.html",
        projects=summary,
        may_create=can(g.principal, "project.create", None),
        error=error,
    )


@bp.post("/projects")
def create_project() -> Response | str:
    """A new project (a programme): an administrator's, as in Central."""
    name = (request.form.get("name") or "").strip()
    if not name:
        return home(_("Enter the project's name."))
    with get_db().transaction() as session:
        project = projects.create_project_as(
            session, g.principal, name, request.form.get("description")
        )
        project_id = project.id
    return redirect(url_for("web.show_project", project_id=project_id), 303)


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
    """A list as a table (desktop) or compact cards (phone): chosen columns, sort, filters."""
    fields, kept = read_entity_list_query()
    language = str(get_locale() or "vi")
    with get_db().transaction() as session:
        project = projects.get_project(session, project_id)
        page = entity_views.readable_page(
            session, g.principal, project_id, name, entity_views.Query(**fields), language
        )
    options = scope_options(g.principal, project_id, language)
    return render_template(
        "web/entities.html",
        project=project,
        page=page,
        kept=kept,
        wards=options.wards,
        language=language,
        page_size=entity_views.PAGE,
        list_title={"clients": _("Clients"), "referrals": _("Referrals")}.get(name, name),
        may_resolve=can(g.principal, "entity.update", project_id),
    )


@bp.post("/projects/<int:project_id>/lists/<name>/<entity_id>/resolve")
def resolve_entity_conflict(project_id: int, name: str, entity_id: str) -> Response:
    """Mark an entity's conflict settled from the list page (Central's ?resolve=true), for
    the version the page showed: a newer one since is refused (409.15) and shown as such."""
    base = request.form.get("base_version", "")
    with get_db().transaction() as session:
        entity_api.update_entity(
            session,
            g.principal,
            project_id,
            name,
            entity_id,
            {},
            int(base) if base.isdigit() else None,
            False,
            resolve=True,
        )
    return redirect(url_for("web.list_entities", project_id=project_id, name=name), 303)
