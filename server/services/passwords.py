"""Setting a web user's password: the user's own change (old and new, Central's
PUT /v1/users/{id}/password), and a reset through a one-time link an administrator makes
(this server sends no email: the link is shown to the administrator). Every new password
passes auth.passwords.check_policy; the Digest HA1 is computed only for accounts that use
Digest. Every change is audited, never with a password or a link."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from server.auth import passwords, tokens
from server.auth.permissions import Principal, require
from server.errors import AuthenticationFailed, NotFound, ResetLinkInvalid
from server.models.actors import Actor, User, WebSession
from server.models.credentials import PasswordReset
from server.models.types import utcnow
from server.services import audit

RESET_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class IssuedReset:
    email: str
    token: str  # shown once, to the administrator; kept only as its sha256
    expires_at: datetime

    def path(self) -> str:
        return f"/reset/{self.token}"


def set_password(session: Session, user: User, new: str) -> None:
    """Check ``new`` against the policy and store it (and the HA1 if the account uses
    Digest). Raises passwords.WeakPassword. Not audited: its callers are."""
    passwords.check_policy(new, user.email, user.uses_digest)
    user.password_hash = passwords.hash_password(new)
    user.digest_ha1 = (
        passwords.digest_ha1(user.email, user.digest_realm, new) if user.uses_digest else None
    )
    session.flush()


def _live_user(session: Session, actor_id: int) -> User:
    user = session.get(User, actor_id)
    actor = session.get(Actor, actor_id)
    if user is None or actor is None or actor.deleted_at is not None:
        raise NotFound(f"Could not find user {actor_id}.")
    return user


def change_password(
    session: Session,
    principal: Principal,
    actor_id: int,
    old: str,
    new: str,
    keep_session_id: int | None = None,
    keep_token: str | None = None,
) -> int:
    """A user changes their own password (an administrator may change anyone's, knowing the
    old one, as in Central). Ends every other session of the user; returns how many.

    Raises NotFound, InsufficientRights, AuthenticationFailed (the old password is wrong)
    or passwords.WeakPassword.
    """
    user = _live_user(session, actor_id)  # Central looks the user up first, then checks
    if principal.actor_id != actor_id:
        require(principal, "user.update")
    if not passwords.verify_password(user.password_hash, old or ""):
        raise AuthenticationFailed()
    set_password(session, user, new)
    _spend_resets(session, actor_id)
    ended = _end_other_sessions(session, actor_id, keep_session_id, keep_token)
    audit.record(
        session,
        principal.actor_id,
        "user.password.change",
        "actor",
        actor_id,
        {"sessionsEnded": ended},
    )
    return ended


def _end_other_sessions(
    session: Session, actor_id: int, keep_id: int | None, keep_token: str | None
) -> int:
    query = delete(WebSession).where(WebSession.actor_id == actor_id)
    if keep_id is not None:
        query = query.where(WebSession.id != keep_id)
    if keep_token:
        query = query.where(WebSession.token_sha256 != tokens.token_sha256(keep_token))
    return session.execute(query).rowcount or 0


def _spend_resets(session: Session, actor_id: int, now: datetime | None = None) -> None:
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.actor_id == actor_id, PasswordReset.used_at.is_(None))
        .values(used_at=now or utcnow())
    )


def _reset_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_reset(
    session: Session,
    principal: Principal,
    email: str | None = None,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> IssuedReset:
    """A one-time link for the user (by ``email`` or ``actor_id``) to set a new password,
    valid RESET_LIFETIME; an older unused link of the user stops working. Administrators
    only; audited (without the link).

    Raises InsufficientRights or NotFound.
    """
    require(principal, "user.update")
    now = now or utcnow()
    where = User.actor_id == actor_id if email is None else User.email == email.strip().lower()
    user = session.scalar(
        select(User).join(Actor, Actor.id == User.actor_id).where(where, Actor.deleted_at.is_(None))
    )
    if user is None:
        raise NotFound("There is no open account with this email.")
    _spend_resets(session, user.actor_id, now)
    token = secrets.token_urlsafe(32)
    row = PasswordReset(
        actor_id=user.actor_id,
        token_sha256=_reset_sha256(token),
        created_by_id=principal.actor_id,
        created_at=now,
        expires_at=now + RESET_LIFETIME,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        principal.actor_id,
        "user.password.reset.create",
        "actor",
        user.actor_id,
        {"expiresAt": row.expires_at.isoformat()},
    )
    return IssuedReset(user.email, token, row.expires_at)


def find_reset(session: Session, token: str, now: datetime | None = None) -> str:
    """The email a live reset link is for; raises ResetLinkInvalid."""
    row = _live_reset(session, token, now or utcnow())
    return session.get(User, row.actor_id).email


def _live_reset(session: Session, token: str, now: datetime) -> PasswordReset:
    row = session.scalar(
        select(PasswordReset).where(PasswordReset.token_sha256 == _reset_sha256(token or ""))
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise ResetLinkInvalid()
    actor = session.get(Actor, row.actor_id)
    if actor is None or actor.deleted_at is not None:
        raise ResetLinkInvalid()
    return row


def reset_password(session: Session, token: str, new: str, now: datetime | None = None) -> str:
    """Set a new password through a live reset link (once), ending every session of the
    user; returns the email. Raises ResetLinkInvalid or passwords.WeakPassword."""
    now = now or utcnow()
    row = _live_reset(session, token, now)
    user = session.get(User, row.actor_id)
    passwords.check_policy(new, user.email, user.uses_digest)  # a refusal spends no link
    claimed = session.execute(  # once, even for two requests at the same moment
        update(PasswordReset)
        .where(PasswordReset.id == row.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .returning(PasswordReset.id)
    ).first()
    if claimed is None:
        raise ResetLinkInvalid()
    set_password(session, user, new)
    _spend_resets(session, user.actor_id, now)
    ended = _end_other_sessions(session, user.actor_id, None, None)
    audit.record(
        session,
        user.actor_id,
        "user.password.reset",
        "actor",
        user.actor_id,
        {"resetId": row.id, "sessionsEnded": ended},
    )
    return user.email


def set_digest(session: Session, principal: Principal, actor_id: int, on: bool) -> None:
    """Turn Digest (ODK Collect with a username and password) on or off for an account.

    Off wipes the HA1 at once; on takes effect when the password is next set (the HA1 can
    only be computed from the password). Administrators only; audited.
    """
    require(principal, "user.update")
    user = _live_user(session, actor_id)
    user.uses_digest = on
    if not on:
        user.digest_ha1 = None
    session.flush()
    audit.record(session, principal.actor_id, "user.digest", "actor", actor_id, {"on": on})
