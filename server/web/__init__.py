"""The web UI blueprint: server-rendered pages for supervisors and managers, Vietnamese by
default and English (Flask-Babel), a cookie session with CSRF tokens, HTML error pages with a
translated sentence. Pages live in auth.py, dashboard.py, submissions.py, publishing.py and
people.py; HTML form input is read in inputs.py."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from server.auth import routes
from server.auth.permissions import ANONYMOUS, can
from server.db import get_db
from server.errors import Problem
from server.extension import get_settings, login_limits
from server.http.caller import require_live_project
from server.services import second_factor, sessions

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static")
COOKIE = "dh_session"
SECURE_COOKIE = "__Host-dh_session"  # over HTTPS: Secure, Path=/, no Domain (a host-only cookie)
LANG_COOKIE = "dh_lang"
LANGUAGES = ("vi", "en")
#: What a session waiting for its one-time code may open; what an administrator without a
#: one-time code may open (services/second_factor.py).
CODE_PAGES = frozenset({"web.enter_code", "web.log_out", "web.set_language", "web.static"})
ENROL_PAGES = frozenset(
    {"web.two_factor", "web.confirm_two_factor", "web.log_out", "web.log_out_everywhere"}
)


def session_cookie_name() -> str:
    return SECURE_COOKIE if is_secure() else COOKIE


def is_secure() -> bool:
    return (
        request.scheme == "https"
    )  # a trusted proxy's X-Forwarded-Proto is in it (server/http/proxy.py)


def select_locale() -> str:
    """The language chosen with the switcher (a cookie), Vietnamese otherwise."""
    chosen = request.cookies.get(LANG_COOKIE, "") if request else ""
    return chosen if chosen in LANGUAGES else "vi"


@bp.before_request
def authenticate() -> Response | None:
    g.principal, g.csrf, g.web_session_id = ANONYMOUS, None, None
    token = request.cookies.get(session_cookie_name())
    gate = None
    if token:
        with get_db().transaction() as session:
            found = sessions.find_cookie_session(session, token, login_limits(get_settings()).idle)
            gate = second_factor.gate(session, found) if found is not None else None
        if found is not None:
            g.csrf, g.web_session_id = found.csrf, found.id
            if gate != "code":  # a session waiting for its one-time code is nobody yet
                g.principal = found.principal
    if gate == "code":  # only the code page, logging out and the language switcher
        if request.endpoint not in CODE_PAGES:
            return redirect(url_for("web.enter_code", next=safe_next(request.full_path)))
        if request.endpoint == "web.log_out" and not is_valid_csrf(request.form.get("csrf_token")):
            return render_error(400, _("This page had expired. Go back, reload it and try again."))
        return None
    if routes.is_open(request.endpoint):  # logging in, the language switcher, static files
        return None
    if g.principal.is_anonymous:
        return redirect(url_for("web.log_in", next=safe_next(request.full_path)))
    routes.enforce(g.principal, request.endpoint, request.view_args or {})
    require_live_project(get_db(), request.view_args)
    if gate == "enrol" and request.endpoint not in ENROL_PAGES:
        return redirect(url_for("web.two_factor"))  # an administrator needs a one-time code
    if request.method == "POST" and not is_valid_csrf(request.form.get("csrf_token")):
        return render_error(400, _("This page had expired. Go back, reload it and try again."))
    return None


def is_valid_csrf(sent: str | None) -> bool:
    return bool(g.csrf and sent and hmac.compare_digest(sent.encode(), g.csrf.encode()))


def new_form_nonce() -> str:
    """A CSRF value for a page shown before any session (the login and reset-link pages): it
    goes in the form and in a cookie of that page's path (``set_form_nonce``)."""
    return secrets.token_urlsafe(24)


def set_form_nonce(response: Response, cookie: str, nonce: str, path: str) -> Response:
    response.set_cookie(
        cookie, nonce, max_age=3600, secure=is_secure(), httponly=True, samesite="Strict", path=path
    )
    return response


