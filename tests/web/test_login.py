"""Logging in and out of the web UI: cookies, wrong passwords, waits per account and address
shared through the database, CSRF on every form, and where an anonymous visitor is sent."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from server.models.actors import WebSession
from server.models.audits import Audit
from tests.web.conftest import log_in


def audits(db, action: str) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).where(Audit.action == action))


def test_anonymous_visitor_is_sent_to_login_with_the_page_to_come_back_to(app):
    response = app.test_client().get("/projects/1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/projects/1"


def test_login_sets_an_httponly_samesite_cookie_and_opens_the_start_page(app, make_user):
    make_user("lan@example.org", role="supervisor")
    client = app.test_client()
    response = log_in(client, "lan@example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("dh_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    home = client.get("/")
    assert home.status_code == 200
    assert "Dự án" in home.text
    assert "lan@example.org" in home.text


def test_login_over_https_uses_a_secure_host_only_cookie(app, make_user):
    make_user("lan@example.org", role="supervisor")
    client = app.test_client()
    page = client.get("/login", base_url="https://donghanh.example.org")
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login",
        base_url="https://donghanh.example.org",
        data={"csrf_token": nonce, "email": "lan@example.org", "password": "correct horse battery"},
    )
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if "dh_session=" in h)
    assert cookie.startswith("__Host-dh_session=")
    assert "Secure" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_wrong_password_gets_a_clear_sentence_and_is_audited(app, db, make_user):
    make_user("lan@example.org", role="supervisor")
    response = log_in(app.test_client(), "lan@example.org", "wrong")
    assert response.status_code == 401
    assert "Email hoặc mật khẩu không đúng" in response.text
    assert audits(db, "user.session.failed") == 1


def test_the_sentence_is_english_after_switching_language(app, make_user):
    make_user("lan@example.org", role="supervisor")
    client = app.test_client()
    switched = client.post("/language", data={"language": "en", "next": "/login"})
    assert switched.status_code == 302
    assert switched.headers["Location"] == "/login"
    response = log_in(client, "lan@example.org", "wrong")
    assert "The email address or the password is wrong" in response.text


def test_five_failures_make_the_account_wait_at_that_address_only(app, db, make_user):
    make_user("lan@example.org", role="supervisor")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    statuses = [log_in(attacker, "lan@example.org", f"wrong{i}").status_code for i in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    waiting = log_in(attacker, "lan@example.org")  # even the right password, from there
    assert waiting.status_code == 429
    assert "Hãy đợi đến" in waiting.text
    assert audits(db, "user.session.throttled") == 1
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0
    owner = app.test_client()  # the real user, elsewhere, is not locked out
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert log_in(owner, "lan@example.org").status_code == 302


def test_login_without_its_form_token_is_refused(app, make_user):
    make_user("lan@example.org", role="supervisor")
    response = app.test_client().post(
        "/login", data={"email": "lan@example.org", "password": "correct horse battery"}
    )
    assert response.status_code == 400
    assert "dh_session" not in " ".join(response.headers.getlist("Set-Cookie"))


def test_next_never_leaves_the_site(app, make_user):
    make_user("lan@example.org", role="supervisor")
    client = app.test_client()
    page = client.get("/login?next=//evil.example/x")
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login",
        data={
            "csrf_token": nonce,
            "email": "lan@example.org",
            "password": "correct horse battery",
            "next": "https://evil.example/",
        },
    )
    assert response.headers["Location"] == "/"


def test_logout_ends_the_session_on_the_server(login_as):
    browser = login_as("supervisor")
    cookie = browser.client.get_cookie("dh_session").value
    assert browser.post("/logout").status_code == 302
    browser.client.set_cookie("dh_session", cookie)  # a copied cookie is dead too
    assert browser.get("/").status_code == 302


def test_logout_everywhere_ends_every_session_of_the_user(app, login_as):
    first = login_as("supervisor", email="lan@example.org")
    second = app.test_client()
    assert log_in(second, "lan@example.org").status_code == 302
    assert first.post("/logout/everywhere").status_code == 302
    assert second.get("/").status_code == 302


def test_a_form_posted_without_the_csrf_token_changes_nothing(login_as, db):
    browser = login_as("supervisor")
    response = browser.client.post("/logout/everywhere", data={})
    assert response.status_code == 400
    assert "hết hạn" in response.text
    assert browser.get("/").status_code == 200  # still logged in


def test_session_ends_after_the_idle_timeout(login_as, db):
    from datetime import timedelta

    from sqlalchemy import update

    from server.models.types import utcnow

    browser = login_as("supervisor")
    assert browser.get("/").status_code == 200
    with db.transaction() as session:  # the last request was 2 h 1 min ago; the limit is 2 h
        session.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=121)))
    assert browser.get("/").status_code == 302


def test_next_refuses_every_way_out_of_the_site():
    from server.web import safe_next

    for target in ("//evil.example", "/\\evil.example", "https://evil.example/", "evil", "/\t/x"):
        assert safe_next(target) == "/"
    assert safe_next("/projects/1?x=1") == "/projects/1?x=1"
