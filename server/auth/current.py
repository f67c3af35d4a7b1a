"""Resolve who is making the current request; the one auth module that reads flask.request.

Order (Central's): app-user token from the URL, then Authorization Bearer (a session),
Digest, then Basic (HTTPS only). Returns ANONYMOUS when no credentials were sent.
"""

from __future__ import annotations

import time

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
from server.services import app_users, drafts, second_factor, sessions, users

FIELD_KEY_ENVIRON = "donghanh.field_key"
DRAFT_TOKEN_ENVIRON = "donghanh.draft_token"  # noqa: S105 (an environ key, not a secret)
ORIGINAL_PATH_ENVIRON = "donghanh.original_path"
DIGEST_USE_ENVIRON = "donghanh.digest_use"


class StaleNonce(AuthenticationFailed):
    """A Digest nonce that was ours but has expired; the challenge says stale=true."""


def is_https() -> bool:
    """True over TLS, or behind a proxy that says so with X-Forwarded-Proto."""
    return request.scheme == "https" or request.headers.get("X-Forwarded-Proto", "") == "https"


def resolve_principal(session: Session, secret: str, realm: str) -> Principal:
    """The principal of this request; raises AuthenticationFailed or InsufficientRights."""
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
        principal = app_users.principal_for_token(session, token)
        if principal is None:
            raise InsufficientRights("This app user's access has been revoked or does not exist.")
        return principal
    auth = request.authorization
    if auth is None:
        return ANONYMOUS
    if auth.type == "bearer":
        principal = sessions.principal_for_bearer(session, auth.token or "")
        if principal is None:
            raise AuthenticationFailed("The session has expired or does not exist.")
        return principal
    if auth.type == "digest":
        return _digest(session, auth.parameters, secret)
    if auth.type == "basic":
        if not is_https():
            raise HttpsRequired()
        user = users.find_user(session, auth.username or "")
        if user is None or not verify_password(user.password_hash, auth.password or ""):
            raise AuthenticationFailed()
        if second_factor.is_enrolled(session, user.actor_id):  # Basic carries no code
            raise CodeRequired()
        return users.principal_for_user(session, user)
    raise AuthenticationFailed()


def _digest(session: Session, params, secret: str) -> Principal:
    creds = digest.parse(params)
    if creds is None:
        raise AuthenticationFailed()
    state = digest.nonce_state(secret, creds.nonce, time.time())
    if state == "bad":
        raise AuthenticationFailed()
    user = users.find_user(session, creds.username)
    original = request.environ.get(ORIGINAL_PATH_ENVIRON, request.path)
    if (
        user is None
        or creds.realm != user.digest_realm
        or creds.uri.split("?", 1)[0] != original
        or not digest.verify(creds, user.digest_ha1, request.method)
    ):
        raise AuthenticationFailed()
    if state == "stale":
        raise StaleNonce()
    # Checked and recorded by resolve_principal_throttled, in a write transaction.
    request.environ[DIGEST_USE_ENVIRON] = (creds.nonce, digest.nonce_count(creds))
    return users.principal_for_user(session, user)


def resolve_principal_throttled(db, settings, limits) -> Principal:
    """resolve_principal, refusing an address that keeps sending wrong keys or credentials
    (429 for a while, counted in the database so that every worker sees it)."""
    address = request.remote_addr
    with db.transaction(write=False) as session:
        if sessions.is_address_locked(session, address):
            raise TooManyLogins("Too many wrong keys or passwords from this address; wait.")
        try:
            principal = resolve_principal(session, settings.secret_key, settings.digest_realm)
        except StaleNonce:
            raise
        except (AuthenticationFailed, InsufficientRights, NotFound) as e:
            failure = e
        else:
            failure = None
    if failure is None:
        use = request.environ.pop(DIGEST_USE_ENVIRON, None)
        if use is not None:
            with db.transaction() as session:
                fresh = sessions.use_digest_nonce(session, *use)
            if not fresh:  # this (nonce, nc) was used before: a replayed request
                raise StaleNonce()
        return principal
    with db.transaction() as session:
        sessions.count_guess(session, address, limits)
    raise failure
