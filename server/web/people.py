"""Field users (app users): create one and show its QR code once, revoke it, give it a new
QR code; web users (administrators): create, give and take roles (per project or ward), end
their sessions, close their account."""

from __future__ import annotations

from datetime import UTC, datetime

import segno
from flask import Response, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server.db import get_db
from server.errors import Problem, WeakPassword
from server.extension import get_settings
from server.services import (
    app_users,
    field_users,
    form_reads,
    passwords,
    places,
    projects,
    second_factor,
    sessions,
    users,
)
from server.web import bp, render_error
from server.web.account import password_sentence, reset_link_page
from server.web.inputs import AppUserInput, RoleInput, UserInput, read_form


@bp.get("/projects/<int:project_id>/app-users")
def list_app_users(project_id: int) -> str:
    with get_db().transaction(write=False) as session:
        project = projects.get_project(session, project_id)
        rows = app_users.list_app_users(session, g.principal, project_id)
        wards = app_users.wards_by_actor(session, [r.id for r in rows])
        sites = app_users.sites_by_actor(session, [r.id for r in rows])
        assigned = app_users.assigned_forms(session, [r.id for r in rows])
        all_forms = app_users.all_forms_actors(session, [r.id for r in rows])
        reachable = app_users.reachable(session, g.principal, project_id, [r.id for r in rows])
        forms = form_reads.list_form_views(session, g.principal, project_id)
        facilities = places.facilities(session, project_id)
    return render_template(
        "web/app_users.html",
        project=project,
        rows=rows,
        wards=wards,
        sites=sites,
        assigned=assigned,
        all_forms=all_forms,
        reachable=reachable,
        forms=forms,
        form_names={f.xml_form_id: f.name or f.xml_form_id for f in forms},
        ward_places=places.wards(),
        site_places=facilities,
    )


def _codes(name: str) -> list[str]:
    """The codes of a field: the boxes ticked in its picker, or codes typed in one box,
    separated by commas or semicolons."""
    return [
        c.strip()
        for value in request.form.getlist(name)
        for c in value.replace(";", ",").split(",")
        if c.strip()
    ]


def unknown_codes(problem: places.UnknownCode) -> str:
    """The sentence for codes no list knows, in the reader's language."""
    codes = ", ".join(problem.unknown)
    if problem.kind == "wards":
        return _("These are not commune/ward codes of the list: %(codes)s.", codes=codes)
    return _("These are not codes of the project's facilities: %(codes)s.", codes=codes)


def _chosen_forms() -> tuple[bool, list[str]]:
    """(every form?, the forms ticked) from the form-access part of a field-user form."""
    every = request.form.get("form_access", "all") == "all"
    return every, [] if every else request.form.getlist("forms")


@bp.post("/projects/<int:project_id>/app-users")
def create_app_user(project_id: int) -> Response | str:
    data, errors = read_form(AppUserInput())
    if errors:
        return render_error(400, _("Give the field user a name (for example the volunteer's)."))
    every, chosen = _chosen_forms()
    if not every and not chosen:
        return render_error(400, _("Tick at least one form for this phone, or choose every form."))
    try:
        with get_db().transaction() as session:
            issued = app_users.create_app_user(
                session,
                g.principal,
                project_id,
                data["display_name"].strip(),
                all_forms=every,
                forms=chosen,
                wards=_codes("wards"),
                sites=_codes("sites"),
            )
            project = projects.get_project(session, project_id)
            wards = app_users.wards_by_actor(session, [issued.actor_id]).get(issued.actor_id, [])
            sites = app_users.sites_by_actor(session, [issued.actor_id]).get(issued.actor_id, [])
    except places.UnknownCode as problem:
        return render_error(400, unknown_codes(problem))
    return _qr_page(project, issued, wards, sites)


def _qr_page(project, issued, wards: list[str], sites: list[str]) -> str:
    public_url = get_settings().public_url
    qr = segno.make(issued.qr_payload(public_url), error="L")
    return render_template(
        "web/app_user_created.html",
        project=project,
        issued=issued,
        wards=wards,
        sites=sites,
        server_url=issued.server_url(public_url),
        qr_data_uri=qr.svg_data_uri(scale=4, border=2),
    )


