"""Writes stay inside the caller's scope: a role held for some communes/wards gives phones
only its own wards, changes only its own wards' phones, pushes no submission or entity into
another ward and publishes no form; a phone changes only the clients it holds and edits only
what it sent. Each case goes in over HTTP, as the web UI, the REST API or Collect would."""

from __future__ import annotations

from sqlalchemy import select

from server.auth.permissions import SYSTEM, Principal, holds_wards, reaches_phone
from server.models.actors import AppUser
from server.services import app_users, sessions
from tests.support.facilities import add_facilities

WARD_MANAGER = Principal(9, "user", ward_roles=frozenset({("manager", 5, "00004")}))


def test_a_ward_role_reaches_only_phones_of_its_wards_with_no_site():
    assert reaches_phone(WARD_MANAGER, "app_user.create", 5, ["00004"], [])
    assert not reaches_phone(WARD_MANAGER, "app_user.create", 5, ["00004", "00008"], [])
    assert not reaches_phone(WARD_MANAGER, "app_user.create", 5, [], [])  # a project-wide phone
    assert not reaches_phone(WARD_MANAGER, "app_user.create", 5, ["00004"], ["VCT-01"])
    assert not reaches_phone(WARD_MANAGER, "app_user.create", 6, ["00004"], [])
    assert reaches_phone(SYSTEM, "app_user.create", 5, [], ["VCT-01"])
    assert holds_wards(WARD_MANAGER, "submission.update", 5, ["00004", "00004"])
    assert not holds_wards(WARD_MANAGER, "submission.update", 5, ["00004", None])


def bearer(db, email: str) -> dict:
    with db.transaction() as session:
        issued = sessions.log_in(session, email, "correct horse battery", None, "bearer").issued
    return {"Authorization": f"Bearer {issued.token}"}


def phone(db, project, name: str, wards=(), sites=()) -> app_users.IssuedAppUser:
    with db.transaction() as session:
        return app_users.create_app_user(
            session, SYSTEM, project.id, name, all_forms=True, wards=wards, sites=sites
        )


def test_a_ward_manager_gives_phones_only_its_own_wards_on_the_web(db, login_as, project):
    browser = login_as("manager", wards=("00004",))
    url = f"/projects/{project.id}/app-users"
    for wards, sites in (("00008", ""), ("00004, 00008", ""), ("", ""), ("00004", "VCT-01")):
        form = {"display_name": "TNV", "wards": wards, "sites": sites, "form_access": "all"}
        refused = browser.post(url, form)
        assert refused.status_code == 403, (wards, sites)
        assert "Bạn không có quyền" in refused.text
    with db.transaction(write=False) as session:
        assert session.scalars(select(AppUser)).all() == []  # nothing half made
    made = browser.post(url, {"display_name": "TNV", "wards": "00004", "form_access": "all"})
    assert made.status_code == 200
    with db.transaction(write=False) as session:
        [actor_id] = session.scalars(select(AppUser.actor_id)).all()
        assert app_users.wards_by_actor(session, [actor_id]) == {actor_id: ["00004"]}


def test_a_ward_manager_cannot_reissue_revoke_or_reassign_another_wards_phone(
    db, login_as, project, make_form
):
    from tests.web.conftest import REVIEW_MD

    make_form(REVIEW_MD)
    add_facilities(db, project.id, "VCT-01")
    mine = phone(db, project, "mine", wards=["00004"])
    theirs = phone(db, project, "theirs", wards=["00008"])
    clinic = phone(db, project, "clinic", sites=["VCT-01"])
    browser = login_as("manager", wards=("00004",))
    base = f"/projects/{project.id}/app-users"
    for other in (theirs, clinic):
        for action, data in (("reissue", {}), ("revoke", {}), ("forms", {"form_access": "all"})):
            answer = browser.post(f"{base}/{other.actor_id}/{action}", data)
            assert answer.status_code == 403, (other.display_name, action)
    with db.transaction(write=False) as session:
        assert app_users.principal_for_token(session, theirs.token) is not None  # key kept
        assert app_users.principal_for_token(session, clinic.token) is not None
    assert browser.post(f"{base}/{mine.actor_id}/reissue").status_code == 200
    assert browser.post(f"{base}/{mine.actor_id}/revoke").status_code == 303


def test_the_rest_api_and_the_services_apply_the_same_rule(app, db, make_user, project, make_form):
    from tests.web.conftest import REVIEW_MD

    make_form(REVIEW_MD)
    add_facilities(db, project.id, "VCT-01")
    theirs = phone(db, project, "theirs", wards=["00008"])
    mine = phone(db, project, "mine", wards=["00004"])
    make_user("wm@example.org", role="manager", project_id=project.id, wards=("00004",))
    headers = bearer(db, "wm@example.org")
    client = app.test_client()
    base = f"/v1/projects/{project.id}"
    # Central's POST /app-users names no ward: a ward-scoped manager cannot make such a phone.
    assert (
        client.post(f"{base}/app-users", json={"displayName": "x"}, headers=headers).status_code
        == 403
    )
    assert client.delete(f"{base}/app-users/{theirs.actor_id}", headers=headers).status_code == 403
    assignment = f"{base}/forms/review/assignments/app-user/{theirs.actor_id}"
    assert client.delete(assignment, headers=headers).status_code == 403
    assert client.delete(f"{base}/app-users/{mine.actor_id}", headers=headers).status_code == 200
    with db.transaction(write=False) as session:
        wm = sessions.principal_for_bearer(session, headers["Authorization"][7:])
    from server.errors import InsufficientRights

    for change in (
        lambda s: app_users.set_wards(s, wm, theirs.actor_id, ["00004"]),  # taking it over
        lambda s: app_users.set_wards(s, wm, mine.actor_id, ["00004", "00008"]),
        lambda s: app_users.set_sites(s, wm, mine.actor_id, ["VCT-01"]),
    ):
        try:
            with db.transaction() as session:
                change(session)
        except InsufficientRights:
            continue
        raise AssertionError("a write outside the caller's wards was accepted")
    with db.transaction(write=False) as session:
        assert app_users.wards_by_actor(session, [theirs.actor_id, mine.actor_id]) == {
            theirs.actor_id: ["00008"],
            mine.actor_id: ["00004"],
        }


