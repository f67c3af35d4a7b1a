"""Web users: create with a role, verify passwords, resolve Digest and Basic credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server.auth import passwords
from server.auth.permissions import ROLE_VERBS, Principal, require
from server.errors import AlreadyExists, MissingParameter, NotFound
from server.models.actors import Actor, RoleAssignment, User, WebSession
from server.models.credentials import TotpFactor
from server.models.types import utcnow
from server.services import audit, places
from server.services.audit import record
from server.services.projects import get_project


def create_user(
    session: Session,
    actor_id: int | None,
    email: str,
    password: str,
    realm: str,
    role: str | None = None,
    project_id: int | None = None,
    wards: list[str] | tuple[str, ...] = (),
    digest: bool = False,
) -> User:
    """Create a web user; raise AlreadyExists, MissingParameter or passwords.WeakPassword.

    ``digest``: the account also logs in with HTTP Digest (ODK Collect with a username and
    password), so its HA1, a password equivalent, is kept beside the argon2 hash."""
    email = email.strip().lower()
    if "@" not in email:
        raise MissingParameter(f"'{email}' is not an email address.")
    if role is not None and role not in ROLE_VERBS:
        raise MissingParameter(f"Unknown role '{role}'; use one of {', '.join(ROLE_VERBS)}.")
    passwords.check_policy(password, email, digest)
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
        digest_ha1=passwords.digest_ha1(email, realm, password) if digest else None,
        uses_digest=digest,
    )
    session.add(user)
    session.flush()
    audit.record(
        session, actor_id, "user.create", "actor", actor.id, {"email": email, "digest": digest}
    )
    if role:
        assign_role(session, actor_id, actor.id, role, project_id, wards)
    return user


def assign_role(
    session: Session,
    by_actor_id: int | None,
    actor_id: int,
    role: str,
    project_id: int | None,
    wards: list[str] | tuple[str, ...] = (),
) -> None:
    """Give a role site-wide, in a project, or (with ``wards``) in some wards of a project."""
    if role not in ROLE_VERBS or role == "draft_tester":
        raise MissingParameter(f"Unknown role '{role}'.")
    wards = sorted({w.strip() for w in wards if w.strip()})
    if wards and project_id is None:
        raise MissingParameter("A role limited to wards must name its project.")
    if project_id is not None:
        get_project(session, project_id)
    wards = sorted(places.check_codes(session, project_id, "wards", wards))
    for ward in wards or [None]:
        exists = session.scalar(
            select(RoleAssignment.id).where(
                RoleAssignment.actor_id == actor_id,
                RoleAssignment.role == role,
                RoleAssignment.project_id.is_(None)
                if project_id is None
                else RoleAssignment.project_id == project_id,
                RoleAssignment.ward.is_(None) if ward is None else RoleAssignment.ward == ward,
            )
        )
        if exists is None:
            session.add(
                RoleAssignment(actor_id=actor_id, role=role, project_id=project_id, ward=ward)
            )
    session.flush()
    audit.record(
        session,
        by_actor_id,
        "user.role.assign",
        "actor",
        actor_id,
        {"role": role, "projectId": project_id, "wards": wards},
    )


def remove_roles(session: Session, by_actor_id: int | None, actor_id: int, project_id: int | None):
    """Take every role the actor holds in a project (or site-wide when None) away; audited."""
    rows = session.scalars(
        select(RoleAssignment).where(
            RoleAssignment.actor_id == actor_id,
            RoleAssignment.project_id.is_(None)
            if project_id is None
            else RoleAssignment.project_id == project_id,
        )
    ).all()
    for row in rows:
        session.delete(row)
    audit.record(
        session,
        by_actor_id,
        "user.role.remove",
        "actor",
        actor_id,
        {"projectId": project_id, "roles": sorted({r.role for r in rows})},
    )


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
        select(RoleAssignment.role, RoleAssignment.project_id, RoleAssignment.ward).where(
            RoleAssignment.actor_id == user.actor_id
        )
    ).all()
    return Principal(
        user.actor_id,
        "user",
        user.email,
        frozenset((r, p) for r, p, w in roles if w is None),
        ward_roles=frozenset((r, p, w) for r, p, w in roles if w is not None and p is not None),
    )


def is_deleted(session: Session, user: User) -> bool:
    actor = session.get(Actor, user.actor_id)
    return actor is None or actor.deleted_at is not None


@dataclass(frozen=True, slots=True)
class UserView:
    actor_id: int
    email: str
    created_at: datetime
    deactivated_at: datetime | None
    roles: list[tuple[str, int | None, str | None]]  # (role, project_id, ward)
    uses_digest: bool = False
    has_totp: bool = False


def list_users(session: Session, principal: Principal) -> list[UserView]:
    require(principal, "user.update")
    roles: dict[int, list] = {}
    for actor_id, role, project_id, ward in session.execute(
        select(
            RoleAssignment.actor_id,
            RoleAssignment.role,
            RoleAssignment.project_id,
            RoleAssignment.ward,
        ).order_by(RoleAssignment.project_id, RoleAssignment.role, RoleAssignment.ward)
    ):
        roles.setdefault(actor_id, []).append((role, project_id, ward))
    with_totp = set(
        session.scalars(select(TotpFactor.actor_id).where(TotpFactor.confirmed_at.is_not(None)))
    )
    return [
        UserView(
            actor.id,
            user.email,
            actor.created_at,
            actor.deleted_at,
            roles.get(actor.id, []),
            user.uses_digest,
            actor.id in with_totp,
        )
        for user, actor in session.execute(
            select(User, Actor).join(Actor, Actor.id == User.actor_id).order_by(User.email)
        )
    ]


def deactivate_user(session: Session, principal: Principal, actor_id: int) -> None:
    """Close an account at once: no more log-in, every session ended; audited."""
    require(principal, "user.update")
    actor = session.get(Actor, actor_id)
    if actor is None or actor.type != "user":
        raise NotFound(f"Could not find user {actor_id}.")
    if actor_id == principal.actor_id:
        raise MissingParameter("You cannot close your own account.")
    actor.deleted_at = utcnow()
    session.execute(delete(WebSession).where(WebSession.actor_id == actor_id))
    record(session, principal.actor_id, "user.delete", "actor", actor_id)


def require_admin(principal: Principal) -> None:
    require(principal, "user.update")


def assign_role_as(
    session: Session,
    principal: Principal,
    actor_id: int,
    role: str,
    project_id: int | None,
    wards: list[str],
) -> None:
    """assign_role by an administrator (checked here)."""
    require(principal, "user.update")
    if session.get(User, actor_id) is None:
        raise NotFound(f"Could not find user {actor_id}.")
    assign_role(session, principal.actor_id, actor_id, role, project_id, wards)


def remove_roles_as(
    session: Session, principal: Principal, actor_id: int, project_id: int | None
) -> None:
    require(principal, "user.update")
    if actor_id == principal.actor_id and project_id is None:
        raise MissingParameter("You cannot take your own site-wide roles away.")
    remove_roles(session, principal.actor_id, actor_id, project_id)
