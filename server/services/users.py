"""Web users: create with a role, verify passwords, resolve Digest and Basic credentials."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.auth import passwords
from server.auth.permissions import ROLE_VERBS, Principal
from server.errors import AlreadyExists, MissingParameter
from server.models.actors import Actor, RoleAssignment, User
from server.services import audit
from server.services.projects import get_project


def create_user(
    session: Session,
    actor_id: int | None,
    email: str,
    password: str,
    realm: str,
    role: str | None = None,
    project_id: int | None = None,
) -> User:
    """Create a web user; raise AlreadyExists, MissingParameter or passwords.WeakPassword."""
    email = email.strip().lower()
    if "@" not in email:
        raise MissingParameter(f"'{email}' is not an email address.")
    if role is not None and role not in ROLE_VERBS:
        raise MissingParameter(f"Unknown role '{role}'; use one of {', '.join(ROLE_VERBS)}.")
    passwords.check_policy(password)
    if project_id is not None:
        get_project(session, project_id)
    if session.scalar(select(User.actor_id).where(User.email == email)) is not None:
        raise AlreadyExists(f"A user with the email {email} already exists.")
    actor = Actor(type="user", display_name=email)
    session.add(actor)
    session.flush()
    user = User(
        actor_id=actor.id,
        email=email,
        password_hash=passwords.hash_password(password),
        digest_realm=realm,
        digest_ha1=passwords.digest_ha1(email, realm, password),
    )
    session.add(user)
    if role:
        session.add(RoleAssignment(actor_id=actor.id, role=role, project_id=project_id))
    session.flush()
    audit.record(
        session, actor_id, "user.create", "actor", actor.id, {"role": role, "projectId": project_id}
    )
    return user


def count_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(RoleAssignment).where(RoleAssignment.role == "admin")
        )
        or 0
    )


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(
        select(User)
        .join(Actor, Actor.id == User.actor_id)
        .where(User.email == email.strip().lower(), Actor.deleted_at.is_(None))
    )


def principal_for_user(session: Session, user: User) -> Principal:
    roles = session.execute(
        select(RoleAssignment.role, RoleAssignment.project_id).where(
            RoleAssignment.actor_id == user.actor_id
        )
    ).all()
    return Principal(user.actor_id, "user", user.email, frozenset((r, p) for r, p in roles))


def is_deleted(session: Session, user: User) -> bool:
    actor = session.get(Actor, user.actor_id)
    return actor is None or actor.deleted_at is not None