@bp.post("/projects/<int:project_id>/app-users/<int:actor_id>/reissue")
def reissue_app_user(project_id: int, actor_id: int) -> str:
    """A new QR code for a field user whose key may have leaked; the old one stops at once."""
    with get_db().transaction() as session:
        issued = app_users.reissue_app_user(session, g.principal, actor_id, project_id)
        project = projects.get_project(session, project_id)
        wards = app_users.wards_by_actor(session, [actor_id]).get(actor_id, [])
        sites = app_users.sites_by_actor(session, [actor_id]).get(actor_id, [])
    return _qr_page(project, issued, wards, sites)


@bp.post("/projects/<int:project_id>/app-users/<int:actor_id>/forms")
def set_app_user_forms(project_id: int, actor_id: int) -> Response | str:
    """The forms a phone receives: every form of the project, or the ones ticked. Collect,
    set to match the server exactly, removes a form taken away at its next update."""
    every, chosen = _chosen_forms()
    if not every and not chosen:
        return render_error(400, _("Tick at least one form for this phone, or choose every form."))
    with get_db().transaction() as session:
        app_users.set_forms(session, g.principal, project_id, actor_id, every, chosen)
    return redirect(url_for("web.list_app_users", project_id=project_id, done="forms"), 303)


@bp.post("/projects/<int:project_id>/app-users/<int:actor_id>/revoke")
def revoke_app_user(project_id: int, actor_id: int) -> Response:
    with get_db().transaction() as session:
        app_users.revoke_app_user(session, g.principal, actor_id, project_id)
    return redirect(url_for("web.list_app_users", project_id=project_id, done="revoked"), 303)


# --- Web users and their roles (administrators) ------------------------------------------

ROLES = ("admin", "manager", "supervisor", "viewer", "collector")


@bp.get("/users")
def list_users() -> str:
    """The users and their roles; ``?edit=ID`` opens that user's role form with the ward
    picker (one picker on the page, not one per user)."""
    with get_db().transaction(write=False) as session:
        rows = users.list_users(session, g.principal)
        all_projects = projects.list_projects(session)
    return render_template(
        "web/users.html",
        rows=rows,
        projects=all_projects,
        project_names={p.id: p.name for p in all_projects},
        roles=ROLES,
        ward_places=places.wards(),
        editing=request.args.get("edit", type=int),
        error=None,
    )


@bp.post("/users")
def create_user() -> Response | str:
    data, errors = read_form(UserInput())
    if errors:
        return _users_page(_("Enter an email address and a password of at least 10 characters."))
    try:
        with get_db().transaction() as session:
            users.create_user(
                session,
                g.principal.actor_id,
                data["email"],
                data["password"],
                get_settings().digest_realm,
                data["role"] or None,
                data["project_id"],
                _codes("wards"),
                digest=data["digest"],
            )
    except places.UnknownCode as problem:
        return _users_page(unknown_codes(problem))
    except WeakPassword as e:
        return _users_page(password_sentence(e))
    except Problem as problem:
        if problem.status in (400, 409):
            return _users_page(problem.message)
        raise
    return redirect(url_for("web.list_users", done="user_created"), 303)


@bp.post("/users/<int:actor_id>/roles")
def assign_role(actor_id: int) -> Response | str:
    data, errors = read_form(RoleInput())
    if errors:
        return _users_page(_("Choose a role."))
    try:
        with get_db().transaction() as session:
            users.assign_role_as(
                session,
                g.principal,
                actor_id,
                data["role"],
                data["project_id"],
                _codes("wards"),
            )
    except places.UnknownCode as problem:
        return _users_page(unknown_codes(problem))
    except Problem as problem:
        if problem.status == 400:
            return _users_page(problem.message)
        raise
    return redirect(url_for("web.list_users", done="role_assigned"), 303)


