"""Behind a reverse proxy: X-Forwarded-For/-Proto/-Host are believed only from the configured
TRUSTED_PROXIES, and then the address (throttling, audits) and the scheme (HTTPS-only Basic,
secure cookies, HSTS) follow them; /metrics stays for this machine only."""

from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import select

from server.models.audits import Audit
from server.settings import SettingsError

PASSWORD = "correct horse battery"
OPENROSA = {"X-OpenRosa-Version": "1.0"}


def basic(email: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()


@pytest.fixture
def proxied(settings):
    """Settings of a server behind a proxy on this machine (its peer is 127.0.0.1)."""
    return settings.replace(trusted_proxies="127.0.0.1, 10.9.0.0/16")


@pytest.fixture
def proxied_app(proxied):
    from server.app import create_app
    from tests.conftest import empty_all_tables

    app = create_app(proxied)
    yield app
    empty_all_tables(app.extensions["donghanh"].db)
    app.extensions["donghanh"].db.dispose()


def failed_addresses(db) -> list[str]:
    with db.transaction(write=False) as session:
        rows = session.scalars(select(Audit).where(Audit.action == "user.session.failed"))
        return [r.details["address"] for r in rows]


def test_no_proxy_is_trusted_by_default(app, db, make_user, project):
    make_user("tnv@example.org", PASSWORD, "collector", project.id)
    forged = {
        **OPENROSA,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "198.51.100.7",
        "Authorization": basic("tnv@example.org", PASSWORD),
    }
    response = app.test_client().get(f"/v1/projects/{project.id}/formList", headers=forged)
    assert response.status_code == 401  # Basic needs HTTPS: the header is not believed
    assert b"HTTPS" in response.data
    client = app.test_client()
    claims = {k: v for k, v in forged.items() if k != "Authorization"}
    client.post("/v1/sessions", json={"email": "tnv@example.org", "password": "x"}, headers=claims)
    assert failed_addresses(db) == ["127.0.0.1"]  # the peer, not what it claimed
    page = client.get("/login", headers=forged)
    assert "Strict-Transport-Security" not in page.headers


def test_a_trusted_proxys_scheme_lets_basic_in_and_makes_cookies_secure(proxied_app, db, project):
    from server.services import users

    db = proxied_app.extensions["donghanh"].db
    with db.transaction() as session:
        users.create_user(
            session, None, "tnv@example.org", PASSWORD, "donghanh", "collector", project.id, ()
        )
    client = proxied_app.test_client()
    headers = {**OPENROSA, "X-Forwarded-Proto": "https"}
    response = client.get(
        f"/v1/projects/{project.id}/formList",
        headers={**headers, "Authorization": basic("tnv@example.org", PASSWORD)},
    )
    assert response.status_code == 200
    page = client.get("/login", headers=headers)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    logged_in = client.post(
        "/login",
        headers=headers,
        data={"csrf_token": nonce, "email": "tnv@example.org", "password": PASSWORD},
    )
    cookie = next(h for h in logged_in.headers.getlist("Set-Cookie") if "dh_session=" in h)
    assert cookie.startswith("__Host-dh_session=")
    assert "Secure" in cookie


def test_throttling_and_audits_follow_the_forwarded_client_address(proxied_app, project):
    from server.services import users

    db = proxied_app.extensions["donghanh"].db
    with db.transaction() as session:
        users.create_user(session, None, "lan@example.org", PASSWORD, "donghanh", "admin", None, ())
    client = proxied_app.test_client()
    # The client wrote its own X-Forwarded-For (6.6.6.6); the proxy appended the real address.
    attacker = {"X-Forwarded-For": "6.6.6.6, 203.0.113.5"}
    body = {"email": "lan@example.org", "password": "wrong"}
    statuses = [
        client.post("/v1/sessions", json=body, headers=attacker).status_code for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    assert set(failed_addresses(db)) == {"203.0.113.5"}
    owner = {"X-Forwarded-For": "198.51.100.7"}
    right = client.post("/v1/sessions", json={**body, "password": PASSWORD}, headers=owner)
    assert right.status_code == 200  # everyone behind the same proxy is not one address
    # A chain of trusted proxies (10.9.0.0/16): the first untrusted hop is the client.
    client.post("/v1/sessions", json=body, headers={"X-Forwarded-For": "192.0.2.1, 10.9.3.4"})
    assert failed_addresses(db)[-1] == "192.0.2.1"


def test_metrics_are_refused_to_a_request_the_proxy_forwarded(proxied_app):
    client = proxied_app.test_client()
    assert client.get("/metrics").status_code == 200  # on this machine itself
    outside = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
    assert outside.status_code == 403
    claims_loopback = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert claims_loopback.status_code == 403


def test_trusted_proxies_must_be_addresses_or_networks(settings):
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        settings.replace(trusted_proxies="caddy")
    assert [
        str(n) for n in settings.replace(trusted_proxies="::1,10.0.0.0/8").trusted_networks
    ] == [
        "::1/128",
        "10.0.0.0/8",
    ]
