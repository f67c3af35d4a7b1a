"""Administrators manage web users: add one with a role limited to wards, give and take roles,
log a user out everywhere, close an account; each change is in the audit log."""

from __future__ import annotations

import re

from sqlalchemy import select

from server.models.actors import User
from server.models.audits import Audit
from server.services import users
from tests.web.conftest import log_in


def test_an_admin_adds_a_ward_supervisor_who_can_then_log_in(app, db, login_as, project):
    admin = login_as("admin", project_id=None)
    response = admin.post(
        "/users",
        {
            "email": "xa.bo.de@example.org",
            "password": "a long password 1",
            "role": "supervisor",
            "project_id": str(project.id),
            "wards": "00004",
        },
    )
    assert response.status_code == 303
    page = admin.get("/users").text
    assert "xa.bo.de@example.org" in page
    assert "Giám sát viên · Phường Bồ Đề · xã/phường 00004" in page
    assert log_in(app.test_client(), "xa.bo.de@example.org", "a long password 1").status_code == 302
    with db.transaction(write=False) as session:
        actions = session.scalars(select(Audit.action).where(Audit.action.like("user.%"))).all()
    assert "user.create" in actions
    assert "user.role.assign" in actions


def test_a_short_password_is_refused_with_a_sentence(login_as):
    admin = login_as("admin", project_id=None)
    response = admin.post("/users", {"email": "x@example.org", "password": "short"})
    assert response.status_code == 400
    assert "ít nhất 10 ký tự" in response.text


def test_roles_are_given_and_taken_away(login_as, project):
    admin = login_as("admin", project_id=None)
    admin.post("/users", {"email": "lan@example.org", "password": "a long password 1"})
    actor_id = re.search(
        r'/users/(\d+)/roles"', admin.get("/users").text.split("lan@example.org")[1]
    )
    actor_id = actor_id.group(1)
    given = admin.post(
        f"/users/{actor_id}/roles", {"role": "viewer", "project_id": str(project.id), "wards": ""}
    )
    assert given.status_code == 303
    assert "Người xem · Phường Bồ Đề" in admin.get("/users").text
    taken = admin.post(f"/users/{actor_id}/roles/remove", {"project_id": str(project.id)})
    assert taken.status_code == 303
    section = admin.get("/users").text.split("lan@example.org")[1]
    assert "Người dùng này không có vai trò" in section.split("</li>")[0] + section


def test_closing_an_account_ends_its_sessions_and_its_log_in(app, login_as):
    admin = login_as("admin", project_id=None)
    supervisor = login_as("supervisor", email="lan@example.org")
    page = admin.get("/users").text
    actor_id = re.search(r'/users/(\d+)/deactivate"', page.split("lan@example.org")[1]).group(1)
    assert admin.post(f"/users/{actor_id}/deactivate").status_code == 303
    assert supervisor.get("/").status_code == 302
    assert log_in(app.test_client(), "lan@example.org").status_code == 401


def test_an_admin_logs_a_user_out_everywhere(login_as):
    admin = login_as("admin", project_id=None)
    supervisor = login_as("supervisor", email="lan@example.org")
    page = admin.get("/users").text
    actor_id = re.search(r'/users/(\d+)/sessions/end"', page.split("lan@example.org")[1]).group(1)
    assert admin.post(f"/users/{actor_id}/sessions/end").status_code == 303
    assert supervisor.get("/").status_code == 302


def test_the_users_page_sets_digest_on_creation_and_turns_it_off(db, login_as, project):
    admin = login_as("admin", project_id=None)
    created = admin.post(
        "/users",
        {
            "email": "tnv@example.org",
            "password": "correct horse battery",
            "role": "collector",
            "digest": "on",
        },
    )
    assert created.status_code == 303
    assert _ha1_of(db, "tnv@example.org") is not None
    page = admin.get("/users").text
    assert "ODK Collect (Digest)" in page
    with db.transaction(write=False) as session:
        actor_id = users.find_user(session, "tnv@example.org").actor_id
    assert admin.post(f"/users/{actor_id}/digest", {}).status_code == 303
    assert _ha1_of(db, "tnv@example.org") is None
    admin.post(
        "/users",
        {"email": "xem@example.org", "password": "correct horse battery", "role": "viewer"},
    )
    assert _ha1_of(db, "xem@example.org") is None


def _ha1_of(db, email: str):
    with db.transaction(write=False) as session:
        return session.scalar(select(User.digest_ha1).where(User.email == email))


def test_a_common_password_is_refused_with_a_sentence(login_as):
    admin = login_as("admin", project_id=None)
    response = admin.post("/users", {"email": "x@example.org", "password": "password1234"})
    assert response.status_code == 400
    assert "quá dễ đoán" in response.text


def test_an_admin_takes_away_a_lost_one_time_code(app, db, login_as, make_user, enrol_totp):
    from server.services import second_factor

    lan = make_user("lan@example.org", role="viewer")
    enrol_totp("lan@example.org")
    admin = login_as("admin", project_id=None)
    assert "Gỡ mã xác thực một lần" in admin.get("/users").text
    response = admin.post(f"/users/{lan.actor_id}/two-factor/remove")
    assert response.status_code == 303
    with db.transaction(write=False) as session:
        assert not second_factor.is_enrolled(session, lan.actor_id)
        actions = session.scalars(select(Audit.action)).all()
    assert "user.totp.remove" in actions
    assert log_in(app.test_client(), "lan@example.org").headers["Location"] == "/"
