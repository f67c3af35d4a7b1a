"""Ward and site codes are checked where phones and roles get them (places.check_codes), for
every caller: a code not in xlsforms/wards.csv, or not in the project's facilities, is refused
in the caller's language (a command-line message, a JSON problem, a Vietnamese sentence) and
nothing is stored; the web pages offer the wards and facilities by name to tick."""

from __future__ import annotations

import requests
from sqlalchemy import func, select

from server.auth.permissions import SYSTEM
from server.models.actors import AppUser, RoleAssignment, User
from server.services import app_users
from tests.support.facilities import add_facilities

PASSWORD = "correct horse battery"
TYPED = "118, Bồ Đề"  # what a supervisor typed: the old code and the ward's name


def count(db, model) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_command_line_refuses_unknown_ward_and_site_codes(app, db, project):
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=["app-users", "create", "TNV", "--project", str(project.id), "--ward", TYPED]
    )
    assert made.exit_code != 0
    assert "not commune/ward codes of xlsforms/wards.csv: 118, Bồ Đề" in made.output
    assert count(db, AppUser) == 0
    padded = runner.invoke(
        args=["app-users", "create", "TNV", "--project", str(project.id), "--ward", "118"]
    )
    assert padded.exit_code != 0
    assert "118 (did you mean 00118?)" in padded.output
    with db.transaction() as session:
        actor_id = app_users.create_app_user(session, SYSTEM, project.id, "TNV", wards=["00118"])
        actor_id = actor_id.actor_id
    wards = runner.invoke(args=["app-users", "wards", str(actor_id), "00118", "99999"])
    assert wards.exit_code != 0
    assert "99999" in wards.output
    sites = runner.invoke(args=["app-users", "sites", str(actor_id), "VCT-01"])
    assert sites.exit_code != 0
    assert "not facility codes of the project's facilities list: VCT-01" in sites.output
    with db.transaction(write=False) as session:
        assert app_users.wards_by_actor(session, [actor_id]) == {actor_id: ["00118"]}
        assert app_users.sites_by_actor(session, [actor_id]) == {}
    role = runner.invoke(
        args=[
            *("users", "create", "gs@example.org", "--role", "supervisor"),
            *("--project", str(project.id), "--ward", "118"),
        ],
        input=f"{PASSWORD}\n",
    )
    assert role.exit_code != 0
    assert "did you mean 00118" in role.output
    assert count(db, User) == 0


def test_the_rest_api_answers_a_json_problem_for_unknown_codes(db, live_server, make_user, project):
    make_user("manager@example.org", PASSWORD, "manager", project.id)
    token = requests.post(
        f"{live_server}/v1/sessions",
        timeout=10,
        json={"email": "manager@example.org", "password": PASSWORD},
    ).json()["token"]
    url = f"{live_server}/v1/projects/{project.id}/app-users"
    headers = {"Authorization": f"Bearer {token}"}
    for body, field in (({"wards": [TYPED]}, "wards"), ({"sites": ["VCT-01"]}, "sites")):
        response = requests.post(
            url, timeout=10, headers=headers, json={"displayName": "TNV", **body}
        )
        assert response.status_code == 400
        problem = response.json()
        assert problem["code"] == 400.8
        assert problem["details"]["field"] == field
        assert problem["details"]["value"] == body[field]
    assert count(db, AppUser) == 0
    add_facilities(db, project.id, "VCT-01")
    good = requests.post(
        url,
        timeout=10,
        headers=headers,
        json={"displayName": "TNV", "wards": ["00118"], "sites": ["vct-01"]},
    )
    assert good.status_code == 200, good.text
    actor_id = good.json()["id"]
    with db.transaction(write=False) as session:
        assert app_users.wards_by_actor(session, [actor_id]) == {actor_id: ["00118"]}
        assert app_users.sites_by_actor(session, [actor_id]) == {actor_id: ["VCT-01"]}


def test_the_field_users_page_offers_wards_and_facilities_by_name_and_refuses_others(
    db, login_as, project
):
    add_facilities(db, project.id, "VCT-01")
    browser = login_as("manager")
    page = browser.get(f"/projects/{project.id}/app-users").text
    assert '<input type="checkbox" name="wards" value="00118"> <span>Phường Bồ Đề' in page
    assert '<input type="checkbox" name="sites" value="VCT-01"> <span>Cơ sở VCT-01' in page
    assert "<summary>Hà Nội (126)</summary>" in page
    refused = browser.post(
        f"/projects/{project.id}/app-users", {"display_name": "TNV", "wards": TYPED}
    )
    assert refused.status_code == 400
    assert "Đây không phải là mã xã/phường trong danh sách: 118, Bồ Đề." in refused.text
    refused = browser.post(
        f"/projects/{project.id}/app-users", {"display_name": "TNV", "sites": "PREP-02"}
    )
    assert refused.status_code == 400
    assert "Đây không phải là mã cơ sở trong danh sách cơ sở của dự án: PREP-02." in refused.text
    assert count(db, AppUser) == 0
    ticked = browser.post(
        f"/projects/{project.id}/app-users",
        {"display_name": "TNV", "wards": ["00118", "00097"], "sites": ["VCT-01"]},
    )
    assert ticked.status_code == 200
    with db.transaction(write=False) as session:
        actor_id = session.scalar(select(AppUser.actor_id))
        assert app_users.wards_by_actor(session, [actor_id]) == {actor_id: ["00097", "00118"]}
        assert app_users.sites_by_actor(session, [actor_id]) == {actor_id: ["VCT-01"]}


def test_the_users_page_offers_wards_by_name_and_refuses_unknown_codes_for_a_role(
    db, login_as, project
):
    browser = login_as("admin", project_id=None)
    page = browser.get("/users").text
    ward = '<input type="checkbox" name="wards" value="24133"> <span>Phường Buôn Ma Thuột'
    assert page.count(ward) == 1  # in "Add a user"; each user's role form links to its own
    with db.transaction(write=False) as session:
        admin_id = session.scalar(select(User.actor_id))
    assert f'href="/users?edit={admin_id}#u{admin_id}"' in page
    assert browser.get(f"/users?edit={admin_id}").text.count(ward) == 2
    refused = browser.post(
        "/users",
        {
            "email": "gs@example.org",
            "password": PASSWORD,
            "role": "supervisor",
            "project_id": str(project.id),
            "wards": "118",
        },
    )
    assert refused.status_code == 400
    assert "Đây không phải là mã xã/phường trong danh sách: 118." in refused.text
    with db.transaction(write=False) as session:
        assert session.scalar(select(User).where(User.email == "gs@example.org")) is None
    refused = browser.post(
        f"/users/{admin_id}/roles",
        {"role": "viewer", "project_id": str(project.id), "wards": ["00118", "Bồ Đề"]},
    )
    assert refused.status_code == 400
    assert "Đây không phải là mã xã/phường trong danh sách: Bồ Đề." in refused.text
    given = browser.post(
        f"/users/{admin_id}/roles",
        {"role": "viewer", "project_id": str(project.id), "wards": ["00118", "00097"]},
    )
    assert given.status_code == 303
    with db.transaction(write=False) as session:
        wards = session.scalars(
            select(RoleAssignment.ward).where(
                RoleAssignment.actor_id == admin_id, RoleAssignment.role == "viewer"
            )
        ).all()
    assert sorted(wards) == ["00097", "00118"]