@bp.post("/users/<int:actor_id>/roles/remove")
def remove_roles(actor_id: int) -> Response:
    project_id = request.form.get("project_id", type=int)
    with get_db().transaction() as session:
        users.remove_roles_as(session, g.principal, actor_id, project_id)
    return redirect(url_for("web.list_users", done="role_removed"), 303)


@bp.post("/users/<int:actor_id>/sessions/end")
def end_user_sessions(actor_id: int) -> Response:
    with get_db().transaction() as session:
        users.require_admin(g.principal)
        sessions.end_all_sessions(session, actor_id, g.principal.actor_id)
    return redirect(url_for("web.list_users", done="sessions_ended"), 303)


@bp.post("/users/<int:actor_id>/reset")
def create_reset_link(actor_id: int) -> Response:
    """A one-time link for the user to set a new password, shown to the administrator to
    hand over (this server sends no email); the password itself is never shown."""
    with get_db().transaction() as session:
        issued = passwords.create_reset(session, g.principal, actor_id=actor_id)
    return reset_link_page(issued)


@bp.post("/users/<int:actor_id>/digest")
def set_user_digest(actor_id: int) -> Response:
    """Digest (ODK Collect with this email and password) on or off; off wipes the HA1."""
    with get_db().transaction() as session:
        passwords.set_digest(session, g.principal, actor_id, request.form.get("digest") == "on")
    return redirect(url_for("web.list_users", done="digest_saved"), 303)


@bp.post("/users/<int:actor_id>/two-factor/remove")
def remove_user_two_factor(actor_id: int) -> Response:
    """Take away the one-time code of a user who lost phone and recovery codes; they set
    up a new one at their next log-in."""
    with get_db().transaction() as session:
        second_factor.remove(session, g.principal, actor_id=actor_id)
    return redirect(url_for("web.list_users", done="two_factor_removed"), 303)


@bp.post("/users/<int:actor_id>/deactivate")
def deactivate_user(actor_id: int) -> Response | str:
    try:
        with get_db().transaction() as session:
            users.deactivate_user(session, g.principal, actor_id)
    except Problem as problem:
        if problem.status == 400:
            return _users_page(problem.message)
        raise
    return redirect(url_for("web.list_users", done="user_closed"), 303)


def _users_page(error: str) -> Response:
    with get_db().transaction(write=False) as session:
        rows = users.list_users(session, g.principal)
        all_projects = projects.list_projects(session)
    html = render_template(
        "web/users.html",
        rows=rows,
        projects=all_projects,
        project_names={p.id: p.name for p in all_projects},
        roles=ROLES,
        ward_places=places.wards(),
        editing=None,
        error=error,
    )
    return Response(html, status=400, content_type="text/html; charset=utf-8")


@bp.get("/projects/<int:project_id>/field-users")
def list_field_users(project_id: int) -> str:
    """Each phone's wards and sites, last contact and submissions (read-only for supervisors;
    a manager changes the wards and sites here)."""
    settings = get_settings()
    with get_db().transaction() as session:
        project = projects.get_project(session, project_id)
        rows = field_users.activity(
            session, g.principal, project_id, settings.timezone, datetime.now(UTC)
        )
        facilities = places.facilities(session, project_id)
    return render_template(
        "web/field_users.html",
        project=project,
        rows=rows,
        ward_places=places.wards(),
        site_places=facilities,
        editing=request.args.get("edit", type=int),
    )


@bp.post("/projects/<int:project_id>/app-users/<int:actor_id>/places")
def set_app_user_places(project_id: int, actor_id: int) -> Response | str:
    """A phone's wards and sites, as ``flask app-users wards`` / ``sites`` set them."""
    try:
        with get_db().transaction() as session:
            field_users.set_places(
                session, g.principal, project_id, actor_id, _codes("wards"), _codes("sites")
            )
    except places.UnknownCode as problem:
        return render_error(400, unknown_codes(problem))
    return redirect(url_for("web.list_field_users", project_id=project_id, done="places"), 303)