def test_a_ward_role_pushes_no_submission_into_another_ward_through_the_rest_api(
    app, db, make_user, project, make_form
):
    from tests.web.conftest import REVIEW_MD, review_instance

    make_form(REVIEW_MD)
    make_user("wm@example.org", role="manager", project_id=project.id, wards=("00004",))
    make_user("ws@example.org", role="supervisor", project_id=project.id, wards=("00004",))
    client = app.test_client()
    url = f"/v1/projects/{project.id}/forms/review/submissions"
    manager, supervisor = bearer(db, "wm@example.org"), bearer(db, "ws@example.org")
    xml = {"content_type": "application/xml"}
    into_other = review_instance("uuid:o1", ma_xa="00008")
    refused = client.post(url, data=into_other, headers=manager, **xml)
    assert (refused.status_code, refused.json["code"]) == (403, 403.1)
    assert "message" in refused.json
    mine = client.post(url, data=review_instance("uuid:m1", ma_xa="00004"), headers=manager, **xml)
    assert mine.status_code == 200
    moved = review_instance("uuid:m2", "uuid:m1", ma_xa="00008")
    assert client.put(f"{url}/uuid:m1", data=moved, headers=supervisor, **xml).status_code == 403
    kept = review_instance("uuid:m3", "uuid:m1", ma_xa="00004", gap="khong")
    assert client.put(f"{url}/uuid:m1", data=kept, headers=supervisor, **xml).status_code == 200
    listed = client.get(url, headers=manager).json
    assert [s["instanceId"] for s in listed] == ["uuid:m1"]


def test_a_ward_role_pushes_no_entity_into_another_ward_through_the_rest_api(
    app, db, make_user, project
):
    from server.services import entity_api

    with db.transaction() as session:
        entity_api.create_dataset(session, SYSTEM, project.id, "clients")
        entity_api.add_property(session, SYSTEM, project.id, "clients", "ma_xa")
    make_user("wm@example.org", role="manager", project_id=project.id, wards=("00004",))
    headers = bearer(db, "wm@example.org")
    client = app.test_client()
    url = f"/v1/projects/{project.id}/datasets/clients/entities"
    other = {"label": "B", "data": {"ma_xa": "00008"}}
    assert client.post(url, json=other, headers=headers).status_code == 403
    many = {"entities": [{"label": "A", "data": {"ma_xa": "00004"}}, other]}
    assert client.post(url, json=many, headers=headers).status_code == 403
    assert client.post(url, json={"label": "C"}, headers=headers).status_code == 403  # no ward
    made = client.post(url, json={"label": "A", "data": {"ma_xa": "00004"}}, headers=headers)
    assert made.status_code == 200
    one = f"{url}/{made.json['uuid']}?force=true"
    move = {"data": {"ma_xa": "00008"}}
    assert client.patch(one, json=move, headers=headers).status_code == 403
    listed = client.get(url, headers=headers).json
    assert [(e["currentVersion"]["label"], e["currentVersion"]["data"]) for e in listed] == [
        ("A", {"ma_xa": "00004"})
    ]
    assert client.patch(one, json={"label": "A2"}, headers=headers).status_code == 200


def test_form_publishing_and_state_need_a_project_wide_role(app, db, make_user, project):
    from tests.support.xlsforms import XLSX_TYPE, visit_xlsx

    make_user("wm@example.org", role="manager", project_id=project.id, wards=("00004",))
    make_user("pm@example.org", role="manager", project_id=project.id)
    client = app.test_client()
    url = f"/v1/projects/{project.id}/forms?publish=true&ignoreWarnings=true"
    body = {"data": visit_xlsx(form_id="visit"), "content_type": XLSX_TYPE}
    ward, whole = bearer(db, "wm@example.org"), bearer(db, "pm@example.org")
    assert client.post(url, headers=ward, **body).status_code == 403
    assert client.post(url, headers=whole, **body).status_code == 200
    form = f"/v1/projects/{project.id}/forms/visit"
    assert client.patch(form, json={"state": "closed"}, headers=ward).status_code == 403
    assert client.post(f"{form}/draft", headers=ward, **body).status_code == 403
    assert client.get(form, headers=ward).json["state"] == "open"
    assert client.patch(form, json={"state": "closing"}, headers=whole).status_code == 200


def test_the_field_users_page_offers_a_ward_manager_only_its_own_phones(db, login_as, project):
    mine = phone(db, project, "mine", wards=["00004"])
    theirs = phone(db, project, "theirs", wards=["00008"])
    page = login_as("manager", wards=("00004",)).get(f"/projects/{project.id}/app-users").text
    base = f"/projects/{project.id}/app-users"
    assert f"{base}/{mine.actor_id}/revoke" in page
    assert f"{base}/{mine.actor_id}/reissue" in page
    assert "theirs" in page  # listed, but nothing to do with it
    assert f"{base}/{theirs.actor_id}/" not in page
    whole = login_as("manager").get(base).text
    assert f"{base}/{theirs.actor_id}/revoke" in whole
