"""Log in, log out (here or everywhere), and the language switcher."""

from __future__ import annotations

from flask import Response, g, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from server.db import get_db
from server.extension import get_settings, login_limits
from server.services import second_factor, sessions
from server.web import (
    COOKIE,
    LANG_COOKIE,
    LANGUAGES,
    SECURE_COOKIE,
    bp,
    form_nonce_matches,
    is_secure,
    new_form_nonce,
    safe_next,
    session_cookie_name,
    set_form_nonce,
)
from server.web.inputs import LoginInput, read_form

LOGIN_NONCE_COOKIE = "dh_login"


@bp.route("/login", methods=["GET", "POST"])
def log_in() -> Response:
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if not g.principal.is_anonymous:
            return redirect(target)
        return _login_page(target)
    if not form_nonce_matches(LOGIN_NONCE_COOKIE):
        return _login_page(target, _("This page had expired. Please try again."), status=400)
    data, errors = read_form(LoginInput())
    if errors:
        return _login_page(target, _("Enter your email address and your password."), status=400)
    settings = get_settings()
    with get_db().transaction() as session:
        result = sessions.log_in(
            session,
            data["email"],
            data["password"],
            request.remote_addr,
            "cookie",
            login_limits(settings),
        )
        held = result.issued is not None and second_factor.hold_for_code(
            session, result.issued.token
        )
    if result.issued is None:
        if result.locked_until is not None:
            message = _(
                "Too many wrong passwords from here. Wait until %(time)s, then try again.",
                time=format_datetime(result.locked_until, "short"),
            )
            return _login_page(target, message, status=429, email=data["email"])
        message = _("The email address or the password is wrong. Check them and try again.")
        return _login_page(target, message, status=401, email=data["email"])
    response = redirect(url_for("web.enter_code", next=target) if held else target)
    response.set_cookie(
        session_cookie_name(),
        result.issued.token,
        max_age=settings.session_max_hours * 3600,
        secure=is_secure(),
        httponly=True,
        samesite="Lax",
        path="/",
    )
    response.delete_cookie(LOGIN_NONCE_COOKIE, path="/login")
    return response


def _login_page(target: str, error: str | None = None, status: int = 200, email: str = ""):
    nonce = new_form_nonce()
    html = render_template(
        "web/login.html", error=error, next=target, login_csrf=nonce, email=email
    )
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    return set_form_nonce(response, LOGIN_NONCE_COOKIE, nonce, "/login")


@bp.post("/logout")
def log_out() -> Response:
    token = request.cookies.get(session_cookie_name())
    if token:
        with get_db().transaction() as session:
            sessions.end_session(session, token)
    return _logged_out()


@bp.post("/logout/everywhere")
def log_out_everywhere() -> Response:
    """End every session of this user: other browsers, phones and API tokens."""
    with get_db().transaction() as session:
        sessions.end_all_sessions(session, g.principal.actor_id, g.principal.actor_id)
    return _logged_out()


def _logged_out() -> Response:
    response = redirect(url_for("web.log_in"))
    for name in (COOKIE, SECURE_COOKIE):
        response.delete_cookie(name, path="/", secure=name == SECURE_COOKIE)
    # What the /f/ pages kept in this browser (outbox, cached forms and lists, service worker).
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.post("/language")
def set_language() -> Response:
    """Switch between Tiếng Việt and English; remembered for a year in a cookie."""
    language = request.form.get("language", "")
    response = redirect(safe_next(request.form.get("next")))
    if language in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            language,
            max_age=365 * 86400,
            secure=is_secure(),
            httponly=True,
            samesite="Lax",
        )
    return response
