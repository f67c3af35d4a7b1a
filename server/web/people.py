"""Field users (app users): create one and show its QR code once, set its wards, revoke it."""

from __future__ import annotations

import segno
from flask import Response, g, redirect, render_template, url_for
from flask_babel import gettext as _

from server.db import get_db
from server.extension import get_settings
from server.services import app_users, projects
from server.web import bp, render_error
from server.web.inputs import AppUserInput, read_form


@bp.get("/projects/<int:project_id>/app-users")
def list_app_users(project_id: int) -> str:
    with get_db().transaction(write=False) as session:
        project = projects.get_project(session, project_id)
        rows = app_users.list_app_users(session, g.principal, project_id)
        wards = app_users.wards_by_actor(session, [r.id for r in rows])
    return render_template("web/app_users.html", project=project, rows=rows, wards=wards)


@bp.post("/projects/<int:project_id>/app-users")
def create_app_user(project_id: int) -> Response | str:
    data, errors = read_form(AppUserInput())
    if errors:
        return render_error(400, _("Give the field user a name (for example the volunteer's)."))
    wards = [w.strip() for w in data["wards"].replace(";", ",").split(",") if w.strip()]
    with get_db().transaction() as session:
        issued = app_users.create_app_user(
            session, g.principal, project_id, data["display_name"].strip()
        )
        if wards:
            app_users.set_wards(session, g.principal, issued.actor_id, wards)
        project = projects.get_project(session, project_id)
    public_url = get_settings().public_url
    qr = segno.make(issued.qr_payload(public_url), error="L")
    return render_template(
        "web/app_user_created.html",
        project=project,
        issued=issued,
        wards=wards,
        server_url=issued.server_url(public_url),
        qr_data_uri=qr.svg_data_uri(scale=4, border=2),
    )


@bp.post("/projects/<int:project_id>/app-users/<int:actor_id>/revoke")
def revoke_app_user(project_id: int, actor_id: int) -> Response:
    with get_db().transaction() as session:
        app_users.revoke_app_user(session, g.principal, actor_id, project_id)
    return redirect(
        url_for("web.list_app_users", project_id=project_id, done="revoked"), 303
    )
