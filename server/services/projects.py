"""Projects: create, read, rename or archive (Central's PATCH), soft delete (Central's
DELETE: the project and everything in it answer 404 from then on; nothing is erased, so an
administrator can still recover it from the database). One server holds several programmes,
each a project: Hà Nội's and Đắk Lắk's."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, can, require
from server.errors import NotFound, Problem
from server.models.projects import Project
from server.models.types import utcnow
from server.services import audit

NAME_MAX = 255


class ProjectNameMissing(Problem):
    """Central's missingParameter for a project without a name."""

    code, status = "400.2", 400
    message = "Required parameter name missing."


def _clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ProjectNameMissing(field="name")
    return name.strip()[:NAME_MAX]


def create_project(
    session: Session, actor_id: int | None, name: str, description: str | None = None
) -> Project:
    """A new project (no permission check: the CLI, set-up and tests call this)."""
    project = Project(name=_clean_name(name), description=description or None)
    session.add(project)
    session.flush()
    audit.record(session, actor_id, "project.create", "project", project.id, {"name": name})
    return project


def create_project_as(
    session: Session, principal: Principal, name: object, description: object = None
) -> Project:
    """POST /v1/projects and the web page: only a site-wide project.create (an
    administrator, as in Central)."""
    require(principal, "project.create", None)
    text = description if isinstance(description, str) else None
    return create_project(session, principal.actor_id, _clean_name(name), text)


def update_project(
    session: Session, principal: Principal, project_id: int, changes: dict
) -> Project:
    """Central's PATCH: any of name, description, archived (its writable fields)."""
    project = get_project(session, project_id)
    require(principal, "project.update", project_id)
    if "name" in changes:
        project.name = _clean_name(changes["name"])
    if "description" in changes:
        project.description = changes["description"] or None
    if "archived" in changes:
        project.archived = bool(changes["archived"])
    project.updated_at = utcnow()
    session.flush()
    audit.record(
        session, principal.actor_id, "project.update", "project", project_id, dict(changes)
    )
    return project


def delete_project(session: Session, principal: Principal, project_id: int) -> None:
    """Central's DELETE: marks the project deleted; every route naming it then says 404."""
    project = get_project(session, project_id)
    require(principal, "project.delete", project_id)
    project.deleted_at = utcnow()
    session.flush()
    audit.record(session, principal.actor_id, "project.delete", "project", project_id)


def get_project(session: Session, project_id: int) -> Project:
    """Raise NotFound if there is no such project, or it was deleted."""
    project = session.get(Project, project_id)
    if project is None or project.deleted_at is not None:
        raise NotFound(f"Could not find project {project_id}.")
    return project


def is_live(session: Session, project_id: int) -> bool:
    """Whether the project exists and was not deleted (unknown ids are left to the routes,
    which answer as before)."""
    deleted = session.scalar(select(Project.deleted_at).where(Project.id == project_id))
    return deleted is None


def list_projects(session: Session) -> list[Project]:
    return list(
        session.scalars(select(Project).where(Project.deleted_at.is_(None)).order_by(Project.id))
    )


def list_visible_projects(session: Session, principal: Principal) -> list[Project]:
    """The projects the caller holds a role in (every project for a site-wide role)."""
    return [p for p in list_projects(session) if can(principal, "project.read", p.id)]
