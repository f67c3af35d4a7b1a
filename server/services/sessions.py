"""Bearer sessions for the REST API (pyodk's POST /v1/sessions): create, resolve, end."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.auth import tokens
from server.auth.passwords import verify_password
from server.auth.permissions import Principal
from server.errors import AuthenticationFailed
from server.models.actors import User, WebSession
from server.models.types import utcnow
from server.services import audit, users

LIFETIME = timedelta(hours=24)  # Central's default


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    csrf: str
    created_at: datetime
    expires_at: datetime


def create_session(session: Session, email: str, password: str) -> IssuedSession:
    """Log in with email and password; raise AuthenticationFailed (and audit the failure)."""
    user = users.find_user(session, email)
    if user is None or not verify_password(user.password_hash, password):
        audit.record(
            session,
            user.actor_id if user else None,
            "user.session.failed",
            None,
            None,
            {"email": email.strip().lower()[:320]},
        )
        raise AuthenticationFailed()
    token = tokens.new_token()
    now = utcnow()
    row = WebSession(
        actor_id=user.actor_id,
        token_sha256=tokens.token_sha256(token),
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + LIFETIME,
    )
    session.add(row)
    audit.record(session, user.actor_id, "user.session.create", "actor", user.actor_id)
    return IssuedSession(token, row.csrf, now, row.expires_at)


def principal_for_bearer(session: Session, token: str) -> Principal | None:
    """The user of a live session token, or None."""
    if not tokens.is_well_formed(token):
        return None
    user = session.scalar(
        select(User)
        .join(WebSession, WebSession.actor_id == User.actor_id)
        .where(
            WebSession.token_sha256 == tokens.token_sha256(token), WebSession.expires_at > utcnow()
        )
    )
    return users.principal_for_user(session, user) if user is not None else None


def end_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_sha256 == tokens.token_sha256(token)))
