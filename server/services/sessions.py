"""Sessions: log in (throttled by services/throttle.py, shared by every worker through the
database), resolve a bearer token or the web UI's cookie, log out, log out everywhere.

A failed log-in is *returned*, not raised, so that its audit row and its throttle count are
committed; the caller raises or renders after the transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.auth import digest, tokens
from server.auth.passwords import verify_password
from server.auth.permissions import Principal, require_may_end_session
from server.models.actors import DigestNonceUse, User, WebSession
from server.models.types import utcnow
from server.services import audit, throttle, users

BEARER_LIFETIME = timedelta(hours=24)  # Central's default for API sessions
TOUCH_EVERY = timedelta(seconds=60)  # how stale last_seen_at may get before it is written


@dataclass(frozen=True, slots=True)
class LoginLimits:
    throttling: throttle.ThrottleLimits = field(default_factory=throttle.ThrottleLimits)
    cookie_lifetime: timedelta = timedelta(hours=12)
    idle: timedelta = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    csrf: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LoginResult:
    issued: IssuedSession | None
    locked_until: datetime | None = None  # set when refused for too many failures: wait till


@dataclass(frozen=True, slots=True)
class CookieSession:
    id: int
    principal: Principal
    csrf: str


def log_in(
    session: Session,
    email: str,
    password: str,
    address: str | None,
    kind: str = "bearer",
    limits: LoginLimits | None = None,
    now: datetime | None = None,
) -> LoginResult:
    """Check email and password and open a session of ``kind`` ("bearer" or "cookie").

    Refuses without checking the password while this account must wait at this address
    (services/throttle.py); an unknown account is checked against a dummy hash, so that it
    takes as long as a known one.
    """
    limits = limits or LoginLimits()
    now = now or utcnow()
    email = email.strip().lower()[:320]
    via = "api" if kind == "bearer" else "web"
    user = users.find_user(session, email)
    actor_id = user.actor_id if user else None
    state = throttle.pair_state(session, email, address, now)
    if state.wait_until is not None:
        throttle.refuse_waiting(session, actor_id, email, address, via, state.wait_until)
        return LoginResult(None, state.wait_until)
    if not verify_password(user.password_hash if user else None, password):
        until = throttle.record_failure(
            session, actor_id, email, address, via, limits.throttling, now
        )
        return LoginResult(None, until)
    if state.has_failures:
        throttle.record_success(session, email, address)
    token = tokens.new_token()
    lifetime = BEARER_LIFETIME if kind == "bearer" else limits.cookie_lifetime
    row = WebSession(
        actor_id=user.actor_id,
        token_sha256=tokens.token_sha256(token),
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + lifetime,
        kind=kind,
        last_seen_at=now,
    )
    session.add(row)
    audit.record(
        session, user.actor_id, "user.session.create", "actor", user.actor_id, {"kind": kind}
    )
    return LoginResult(IssuedSession(token, row.csrf, now, row.expires_at))


def principal_for_bearer(session: Session, token: str) -> Principal | None:
    """The user of a live bearer session token, or None."""
    if not tokens.is_well_formed(token):
        return None
    user = session.scalar(
        select(User)
        .join(WebSession, WebSession.actor_id == User.actor_id)
        .where(
            WebSession.token_sha256 == tokens.token_sha256(token),
            WebSession.kind == "bearer",
            WebSession.expires_at > utcnow(),
        )
    )
    return users.principal_for_user(session, user) if user is not None else None


def find_cookie_session(
    session: Session, token: str, idle: timedelta, now: datetime | None = None
) -> CookieSession | None:
    """The live cookie session of ``token`` (not expired, not idle too long), or None.

    Marks it seen (at most once a minute, to keep page views cheap).
    """
    if not tokens.is_well_formed(token):
        return None
    now = now or utcnow()
    row = session.scalar(
        select(WebSession).where(
            WebSession.token_sha256 == tokens.token_sha256(token),
            WebSession.kind == "cookie",
            WebSession.expires_at > now,
        )
    )
    if row is None or (row.last_seen_at is not None and row.last_seen_at + idle <= now):
        return None
    user = session.get(User, row.actor_id)
    if user is None or users.is_deleted(session, user):
        return None
    if row.last_seen_at is None or row.last_seen_at + TOUCH_EVERY < now:
        row.last_seen_at = now
    return CookieSession(row.id, users.principal_for_user(session, user), row.csrf)


def end_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_sha256 == tokens.token_sha256(token)))


def end_session_by_token(session: Session, principal: Principal, token: str) -> bool:
    """Central's DELETE /v1/sessions/{token}: end the session the token opens, if the caller
    may (permissions.require_may_end_session); True when it was the caller's own. Audited."""
    row = session.scalar(
        select(WebSession).where(WebSession.token_sha256 == tokens.token_sha256(token))
    )
    require_may_end_session(principal, row.actor_id if row is not None else None)
    session.delete(row)
    audit.record(session, principal.actor_id, "user.session.end", "actor", row.actor_id)
    return row.actor_id == principal.actor_id


def end_all_sessions(session: Session, actor_id: int, by_actor_id: int | None) -> int:
    """Log an actor out everywhere (every cookie and bearer session); audited."""
    result = session.execute(delete(WebSession).where(WebSession.actor_id == actor_id))
    audit.record(session, by_actor_id, "user.session.end_all", "actor", actor_id)
    return result.rowcount or 0


def use_digest_nonce(
    session: Session, actor_id: int, nonce: str, nc: int, now: datetime | None = None
) -> bool:
    """Record one use of a Digest (nonce, nc) by a user; False when that user used it before
    (a replay) or the count is malformed. Another user's uses never spend it. Uses older than
    the nonces' lifetime are dropped."""
    if nc < 0 or len(nonce) > 80:
        return False
    now = now or utcnow()
    session.execute(
        delete(DigestNonceUse).where(
            DigestNonceUse.used_at < now - timedelta(seconds=digest.NONCE_SECONDS)
        )
    )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = session.execute(
        dialect.insert(DigestNonceUse)
        .values(actor_id=actor_id, nonce=nonce, nc=nc, used_at=now)
        .on_conflict_do_nothing(index_elements=["actor_id", "nonce", "nc"])
        .returning(DigestNonceUse.nc)  # a row only when this use is new (rowcount is -1 here)
    ).first()
    return inserted is not None
