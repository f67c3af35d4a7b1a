"""Resolve who is making the current request (the HTTP edge: it reads flask.request and calls
the services that know sessions, users, app users and drafts; server/auth stays pure rules).

Order (Central's): a draft test token or an app-user token from the URL, then Authorization
Bearer (a session), Digest, then Basic (HTTPS only). Returns ANONYMOUS when no credentials
were sent. Passwords (Basic, Digest) are throttled per account and address, and wrong keys
per address, by services/throttle.py, as the web login and the session API are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from flask import request
from sqlalchemy.orm import Session

from server.auth import digest
from server.auth.passwords import verify_password
from server.auth.permissions import ANONYMOUS, Principal
from server.errors import (
    AuthenticationFailed,
    CodeRequired,
    HttpsRequired,
    InsufficientRights,
    NotFound,
    TooManyLogins,
)
from server.http import raw_path
from server.keys import DRAFT_TOKEN_ENVIRON, FIELD_KEY_ENVIRON, ORIGINAL_PATH_ENVIRON
from server.models.types import utcnow
from server.services import (
    app_users,
    drafts,
    projects,
    second_factor,
    sessions,
    throttle,
    users,
)

#: Checked against a missing account's Digest response, so that it costs what a real one does.
_DUMMY_HA1 = "0" * 32


class StaleNonce(AuthenticationFailed):
    """A Digest nonce that was ours but has expired; the challenge says stale=true."""


def is_https() -> bool:
    """True over TLS (a trusted proxy's X-Forwarded-Proto counts: server/http/proxy.py)."""
    return request.scheme == "https"


@dataclass
class Attempt:
    """What resolving the caller found that must be written (counted, audited, recorded) in a
    write transaction before the answer is chosen."""

    address: str | None
    outcome: str = "ok"  # ok | password_failed | throttled | key_unknown | key_retired
    email: str = ""
    actor_id: int | None = None
    via: str = ""
    until: datetime | None = None  # the wait's end, for "throttled"
    clear_pair: bool = False  # a right password with earlier failures to forget
    digest_use: tuple[int, str, int] | None = None  # (actor_id, nonce, nc)

    @property
    def needs_write(self) -> bool:
        return self.outcome != "ok" or self.clear_pair or self.digest_use is not None


def resolve_principal(session: Session, secret: str, attempt: Attempt) -> Principal | None:
    """The principal of this request, or None when ``attempt`` says why it failed; raises
    for failures that are neither counted nor audited (a stale nonce, HTTP without TLS)."""
    draft_token = request.environ.get(DRAFT_TOKEN_ENVIRON)
    if draft_token is not None:
        form = drafts.find_by_draft_token(session, draft_token)
        if form is None:  # Central answers 404 for a wrong token or a form with no draft
            raise NotFound("There is no draft at this address; it may have been published.")
        return Principal(
            None,
            "draft",
            "draft test",
            frozenset({("draft_tester", form.project_id)}),
            draft_form=form.xml_form_id,
        )
    token = request.environ.get(FIELD_KEY_ENVIRON)
    if token is not None:
        return _app_user(session, token, attempt)
    auth = request.authorization
    if auth is None:
        return ANONYMOUS
    if auth.type == "bearer":
        principal = sessions.principal_for_bearer(session, auth.token or "")
        if principal is None:
            raise AuthenticationFailed("The session has expired or does not exist.")
        return principal
    if auth.type == "digest":
        return _digest(session, auth.parameters, secret, attempt)
    if auth.type == "basic":
        if not is_https():
            raise HttpsRequired()
        return _basic(session, auth.username or "", auth.password or "", attempt)
    raise AuthenticationFailed()


def _app_user(session: Session, token: str, attempt: Attempt) -> Principal | None:
    principal = app_users.principal_for_token(session, token)
    if principal is not None:
        return principal
    owner = app_users.retired_key_owner(session, token)
    attempt.outcome, attempt.actor_id = ("key_retired", owner) if owner else ("key_unknown", None)
    return None


def _password_attempt(session: Session, email: str, via: str, attempt: Attempt):
    """The user named and whether it may try now (False: refused unchecked, recorded)."""
    user = users.find_user(session, email)
    attempt.email, attempt.via = email, via
    attempt.actor_id = user.actor_id if user else None
    state = throttle.pair_state(session, email, attempt.address)
    if state.wait_until is not None:
        attempt.outcome, attempt.until = "throttled", state.wait_until
        return user, False
    attempt.clear_pair = state.has_failures
    return user, True


def _basic(session: Session, email: str, password: str, attempt: Attempt) -> Principal | None:
    user, may_try = _password_attempt(session, email, "basic", attempt)
    if not may_try:
        return None
    if not verify_password(user.password_hash if user else None, password):
        attempt.outcome, attempt.clear_pair = "password_failed", False
        return None
    if second_factor.is_enrolled(session, user.actor_id):  # Basic carries no one-time code
        raise CodeRequired()
    return users.principal_for_user(session, user)


def _digest(session: Session, params, secret: str, attempt: Attempt) -> Principal | None:
    creds = digest.parse(params)
    if creds is None:
        raise AuthenticationFailed()
    state = digest.nonce_state(secret, creds.nonce, time.time())
    if state == "bad":
        raise AuthenticationFailed()
    user, may_try = _password_attempt(session, creds.username, "digest", attempt)
    if not may_try:
        return None
    path = request.environ.get("SCRIPT_NAME", "") + request.environ.get(
        ORIGINAL_PATH_ENVIRON, request.environ.get("PATH_INFO", "")
    )
    if request.environ.get(raw_path.KEPT_MARK):  # a form id holding '/' or '%'
        path = raw_path.fully_decoded(path)
    query = request.environ.get("QUERY_STRING", "")
    right = digest.verify(creds, user.digest_ha1 if user else _DUMMY_HA1, request.method)
    if (
        user is None
        or not right
        or creds.realm != user.digest_realm
        or not digest.uri_matches(creds.uri, path, query)
    ):
        attempt.outcome, attempt.clear_pair = "password_failed", False
        return None
    if state == "stale":
        raise StaleNonce()
    attempt.digest_use = (user.actor_id, creds.nonce, digest.nonce_count(creds))
    return users.principal_for_user(session, user)


def resolve_principal_throttled(db, settings, limits) -> Principal:
    """resolve_principal, then, in a write transaction, what it found: a failure counted and
    audited (answered 429 once its pair must wait or its address is past the cap), a known
    retired key audited (403, never counted), a Digest (nonce, nc) recorded (a replay is
    answered as a stale nonce)."""
    attempt = Attempt(address=request.remote_addr)
    with db.reading() as session:
        principal = resolve_principal(session, settings.secret_key, attempt)
    if not attempt.needs_write:
        return principal
    with db.transaction() as session:
        failure = _record(session, attempt, limits.throttling)
    if failure is not None:
        raise failure
    return principal


def _record(session: Session, attempt: Attempt, limits: throttle.ThrottleLimits):
    """Write what ``attempt`` found; returns the Problem to answer with, or None."""
    address, outcome = attempt.address, attempt.outcome
    if outcome == "throttled":
        throttle.refuse_waiting(
            session, attempt.actor_id, attempt.email, address, attempt.via, attempt.until
        )
        return _too_many(attempt.until)
    if outcome == "password_failed":
        until = throttle.record_failure(
            session, attempt.actor_id, attempt.email, address, attempt.via, limits
        )
        return _too_many(until) if until else AuthenticationFailed()
    if outcome == "key_unknown":
        until = throttle.record_unknown_key(session, address, limits)
        revoked = "This app user's access has been revoked or does not exist."
        return _too_many(until) if until else InsufficientRights(revoked)
    if outcome == "key_retired":
        throttle.record_retired_key(session, attempt.actor_id, address)
        return InsufficientRights("This app user's access has been revoked.")
    if attempt.clear_pair:
        throttle.record_success(session, attempt.email, address)
    if attempt.digest_use is not None and not sessions.use_digest_nonce(
        session, *attempt.digest_use
    ):
        return StaleNonce()  # this user sent this (nonce, nc) before: a replayed request
    return None


def _too_many(until: datetime) -> TooManyLogins:
    wait = max(1, int((until - utcnow()).total_seconds()))
    return TooManyLogins(
        "Too many wrong keys or passwords from this address; wait.", retryAfter=wait
    )


def require_live_project(db, view_args: dict | None) -> None:
    """A deleted project answers 404 on every route that names it (Central's soft delete),
    whoever asks: each blueprint calls this once the caller is resolved and authorized."""
    project_id = (view_args or {}).get("project_id")
    if project_id is None:
        return
    with db.transaction(write=False) as session:
        if not projects.is_live(session, project_id):
            raise NotFound(f"Could not find project {project_id}.")
#: The header the /f/ pages send with every OpenRosa request made on a web user's cookie
#: session. A page of another site cannot send it without a CORS preflight, which this server
#: never grants, so the cookie is never enough on its own (no cross-site request forgery).
WEB_FORMS_HEADER = "X-Donghanh-Web-Form"


def web_form_principal(db, idle, cookie_names: tuple[str, ...]) -> Principal:
    """A logged-in web user's principal for the /f/ pages' OpenRosa requests: only with
    WEB_FORMS_HEADER, only with no other credentials, and only for a session that has passed
    its one-time code (and whose administrator has one). ANONYMOUS otherwise."""
    if request.headers.get(WEB_FORMS_HEADER) != "1" or request.authorization is not None:
        return ANONYMOUS
    token = next((request.cookies[n] for n in cookie_names if n in request.cookies), None)
    if not token:
        return ANONYMOUS
    with db.transaction() as session:
        found = sessions.find_cookie_session(session, token, idle)
        if found is None or second_factor.gate(session, found) is not None:
            return ANONYMOUS
        return found.principal
