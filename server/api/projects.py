"""Projects, app users and form assignments in the REST API, in Central's shapes (what pyodk's
``projects.list/get`` and ``projects.create_app_users(..., forms=[...])`` call).

Projects are created (an administrator), renamed, archived and soft-deleted as in Central.
App-user tokens are kept only as their sha256, so a listing shows a marker, not the key; the
key is in the answer to the POST that creates the app user, once. A new app user receives no form
until one is assigned to it, as in Central (the web UI and the command line offer "every
form of the project" as well).
"""

from __future__ import annotations

from flask import Response, g, jsonify, request

from server.api import bp
from server.api.schemas import AppUserInput, AppUserOutput, ProjectInput, ProjectOutput
from server.db import get_db
from server.errors import Problem
from server.services import app_users, projects

FORM = "/projects/<int:project_id>/forms/<xml_form_id>"


class UnsupportedRole(Problem):
    code, status = "400.92", 400
    message = "Only the app-user role (id 2, system name 'app-user') is assigned on forms here."


def _role(role_id: str) -> int:
    if role_id not in (str(app_users.APP_USER_ROLE_ID), app_users.APP_USER_ROLE):
        raise UnsupportedRole(roleId=role_id)
    return app_users.APP_USER_ROLE_ID


@bp.get("/projects")
def list_projects() -> Response:
    with get_db().transaction(write=False) as session:
        rows = projects.list_visible_projects(session, g.principal)
    return jsonify(ProjectOutput(many=True).dump(rows))


@bp.get("/projects/<int:project_id>")
def get_project(project_id: int) -> Response:
    with get_db().transaction(write=False) as session:
        row = projects.get_project(session, project_id)
    return jsonify(ProjectOutput().dump(row))


@bp.post("/projects")
def create_project() -> Response:
    """Central's project creation: an administrator's (project.create), body {name, description}."""
    data = ProjectInput().load(request.get_json(force=True, silent=True) or {})
    with get_db().transaction() as session:
        project = projects.create_project_as(
            session, g.principal, data.get("name"), data.get("description")
        )
        out = ProjectOutput().dump(project)
    return jsonify(out)


@bp.patch("/projects/<int:project_id>")
def update_project(project_id: int) -> Response:
    """Rename, describe or archive ({"archived": true}) a project (project.update)."""
    data = ProjectInput().load(request.get_json(force=True, silent=True) or {})
    with get_db().transaction() as session:
        out = ProjectOutput().dump(projects.update_project(session, g.principal, project_id, data))
    return jsonify(out)


@bp.delete("/projects/<int:project_id>")
def delete_project(project_id: int) -> Response:
    """Central's soft delete (project.delete): every route naming the project then says 404."""
    with get_db().transaction() as session:
        projects.delete_project(session, g.principal, project_id)
    return jsonify({"success": True})


@bp.get("/projects/<int:project_id>/app-users")
def list_app_users(project_id: int) -> Response:
    with get_db().transaction(write=False) as session:
        rows = app_users.list_app_users(session, g.principal, project_id, live_only=True)
    return jsonify(
        AppUserOutput(many=True).dump(
            [
                {
                    "project_id": project_id,
                    "id": r.id,
                    "display_name": r.display_name,
                    "created_at": r.created_at,
                    "token": app_users.listed_token(r.token_sha256, r.revoked_at is not None),
                }
                for r in rows
            ]
        )
    )


@bp.post("/projects/<int:project_id>/app-users")
def create_app_user(project_id: int) -> Response:
    data = AppUserInput().load(request.get_json(force=True, silent=True) or {})
    with get_db().transaction() as session:
        issued = app_users.create_app_user(
            session,
            g.principal,
            project_id,
            data["display_name"],
            wards=data["wards"],
            sites=data["sites"],
        )
        created_at = app_users.created_at(session, issued.actor_id)
    return jsonify(
        AppUserOutput().dump(
            {
                "project_id": project_id,
                "id": issued.actor_id,
                "display_name": issued.display_name,
                "created_at": created_at,
                "token": issued.token,
            }
        )
    )


@bp.delete("/projects/<int:project_id>/app-users/<int:actor_id>")
def revoke_app_user(project_id: int, actor_id: int) -> Response:
    """Central deletes the app user; here its key is revoked at once (what it sent stays)."""
    with get_db().transaction() as session:
        app_users.revoke_app_user(session, g.principal, actor_id, project_id)
    return jsonify({"success": True})


@bp.get(f"{FORM}/assignments")
def list_form_assignments(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        pairs = app_users.form_assignees(session, g.principal, project_id, xml_form_id)
    return jsonify([{"actorId": actor, "roleId": app_users.APP_USER_ROLE_ID} for actor, _ in pairs])


@bp.get(f"{FORM}/assignments/<role_id>")
def list_form_assignees(project_id: int, xml_form_id: str, role_id: str) -> Response:
    _role(role_id)
    with get_db().transaction(write=False) as session:
        pairs = app_users.form_assignees(session, g.principal, project_id, xml_form_id)
        actors = app_users.actors(session, [actor for actor, _ in pairs])
    return jsonify(
        [
            {
                "id": a.id,
                "type": a.type,
                "displayName": a.display_name,
                "createdAt": a.created_at.isoformat(),
                "updatedAt": None,
                "deletedAt": a.deleted_at.isoformat() if a.deleted_at else None,
            }
            for a in actors
        ]
    )


@bp.route(f"{FORM}/assignments/<role_id>/<int:actor_id>", methods=["POST", "DELETE"])
def change_form_assignment(
    project_id: int, xml_form_id: str, role_id: str, actor_id: int
) -> Response:
    """POST gives the form to the app user's phone, DELETE takes it away."""
    _role(role_id)
    change = app_users.assign_form if request.method == "POST" else app_users.unassign_form
    with get_db().transaction() as session:
        change(session, g.principal, project_id, xml_form_id, actor_id)
    return jsonify({"success": True})


@bp.get("/projects/<int:project_id>/assignments/forms")
def list_project_form_assignments(project_id: int) -> Response:
    return _project_form_assignments(project_id)


@bp.get("/projects/<int:project_id>/assignments/forms/<role_id>")
def list_project_form_assignments_by_role(project_id: int, role_id: str) -> Response:
    _role(role_id)
    return _project_form_assignments(project_id)


def _project_form_assignments(project_id: int) -> Response:
    with get_db().transaction(write=False) as session:
        pairs = app_users.form_assignees(session, g.principal, project_id)
    return jsonify(
        [
            {"actorId": actor, "xmlFormId": form, "roleId": app_users.APP_USER_ROLE_ID}
            for actor, form in pairs
        ]
    )
