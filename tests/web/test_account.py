"""A web user's own account and the second factor: changing the password (the other sessions
end), a one-time reset link made by an administrator, the one-time code (TOTP) asked after
the password, recovery codes accepted once, turning the code off with password and code, and
administrators sent to set up a code before anything else. Vietnamese sentences by default."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from server.auth import totp
from server.models.actors import WebSession
from server.models.audits import Audit
from server.models.credentials import RecoveryCode, TotpFactor
from tests.web.conftest import Browser, log_in

PASSWORD = "correct horse battery"
NEW = "mây trắng trên đồi chè"


def csrf_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def browser(
    app, email: str, password: str = PASSWORD, secret: str = "", page: str = "/account"
) -> Browser:
    client = app.test_client()
    response = log_in(client, email, password, secret)
    assert response.status_code == 302, response.text
    return Browser(client, csrf_of(client.get(page)))


def actions(db) -> list[str]:
    with db.transaction(write=False) as session:
        return list(session.scalars(select(Audit.action).order_by(Audit.id)))


def test_a_user_changes_the_password_and_is_logged_out_elsewhere(app, db, make_user):
    make_user("lan@example.org", role="viewer")
    here, there = browser(app, "lan@example.org"), browser(app, "lan@example.org")
    page = here.get("/account")
    assert page.status_code == 200
    assert "Đổi mật khẩu" in page.text
    changed = here.post("/account/password", {"old": PASSWORD, "new": NEW, "repeat": NEW})
    assert changed.status_code == 303
    assert "Đã đổi mật khẩu" in here.get(changed.headers["Location"]).text
    assert there.get("/").headers["Location"].startswith("/login")  # the other session ended
    assert log_in(app.test_client(), "lan@example.org").status_code == 401
    assert log_in(app.test_client(), "lan@example.org", NEW).status_code == 302
    assert "user.password.change" in actions(db)


def test_a_password_change_is_refused_with_a_sentence(app, make_user):
    make_user("lan@example.org", role="viewer")
    here = browser(app, "lan@example.org")
    wrong = here.post("/account/password", {"old": "wrong one!!", "new": NEW, "repeat": NEW})
    assert (wrong.status_code, "Mật khẩu hiện tại không đúng" in wrong.text) == (400, True)
    common = {"old": PASSWORD, "new": "password1234", "repeat": "password1234"}
    weak = here.post("/account/password", common)
    assert (weak.status_code, "quá dễ đoán" in weak.text) == (400, True)
    differ = here.post("/account/password", {"old": PASSWORD, "new": NEW, "repeat": NEW + "x"})
    assert (differ.status_code, "hai lần giống nhau" in differ.text) == (400, True)
    no_csrf = here.client.post("/account/password", data={"old": PASSWORD, "new": NEW})
    assert no_csrf.status_code == 400
    assert log_in(app.test_client(), "lan@example.org").status_code == 302  # unchanged


def test_an_administrator_makes_a_one_time_link_and_the_user_sets_a_password(
    app, db, login_as, make_user
):
    lan = make_user("lan@example.org", role="viewer")
    old_session = browser(app, "lan@example.org")
    admin = login_as("admin", project_id=None)
    shown = admin.post(f"/users/{lan.actor_id}/reset")
    assert shown.status_code == 200
    link = re.search(r'id="reset-link">([^<]+)<', shown.text).group(1)
    path = "/" + link.split("/", 3)[3]
    visitor = app.test_client()
    form = visitor.get(path)
    assert form.status_code == 200
    assert "lan@example.org" in form.text
    sent = visitor.post(path, data={"csrf_token": csrf_of(form), "new": NEW, "repeat": NEW})
    assert sent.status_code == 303
    assert log_in(app.test_client(), "lan@example.org", NEW).status_code == 302
    assert old_session.get("/").status_code == 302  # every session of the user ended
    assert visitor.get(path).status_code == 404  # once only
    assert {"user.password.reset.create", "user.password.reset"} <= set(actions(db))


def test_a_reset_link_expires_and_refuses_a_weak_password(app, db, make_user):
    from server.auth.permissions import SYSTEM
    from server.services import passwords

    make_user("lan@example.org", role="viewer")
    with db.transaction() as session:
        old = passwords.create_reset(
            session, SYSTEM, email="lan@example.org", now=datetime.now(UTC) - timedelta(hours=25)
        )
    assert app.test_client().get(old.path()).status_code == 404
    with db.transaction() as session:
        issued = passwords.create_reset(session, SYSTEM, email="lan@example.org")
    client = app.test_client()
    form = client.get(issued.path())
    weak = {"csrf_token": csrf_of(form), "new": "aaaaaaaaaa", "repeat": "aaaaaaaaaa"}
    refused = client.post(issued.path(), data=weak)
    assert (refused.status_code, "quá dễ đoán" in refused.text) == (400, True)
    assert client.get(issued.path()).status_code == 200  # still usable


def test_a_user_sets_up_a_one_time_code_then_needs_it_to_log_in(app, db, make_user):
    make_user("lan@example.org", role="viewer")
    here = browser(app, "lan@example.org")
    setup = here.get("/account/two-factor")
    assert 'id="totp-qr"' in setup.text
    secret = re.search(r'id="totp-secret">([^<]+)<', setup.text).group(1).replace(" ", "")
    wrong = here.post("/account/two-factor", {"code": "000000"})
    assert (wrong.status_code, "Mã không đúng" in wrong.text) == (400, True)
    code = totp.code_at(secret, datetime.now(UTC) - timedelta(seconds=30))
    done = here.post("/account/two-factor", {"code": code})
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)
    assert len(codes) == 10
    assert secret not in here.get("/account/two-factor").text  # never shown again
    with db.transaction(write=False) as session:
        stored = session.scalar(select(TotpFactor.secret_encrypted))
    assert secret not in stored  # encrypted at rest, with a key from SECRET_KEY
    assert totp.decrypt_secret(app.config["SECRET_KEY"], stored) == secret
    assert totp.decrypt_secret("another key", stored) is None

    client = app.test_client()
    held = log_in(client, "lan@example.org")
    assert held.headers["Location"].startswith("/login/code")
    assert client.get("/").headers["Location"].startswith("/login/code")  # nothing else
    page = client.get("/login/code")
    bad = client.post("/login/code", data={"csrf_token": csrf_of(page), "code": "123456"})
    assert (bad.status_code, "Mã sai" in bad.text) == (401, True)
    now = totp.code_at(secret, datetime.now(UTC))
    ok = client.post("/login/code", data={"csrf_token": csrf_of(page), "code": now})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200
    again = app.test_client()
    log_in(again, "lan@example.org")
    page = again.get("/login/code")
    replay = again.post("/login/code", data={"csrf_token": csrf_of(page), "code": now})
    assert replay.status_code == 401  # each code works once
    expected = {"user.totp.begin", "user.totp.enable", "user.session.code"}
    assert expected | {"user.session.code_failed"} <= set(actions(db))


def enrol_on_the_page(here: Browser) -> list[str]:
    """Set up a one-time code through the set-up page; the recovery codes it shows."""
    setup = here.get("/account/two-factor")
    secret = re.search(r'id="totp-secret">([^<]+)<', setup.text).group(1).replace(" ", "")
    code = totp.code_at(secret, datetime.now(UTC) - timedelta(seconds=30))
    done = here.post("/account/two-factor", {"code": code})
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)


def test_a_recovery_code_is_accepted_once(app, db, make_user):
    make_user("lan@example.org", role="viewer")
    codes = enrol_on_the_page(browser(app, "lan@example.org"))
    with db.transaction(write=False) as session:
        stored = list(session.scalars(select(RecoveryCode.code_sha256)))
    assert len(stored) == 10
    assert not set(codes) & set(stored)  # kept only as hashes
    statuses = []
    for _ in range(2):
        client = app.test_client()
        log_in(client, "lan@example.org")
        page = client.get("/login/code")
        sent = client.post(
            "/login/code", data={"csrf_token": csrf_of(page), "code": codes[0].upper()}
        )
        statuses.append(sent.status_code)
    assert statuses == [302, 401]
    assert "user.totp.recovery_used" in actions(db)


def test_five_wrong_codes_end_the_held_session(app, make_user, enrol_totp):
    make_user("lan@example.org", role="viewer")
    enrol_totp("lan@example.org")
    client = app.test_client()
    log_in(client, "lan@example.org")
    page = client.get("/login/code")
    statuses = [
        client.post("/login/code", data={"csrf_token": csrf_of(page), "code": "111111"}).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    assert client.get("/").headers["Location"].startswith("/login?")  # the password again


def test_the_code_is_turned_off_with_the_password_and_a_code(app, db, make_user, enrol_totp):
    make_user("lan@example.org", role="viewer")
    secret = enrol_totp("lan@example.org")
    here = browser(app, "lan@example.org", secret=secret)
    later = totp.code_at(secret, datetime.now(UTC) + timedelta(seconds=30))
    refused = here.post("/account/two-factor/disable", {"password": "nope nope", "code": later})
    assert refused.status_code == 400
    done = here.post("/account/two-factor/disable", {"password": PASSWORD, "code": later})
    assert done.status_code == 303
    assert log_in(app.test_client(), "lan@example.org").headers["Location"] == "/"
    assert "user.totp.disable" in actions(db)


def test_an_administrator_without_a_code_can_only_set_one_up(app, make_user):
    make_user("admin@example.org", role="admin")
    admin = browser(app, "admin@example.org", page="/account/two-factor")
    for path in ("/", "/users", "/audits", "/account"):
        response = admin.get(path)
        assert (path, response.status_code) == (path, 302)
        assert response.headers["Location"] == "/account/two-factor"
    page = admin.get("/account/two-factor")
    assert "Quản trị viên phải cài đặt mã xác thực một lần" in page.text
    refused = admin.post("/users", {"email": "x@example.org", "password": NEW})
    assert refused.headers["Location"] == "/account/two-factor"
    secret = re.search(r'id="totp-secret">([^<]+)<', page.text).group(1).replace(" ", "")
    admin.post("/account/two-factor", {"code": totp.code_at(secret, datetime.now(UTC))})
    assert admin.get("/users").status_code == 200


def test_a_session_waiting_for_its_code_can_log_out(app, db, make_user, enrol_totp):
    make_user("lan@example.org", role="viewer")
    enrol_totp("lan@example.org")
    client = app.test_client()
    log_in(client, "lan@example.org")
    page = client.get("/login/code")
    assert client.post("/logout", data={}).status_code == 400  # CSRF still checked
    assert client.post("/logout", data={"csrf_token": csrf_of(page)}).status_code == 302
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0


def test_every_form_of_the_account_pages_carries_the_sessions_csrf_token(app, make_user):
    make_user("lan@example.org", role="viewer")
    here = browser(app, "lan@example.org")
    for path in ("/account", "/account/two-factor"):
        page = here.get(path).text
        forms = page.count('method="post"') - page.count('action="/language"')  # open
        assert page.count(f'name="csrf_token" value="{here.csrf}"') == forms, path
