"""Passwords over the REST API, in Central's shapes: PUT /v1/users/{id}/password (old and
new; the user's other sessions end), POST /v1/users/reset/initiate (the one-time link is
answered to the administrator: no email is sent), and POST /v1/sessions for an account with
a one-time code (the code goes in "code")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from server.auth import totp
from server.models.audits import Audit

PASSWORD = "correct horse battery"
NEW = "mây trắng trên đồi chè"


def bearer(client, email: str, password: str = PASSWORD, **extra) -> str:
    response = client.post("/v1/sessions", json={"email": email, "password": password, **extra})
    assert response.status_code == 200, response.json
    return response.json["token"]


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def lan(make_user, project):
    return make_user("lan@example.org", role="supervisor", project_id=project.id)


def test_a_user_changes_their_password_and_their_other_sessions_end(app, lan, db):
    client = app.test_client()
    here, elsewhere = bearer(client, "lan@example.org"), bearer(client, "lan@example.org")
    response = client.put(
        f"/v1/users/{lan.actor_id}/password",
        json={"old": PASSWORD, "new": NEW},
        headers=auth(here),
    )
    assert (response.status_code, response.json) == (200, {"success": True})
    assert client.get("/v1/users/current", headers=auth(here)).status_code == 200
    assert client.get("/v1/users/current", headers=auth(elsewhere)).status_code == 401
    assert (
        client.post("/v1/sessions", json={"email": lan.email, "password": PASSWORD}).status_code
        == 401
    )
    bearer(client, "lan@example.org", NEW)
    with db.transaction(write=False) as session:
        row = session.scalar(select(Audit).where(Audit.action == "user.password.change"))
    assert row.subject_id == lan.actor_id
    assert NEW not in str(row.details)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"old": "wrong password!", "new": NEW}, 401, 401.2),
        ({"old": PASSWORD, "new": "short"}, 400, 400.21),
        ({"old": PASSWORD, "new": "password1234"}, 400, 400.44),
        ({"old": PASSWORD, "new": "x" * 80}, 400, 400.38),
        ({"old": PASSWORD}, 400, 400.31),
    ],
)
def test_a_password_change_is_refused_with_a_json_problem(app, lan, body, status, code):
    client = app.test_client()
    token = bearer(client, "lan@example.org")
    response = client.put(f"/v1/users/{lan.actor_id}/password", json=body, headers=auth(token))
    assert (response.status_code, response.json["code"]) == (status, code)
    assert set(response.json) == {"message", "code", "details"}
    assert client.get("/v1/users/current", headers=auth(token)).status_code == 200


def test_only_an_administrator_changes_another_users_password(app, lan, make_user):
    other = make_user("binh@example.org", role="viewer")
    client = app.test_client()
    token = bearer(client, "lan@example.org")
    body = {"old": PASSWORD, "new": NEW}
    assert (
        client.put(
            f"/v1/users/{other.actor_id}/password", json=body, headers=auth(token)
        ).status_code
        == 403
    )
    assert client.put("/v1/users/99999/password", json=body, headers=auth(token)).status_code == 404


def test_an_administrator_gets_a_one_time_reset_link_instead_of_an_email(app, lan, make_user, db):
    make_user("admin@example.org", role="admin")
    client = app.test_client()
    admin = bearer(client, "admin@example.org")
    response = client.post(
        "/v1/users/reset/initiate", json={"email": "Lan@example.org"}, headers=auth(admin)
    )
    assert response.status_code == 200
    url = response.json["resetUrl"]
    assert url.startswith("http")
    assert "/reset/" in url
    assert PASSWORD not in url
    token = url.rsplit("/", 1)[1]
    with db.transaction(write=False) as session:
        audits = [str(d) for d in session.scalars(select(Audit.details))]
    assert all(token not in d for d in audits)  # the link is never in the audit log
    refused = client.post(
        "/v1/users/reset/initiate",
        json={"email": "admin@example.org"},
        headers=auth(bearer(client, "lan@example.org")),
    )
    assert refused.status_code == 403
    unknown = client.post(
        "/v1/users/reset/initiate", json={"email": "x@example.org"}, headers=auth(admin)
    )
    assert (unknown.status_code, unknown.json["code"]) == (404, 404.1)


def test_a_session_for_an_account_with_a_one_time_code_needs_the_code(app, make_user, enrol_totp):
    make_user("admin@example.org", role="admin")
    secret = enrol_totp("admin@example.org")
    client = app.test_client()
    body = {"email": "admin@example.org", "password": PASSWORD}
    missing = client.post("/v1/sessions", json=body)
    assert (missing.status_code, missing.json["code"]) == (401, 401.91)
    assert "code" in missing.json["message"]
    wrong = client.post("/v1/sessions", json={**body, "code": "000000"})
    assert (wrong.status_code, wrong.json["code"]) == (401, 401.2)
    token = bearer(client, "admin@example.org", code=totp.code_at(secret, datetime.now(UTC)))
    assert client.get("/v1/users/current", headers=auth(token)).status_code == 200


def test_basic_auth_is_refused_for_an_account_with_a_one_time_code(app, make_user, enrol_totp):
    make_user("admin@example.org", role="admin")
    enrol_totp("admin@example.org")
    response = app.test_client().get(
        "/v1/users/current",
        auth=("admin@example.org", PASSWORD),
        headers={"X-Forwarded-Proto": "https"},
        base_url="https://localhost",
    )
    assert (response.status_code, response.json["code"]) == (401, 401.91)
