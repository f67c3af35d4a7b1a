"""A web user's own account: the one-time code asked after the password, changing the
password, setting up and turning off the one-time code (TOTP) with its recovery codes, and
setting a new password through a reset link an administrator made."""

from __future__ import annotations

import segno
from flask import Response, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from server.auth.passwords import MAX_LENGTH, MIN_LENGTH
from server.db import get_db
from server.errors import AuthenticationFailed, WeakPassword
from server.extension import get_settings
from server.services import passwords, second_factor
from server.web import (
    bp,
    form_nonce_matches,
    is_valid_csrf,
    new_form_nonce,
    safe_next,
    set_form_nonce,
)
from server.web.inputs import CodeInput, PasswordChangeInput, PasswordResetInput, read_form

RESET_NONCE_COOKIE = "dh_reset"


def password_sentence(error: WeakPassword) -> str:
    """Why the policy refused a password, in the reader's language."""
    if error.reason == "short":
        return _("The password must have at least %(n)d characters.", n=MIN_LENGTH)
    if error.reason == "long":
        return _("The password must have at most %(n)d characters.", n=MAX_LENGTH)
    if error.reason == "ascii":
        return _(
            "This account also logs in from ODK Collect: use letters without diacritics, "
            "digits and signs only."
        )
    return _(
        "This password is too easy to guess (a common password, a pattern, a date or your "
        "email). Choose a longer one, for example several unusual words."
    )


def _page(template: str, status: int = 200, **context) -> Response:
    html = render_template(template, **context)
    return Response(html, status=status, content_type="text/html; charset=utf-8")


@bp.route("/login/code", methods=["GET", "POST"])
def enter_code() -> Response:
    """The one-time code, after the password, for an account that has one."""
    target = safe_next(request.values.get("next"))
    if g.web_session_id is None or not g.principal.is_anonymous:
        return redirect(target if g.web_session_id else url_for("web.log_in"))
    if request.method == "GET":
        return _page("web/login_code.html", next=target)
    if not is_valid_csrf(request.form.get("csrf_token")):
        return _page("web/login_code.html", 400, next=target, error=_("This page had expired."))
    data, errors = read_form(CodeInput())
    outcome = "wrong"
    if not errors:
        with get_db().transaction() as session:
            outcome = second_factor.complete_login(
                session, g.web_session_id, data["code"], get_settings().secret_key
            )
    if outcome == "locked":
        error = _("Too many wrong codes. Wait 15 minutes, then log in again.")
        return _page("web/login_code.html", 429, next=target, locked=True, error=error)
    if outcome != "ok":
        error = _("The code is wrong or has already been used. Type the code the app shows now.")
        return _page("web/login_code.html", 401, next=target, error=error)
    return redirect(target)


@bp.get("/account")
def show_account() -> str:
    with get_db().transaction(write=False) as session:
        enrolled = second_factor.is_enrolled(session, g.principal.actor_id)
    return render_template("web/account.html", enrolled=enrolled, error=None)


@bp.post("/account/password")
def change_password() -> Response:
    """The user's own password: the old one, then the new one twice. Ends the other sessions."""
    data, errors = read_form(PasswordChangeInput())
    if errors or data["new"] != data["repeat"]:
        return _account_error(_("Type your current password, then the new one twice, the same."))
    try:
        with get_db().transaction() as session:
            passwords.change_password(
                session,
                g.principal,
                g.principal.actor_id,
                data["old"],
                data["new"],
                keep_session_id=g.web_session_id,
            )
    except AuthenticationFailed:
        return _account_error(_("The current password is wrong."))
    except WeakPassword as e:
        return _account_error(password_sentence(e))
    return redirect(url_for("web.show_account", done="password_changed"), 303)


def _account_error(error: str, status: int = 400) -> Response:
    with get_db().transaction(write=False) as session:
        enrolled = second_factor.is_enrolled(session, g.principal.actor_id)
    return _page("web/account.html", status, enrolled=enrolled, error=error)


@bp.get("/account/two-factor")
def two_factor() -> Response:
    """Set up the one-time code (a QR code and the secret, until confirmed), or its state."""
    return _two_factor_page()


def _two_factor_page(error: str | None = None, status: int = 200) -> Response:
    settings = get_settings()
    with get_db().transaction() as session:
        actor_id = g.principal.actor_id
        if second_factor.is_enrolled(session, actor_id):
            left = second_factor.recovery_codes_left(session, actor_id)
            return _page("web/two_factor.html", status, enrolled=True, left=left, error=error)
        enrolment = second_factor.pending_enrolment(
            session, actor_id, settings.secret_key
        ) or second_factor.begin_enrolment(session, actor_id, settings.secret_key)
        required = second_factor.must_enrol(session, g.principal)
    qr = segno.make(enrolment.uri, error="M").svg_data_uri(scale=4, border=2)
    secret = " ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4))
    return _page(
        "web/two_factor.html",
        status,
        enrolled=False,
        required=required,
        qr_data_uri=qr,
        secret=secret,
        error=error,
    )


@bp.post("/account/two-factor")
def confirm_two_factor() -> Response:
    data, errors = read_form(CodeInput())
    codes = None
    if not errors:
        with get_db().transaction() as session:
            codes = second_factor.confirm_enrolment(
                session, g.principal.actor_id, data["code"], get_settings().secret_key
            )
    if codes is None:
        return _two_factor_page(_("The code is wrong. Type the code the app shows now."), 400)
    return _page("web/recovery_codes.html", codes=codes)


@bp.post("/account/two-factor/disable")
def disable_two_factor() -> Response:
    """Turn the one-time code off: the password and a code (or a recovery code)."""
    data, errors = read_form(CodeInput())
    outcome = "wrong"
    if not errors:
        with get_db().transaction() as session:
            outcome = second_factor.disable(
                session,
                g.principal,
                request.form.get("password", ""),
                data["code"],
                get_settings().secret_key,
            )
    if outcome == "locked":
        return _two_factor_page(_("Too many wrong codes. Wait 15 minutes."), 429)
    if outcome != "ok":
        return _two_factor_page(_("The password or the code is wrong."), 400)
    return redirect(url_for("web.show_account", done="two_factor_off"), 303)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response:
    """Set a new password through the one-time link an administrator gave."""
    with get_db().transaction(write=False) as session:
        email = passwords.find_reset(session, token)  # ResetLinkInvalid: a 404 page
    if request.method == "GET":
        return _reset_page(email)
    if not form_nonce_matches(RESET_NONCE_COOKIE):
        return _reset_page(email, _("This page had expired. Please try again."), 400)
    data, errors = read_form(PasswordResetInput())
    if errors or data["new"] != data["repeat"]:
        return _reset_page(email, _("Type the new password twice, the same."), 400)
    try:
        with get_db().transaction() as session:
            passwords.reset_password(session, token, data["new"])
    except WeakPassword as e:
        return _reset_page(email, password_sentence(e), 400)
    response = redirect(url_for("web.log_in", done="password_reset"), 303)
    response.delete_cookie(RESET_NONCE_COOKIE, path="/reset")
    return response


def _reset_page(email: str, error: str | None = None, status: int = 200) -> Response:
    nonce = new_form_nonce()
    response = _page("web/reset_password.html", status, email=email, nonce=nonce, error=error)
    return set_form_nonce(response, RESET_NONCE_COOKIE, nonce, "/reset")


def reset_link_page(issued: passwords.IssuedReset) -> Response:
    """The page an administrator sees after making a reset link (this server sends no mail)."""
    url = get_settings().public_url + issued.path()
    return _page("web/reset_link.html", issued=issued, url=url)