def form_nonce_matches(cookie: str) -> bool:
    """True when the form sent the value its page set in ``cookie``."""
    nonce, sent = request.cookies.get(cookie, ""), request.form.get("csrf_token", "")
    return bool(nonce) and hmac.compare_digest(sent.encode(), nonce.encode())


def safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme), to follow after logging in."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target  # browsers read /\host as //host
        or any(ord(c) < 32 for c in target)
    ):
        return "/"
    return target.rstrip("?") or "/"


@bp.app_context_processor
def page_globals() -> dict:
    principal = g.get("principal", ANONYMOUS)
    return {
        "principal": principal,
        "csrf_token": g.get("csrf"),
        "can": lambda verb, project_id=None: can(principal, verb, project_id),
        "languages": LANGUAGES,
        "current_locale": str(get_locale() or "vi"),
        "map_tile_url": get_settings().map_tile_url,
        "done_messages": {
            "reviewed": _("The review is saved."),
            "commented": _("The comment is added."),
            "retried": _("The delivery will be tried again in a moment."),
            "published": _("The form is published. Phones receive it at their next update."),
            "revoked": _("The phone's access is revoked."),
            "forms": _("The phone's forms are saved. It receives them at its next update."),
            "places": _(
                "The phone's communes/wards and facilities are saved. It receives their "
                "clients and referrals at its next update."
            ),
            "deleted": _("The submission is deleted. It can be restored here for 30 days."),
            "restored": _("The submission is restored."),
            "user_created": _("The user is added."),
            "role_assigned": _("The role is given."),
            "role_removed": _("The roles are taken away."),
            "sessions_ended": _("The user is logged out everywhere."),
            "user_closed": _("The account is closed."),
            "reissued": _("The old QR code no longer works. Scan the new one."),
            "password_changed": _("The password is changed. Your other sessions are ended."),
            "password_reset": _("The new password is saved. Log in with it."),
            "two_factor_off": _("The one-time code is off."),
            "digest_saved": _("The ODK Collect (Digest) setting is saved."),
            "merged": _(
                "The two records are merged. Phones drop the merged one at their next update."
            ),
            "kept_apart": _("Noted: not the same person. This pair is not suggested again."),
            "undone": _("The decision is undone."),
            "two_factor_removed": _(
                "The one-time code is taken away. The user sets up a new one at the next log-in."
            ),
        },
        "role_names": {
            "admin": _("Administrator"),
            "manager": _("Project manager"),
            "supervisor": _("Supervisor"),
            "viewer": _("Viewer"),
            "collector": _("Data collector"),
        },
        "review_names": {
            "received": _("Received, not reviewed"),
            "hasIssues": _("Has issues"),
            "edited": _("Edited"),
            "approved": _("Approved"),
            "rejected": _("Rejected"),
        },
    }


@bp.app_template_filter("numberformat")
def numberformat(value) -> str:
    return format_decimal(value)


_SENTENCES = {
    400: lambda: _("The request could not be understood."),
    401: lambda: _("Please log in."),
    403: lambda: _("You do not have permission to see or do this."),
    404: lambda: _("This page does not exist, or you may not see it."),
    405: lambda: _("This page cannot be used this way."),
    409: lambda: _("This conflicts with what is already stored."),
    413: lambda: _("The file is too large."),
    429: lambda: _("Too many attempts. Wait a few minutes and try again."),
}


def render_error(status: int, sentence: str | None = None, detail: str | None = None) -> Response:
    if sentence is None:
        sentence = _SENTENCES.get(status, lambda: _("Something went wrong on the server."))()
    html = render_template("web/error.html", status=status, sentence=sentence, detail=detail)
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def render_problem(problem: Problem) -> Response:
    """A service's problem as a page: the translated sentence for its status; the problem's own
    words (English) only for 400 and 409, where they say what to fix."""
    detail = problem.message if problem.status in (400, 409) else None
    return render_error(problem.status, detail=detail)


def render_http_error(error: HTTPException) -> Response:
    return render_error(error.code or 500)


bp.register_error_handler(Problem, render_problem)
