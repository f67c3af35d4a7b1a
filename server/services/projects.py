"""Projects: create, read."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, can
from server.errors import NotFound
from server.models.projects import Project
from server.services import audit


def create_project(session: Session, actor_id: int | None, name: str) -> Project:
    project = Project(name=name)
    session.add(project)
    session.flush()
    audit.record(session, actor_id, "project.create", "project", project.id, {"name": name})
    return project


def get_project(session: Session, project_id: int) -> Project:
    """Raise NotFound if there is no such project."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"Could not find project {project_id}.")
    return project


def list_projects(session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.id)))


def list_visible_projects(session: Session, principal: Principal) -> list[Project]:
    """The projects the caller holds a role in (every project for a site-wide role)."""
    return [p for p in list_projects(session) if can(principal, "project.read", p.id)]
