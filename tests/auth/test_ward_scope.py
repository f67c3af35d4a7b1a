"""A supervisor of one ward sees only that ward: in the list, its counts and filters, the
submission pages, files, reviews, and the entity data of the REST API."""

from __future__ import annotations

from server.auth.permissions import SYSTEM, Principal, can, ward_scope
from server.services import sessions
from tests.web.conftest import PNG, review_instance

LIST = "/projects/{p}/forms/review/submissions"


def test_ward_scope_is_none_for_a_project_role_and_the_wards_for_a_ward_role():
    project_role = Principal(1, "user", roles=frozenset({("supervisor", 5)}))
    ward_role = Principal(2, "user", ward_roles=frozenset({("supervisor", 5, "00004")}))
    assert ward_scope(project_role, "submission.read", 5) is None
    assert ward_scope(ward_role, "submission.read", 5) == frozenset({"00004"})
    assert ward_scope(ward_role, "submission.read", 6) == frozenset()
    assert can(ward_role, "submission.update", 5)
    assert not can(ward_role, "submission.update", 6)
    assert not can(ward_role, "form.update", 5)
    assert ward_scope(SYSTEM, "submission.read", 5) is None


def send_two(collect):
    assert (
        collect.submit(
            review_instance("uuid:w4", name="Ở 00004", ma_xa="00004"), {"proof.png": PNG}
        )[-1].status
        == 201
    )
    assert (
        collect.submit(
            review_instance("uuid:w7", name="Ở 00008", ma_xa="00008"), {"proof.png": PNG}
        )[-1].status
        == 201
    )


def test_a_ward_supervisor_lists_counts_and_filters_only_their_ward(
    login_as, review_form, collect, project
):
    send_two(collect)
    browser = login_as("supervisor", wards=("00004",))
    page = browser.get(LIST.format(p=project.id)).text
    assert "Ở 00004" in page
    assert "Ở 00008" not in page
    assert "1 phiếu" in page
    assert '<option value="00008"' not in page  # not even offered as a filter
    assert "1 phiếu" in browser.get(f"/projects/{project.id}").text
    assert "Ở 00008" not in browser.get(f"{LIST.format(p=project.id)}?ward=00008").text


def test_another_wards_submission_leaves_no_trace(db, login_as, review_form, collect, project):
    send_two(collect)
    browser = login_as("supervisor", wards=("00004",))
    base = f"{LIST.format(p=project.id)}/uuid:w7"
    assert browser.get(base).status_code == 404
    assert browser.get(f"{base}/attachments/proof.png").status_code == 404
    assert browser.post(f"{base}/review", {"review_state": "approved"}).status_code == 404
    assert browser.post(f"{base}/comments", {"body": "x"}).status_code == 404
    own = f"{LIST.format(p=project.id)}/uuid:w4"
    assert browser.get(own).status_code == 200
    assert browser.post(f"{own}/review", {"review_state": "approved"}).status_code == 303


def test_a_user_with_two_wards_sees_both(login_as, review_form, collect, project):
    send_two(collect)
    page = login_as("supervisor", wards=("00004", "00008")).get(LIST.format(p=project.id))
    assert "2 phiếu" in page.text


def test_entity_api_gives_a_ward_viewer_only_their_wards_entities(app, db, make_user, project):
    client = app.test_client()

    def bearer(email: str, role: str, wards=()) -> dict:
        make_user(email, role=role, project_id=project.id, wards=wards)
        with db.transaction() as session:
            issued = sessions.log_in(session, email, "correct horse battery", None).issued
        return {"Authorization": f"Bearer {issued.token}"}

    manager = bearer("manager@example.org", "manager")
    base = f"/v1/projects/{project.id}/datasets"
    client.post(base, json={"name": "clients"}, headers=manager)
    client.post(f"{base}/clients/properties", json={"name": "ma_xa"}, headers=manager)
    for label, ward in (("Bình", "00004"), ("Hà", "00008")):
        created = client.post(
            f"{base}/clients/entities",
            json={"label": label, "data": {"ma_xa": ward}},
            headers=manager,
        )
        assert created.status_code == 200, created.json
    viewer = bearer("xem@example.org", "viewer", ("00008",))
    listed = client.get(f"{base}/clients/entities", headers=viewer)
    assert listed.status_code == 200
    assert [e["currentVersion"]["label"] for e in listed.json] == ["Hà"]
    everyone = client.get(f"{base}/clients/entities", headers=manager).json
    assert sorted(e["currentVersion"]["label"] for e in everyone) == ["Bình", "Hà"]
    other = next(e["uuid"] for e in everyone if e["currentVersion"]["label"] == "Bình")
    assert client.get(f"{base}/clients/entities/{other}", headers=viewer).status_code == 404
