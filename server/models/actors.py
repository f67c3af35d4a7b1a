"""Actors: web users (email + password) and app users (token in the URL), and their roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.models.types import UTCDateTime, utcnow


class Actor(Base):
    __tablename__ = "actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(16))  # "user" | "field_key"
    display_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class User(Base):
    """A web user. ``digest_ha1`` is MD5(email:realm:password), never the password, but a
    password equivalent: kept only while ``uses_digest`` (set by an administrator) is on,
    computed when the password is set, wiped when the flag is turned off."""

    __tablename__ = "users"

    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    digest_realm: Mapped[str] = mapped_column(String(255))
    digest_ha1: Mapped[str | None] = mapped_column(String(32))
    uses_digest: Mapped[bool] = mapped_column(default=False, server_default=false())


class AppUser(Base):
    """A field key: a device set up by QR code; the token is kept only as its sha256."""

    __tablename__ = "app_users"

    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: True: every form of the project, published now or later. False: only the forms in
    #: form_assignments (Central's behaviour, where a new app user has no form).
    all_forms: Mapped[bool] = mapped_column(default=False, server_default=false())


class FormAssignment(Base):
    """A form an app user's phone receives and may submit to (Central's form assignment with
    the app-user role, role id 2)."""

    __tablename__ = "form_assignments"

    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"), primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoleAssignment(Base):
    """A role held by an actor, site-wide (project_id NULL), in one project, or in one ward of
    a project (``ward``: a supervisor of one commune sees only that commune's records)."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("actor_id", "role", "project_id", "ward"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    ward: Mapped[str | None] = mapped_column(String(32))


class WebSession(Base):
    """A session: a bearer token (POST /v1/sessions) or the web UI's cookie (``kind``
    "cookie", which also ends after ``last_seen_at`` + the idle timeout). The token is kept
    only as its sha256."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(8), default="bearer", server_default="bearer")
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A cookie session opened with the password of an account with a one-time code (TOTP),
    #: waiting for the code: it opens no page but the code page (services/second_factor.py).
    factor_pending: Mapped[bool] = mapped_column(default=False, server_default=false())


class LoginThrottle(Base):
    """Failed logins per key, shared by every worker (services/throttle.py): "pair:<email>
    <address>" for one account from one address (``locked_until``: the wait before its next
    attempt), "addr:<address>" for every failure from one address."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestNonceUse(Base):
    """A (user, nonce, nc) a Digest request has used: the same again is a replay; another
    user's uses of a nonce never spend it. Rows are dropped once their nonce has expired
    (digest.NONCE_SECONDS)."""

    __tablename__ = "digest_nonce_uses"

    actor_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    nonce: Mapped[str] = mapped_column(String(80), primary_key=True)
    nc: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RetiredKey(Base):
    """The sha256 of an app-user key that was revoked or replaced by a new QR code: a phone
    still sending it is answered 403 without counting as a guess (a revoked phone left on
    auto-send must not get every phone behind the same carrier address refused)."""

    __tablename__ = "retired_keys"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), index=True)
    retired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
