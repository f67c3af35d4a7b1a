"""Work lists of a ward or a counselling point: the page listing them with their counts, and
one list's page (each row a tap from the client). services/worklists decides the rows."""

from __future__ import annotations

from flask import Response, g, render_template, request
from flask_babel import get_locale

from server.db import get_db
from server.errors import UnexpectedValue
from server.services import paging, places, projects, worklists
from server.services.indicator_views import scope_options
from server.web import bp
from server.web.people import unknown_codes


class BadChoice(UnexpectedValue):
    """A ward or site code no list knows, said in the reader's language."""


def _choice() -> tuple[str | None, str | None]:
    ward = (request.args.get("ward") or "").strip()[:16] or None
    site = (request.args.get("site") or "").strip()[:64] or None
    return ward, site


def _where(session, project_id: int, ward: str | None, site: str | None):
    """The scope asked, checked by the service; an unknown code in the reader's words."""
    try:
        return worklists.where_of(session, g.principal, project_id, ward, site)
    except places.UnknownCode as problem:
        raise BadChoice(unknown_codes(problem)) from None


def _filters(session, project_id: int) -> dict:
    """The wards (only the caller's) and counselling points the page offers."""
    return {
        "wards": scope_options(g.principal, project_id, "vi").wards,
        "sites": places.facilities(session, project_id),
    }


@bp.get("/projects/<int:project_id>/worklists")
def show_worklists(project_id: int) -> Response | str:
    ward, site = _choice()
    today = worklists.local_today()
    language = str(get_locale() or "vi")
    with get_db().transaction(write=False) as session:
        project = projects.get_project(session, project_id)
        where = _where(session, project_id, ward, site)
        counts = worklists.counts(session, g.principal, project_id, where, today)
        offered = _filters(session, project_id)
    lists = [(n, worklists.title(n, language), counts[n]) for n in worklists.NAMES]
    return render_template(
        "web/worklists.html", project=project, lists=lists, ward=ward, site=site, **offered
    )


@bp.get("/projects/<int:project_id>/worklists/<name>")
def show_worklist(project_id: int, name: str) -> Response | str:
    ward, site = _choice()
    try:  # a page number out of range shows the first page, as the entity lists do
        offset = paging.check(int(request.args.get("offset") or 0), "offset")
    except (ValueError, UnexpectedValue):
        offset = 0
    today = worklists.local_today()
    language = str(get_locale() or "vi")
    with get_db().transaction() as session:
        project = projects.get_project(session, project_id)
        where = _where(session, project_id, ward, site)
        page = worklists.worklist(session, g.principal, project_id, name, where, today, offset)
        offered = _filters(session, project_id)
    return render_template(
        "web/worklist.html",
        project=project,
        name=name,
        title=worklists.title(name, language),
        page=page,
        rows=[worklists.describe(name, r, language, today) for r in page.rows],
        ward=ward,
        site=site,
        **offered,
    )
