"""The OpenRosa blueprint: what ODK Collect talks to, under Central's /v1 paths.

Hooks: the X-OpenRosa-Version check, the caller's principal (401 with a Digest challenge
when there is none), OpenRosa headers on every response, and errors as OpenRosaResponse XML.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, g, request
from werkzeug.http import http_date

from server.auth import digest, routes
from server.db import get_db
from server.errors import AuthenticationFailed, BadOpenRosaVersion, Problem
from server.extension import get_settings, login_limits
from server.http.caller import (
    StaleNonce,
    require_live_project,
    resolve_principal_throttled,
    web_form_principal,
)
from server.openrosa import messages, xml

bp = Blueprint("openrosa", __name__, url_prefix="/v1")
#: The web UI's session cookies (server/web: COOKIE, SECURE_COOKIE), which the /f/ pages use.
WEB_COOKIES = ("__Host-dh_session", "dh_session")

#: Endpoints that are OpenRosa APIs proper and so require X-OpenRosa-Version: 1.0 (Central's
#: openRosaEndpoint); form XML and media downloads are plain GETs.
VERSIONED = {
    "openrosa.form_list",
    "openrosa.manifest",
    "openrosa.submission_preflight",
    "openrosa.post_submission",
    "openrosa.draft_form_list",
    "openrosa.draft_manifest",
    "openrosa.draft_submission_preflight",
    "openrosa.post_draft_submission",
    "openrosa.integrity",
}


@bp.before_request
def authenticate() -> None:
    if request.endpoint in VERSIONED and request.headers.get("X-OpenRosa-Version") != "1.0":
        raise BadOpenRosaVersion()
    settings = get_settings()
    g.principal = resolve_principal_throttled(get_db(), settings, login_limits(settings))
    if g.principal.is_anonymous:  # a logged-in web user's /f/ page (its header and cookie)
        cookie = WEB_COOKIES[0] if request.scheme == "https" else WEB_COOKIES[1]
        g.principal = web_form_principal(get_db(), login_limits(settings).idle, (cookie,))
    if g.principal.is_anonymous:
        raise AuthenticationFailed("Authentication is required.")
    routes.enforce(g.principal, request.endpoint, request.view_args or {})
    require_live_project(get_db(), request.view_args)


@bp.after_request
def openrosa_headers(response: Response) -> Response:
    response.headers["X-OpenRosa-Version"] = "1.0"
    response.headers["X-OpenRosa-Accept-Content-Length"] = str(get_settings().max_submission_bytes)
    response.headers["Date"] = http_date(time.time())
    response.headers.setdefault("Cache-Control", "private, no-cache")
    response.headers.setdefault("Content-Language", "en")
    response.headers.add("Vary", "Accept-Language")
    return response


def render_problem(problem: Problem) -> Response:
    """An OpenRosaResponse envelope with the problem's status (and a challenge on 401), in
    the phone's language."""
    message, language = messages.for_problem(problem)
    response = Response(
        xml.response(message, error=True),
        status=problem.status,
        content_type="text/xml; charset=utf-8",
        headers={"Content-Language": language},
    )
    tokened = "donghanh.field_key" in request.environ or "donghanh.draft_token" in request.environ
    if problem.status == 401 and not tokened:
        settings = get_settings()
        response.headers["WWW-Authenticate"] = digest.challenge(
            settings.digest_realm,
            settings.secret_key,
            time.time(),
            stale=isinstance(problem, StaleNonce),
        )
    return openrosa_headers(response)


bp.register_error_handler(Problem, render_problem)
