"""An app user's phone receives only the forms assigned to it (Central's form assignments):
a police-model coordinator's phone gets the registration and referral forms, never the
referral outcome with its HIV result. Assigned with ODK Central's own client (pyodk), over
real HTTP, then checked as ODK Collect sees it."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.audits import Audit
from server.models.submissions import Submission
from server.services import app_users
from tests.entities.test_program_referrals import referral
from tests.support.central_client import central_client
from tests.support.collect import Collect
from tests.support.xmls import instance

PASSWORD = "correct horse battery"
COORDINATOR_FORMS = ["f1_dang_ky", "f3_chuyen_gui"]
REFERRAL_ID = "5b0e2a43-6d0a-4a8e-9a52-0a4f6b1f2c11"


@pytest.fixture
def program(app, project):
    """The program's seven real forms, published by `init` into the project."""
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    return project


@pytest.fixture
def manager(make_user, program):
    make_user("manager@example.org", PASSWORD, "manager", program.id)
    return "manager@example.org"


@pytest.fixture
def pyodk_client(live_server, manager, tmp_path: Path, program):
    with central_client(live_server, manager, tmp_path, program.id) as client:
        yield client


def phone(live_server: str, token: str, project_id: int) -> Collect:
    return Collect(f"{live_server}/v1/key/{token}/projects/{project_id}")


def test_pyodk_creates_an_app_user_with_only_its_forms(pyodk_client, live_server, program, db):
    [user] = pyodk_client.projects.create_app_users(
        display_names=["Điều phối viên Ngọc Lâm"], forms=COORDINATOR_FORMS
    )
    assert user.token
    assert user.type == "field_key"
    coordinator = phone(live_server, user.token, program.id)

    assert sorted(f["formID"] for f in coordinator.form_list()) == COORDINATOR_FORMS
    outcome_url = f"{coordinator.server_url}/forms/f4_ket_qua_cg"
    assert coordinator.get(f"{outcome_url}.xml").status_code == 403
    assert coordinator.get(f"{outcome_url}/manifest").status_code == 403
    # The referral list is used only by the outcome form: not this phone's to check.
    integrity = coordinator.get(f"{coordinator.server_url}/datasets/referrals/integrity")
    assert integrity.status_code == 404

    # The listing shows the app user (Central lists live ones) with a marker, never its key.
    listed = pyodk_client.get(f"projects/{program.id}/app-users").json()
    [(name, marker)] = [(u["displayName"], u["token"]) for u in listed if u["id"] == user.id]
    assert name == "Điều phối viên Ngọc Lâm"
    assert marker.startswith("sha256:")
    assert user.token not in marker
    not_a_key = phone(live_server, marker, program.id)
    assert not_a_key.get(f"{not_a_key.server_url}/formList").status_code in (401, 403)
    with db.transaction(write=False) as session:
        actions = session.scalars(
            select(Audit.action).where(Audit.action == "form.assignment.create")
        ).all()
    assert len(actions) == len(COORDINATOR_FORMS)


def test_pyodk_create_app_users_run_twice_makes_each_name_once(pyodk_client, program):
    names = ["TNV Hoa", "TNV Bình"]
    first = pyodk_client.projects.create_app_users(display_names=names)
    again = pyodk_client.projects.create_app_users(display_names=[*names, "TNV Mai"])
    assert [u.displayName for u in first] == names
    assert [u.displayName for u in again] == ["TNV Mai"]  # only the new name
    listed = [u["displayName"] for u in pyodk_client.get(f"projects/{program.id}/app-users").json()]
    assert sorted(n for n in listed if n.startswith("TNV")) == sorted([*names, "TNV Mai"])


def test_a_phone_cannot_submit_to_a_form_it_was_not_given(pyodk_client, live_server, program, db):
    [user] = pyodk_client.projects.create_app_users(
        display_names=["Điều phối viên"], forms=["f3_chuyen_gui"]
    )
    coordinator = phone(live_server, user.token, program.id)
    given = referral("uuid:ref-1", REFERRAL_ID, "")
    assert coordinator.submit(given)[-1].status == 201
    xml = instance("f4_ket_qua_cg", "uuid:out-1", version="2026120102", kq_hiv="am_tinh")
    [reply] = coordinator.submit(xml)
    assert reply.status == 403
    assert reply.message  # an OpenRosa envelope Collect shows to the volunteer
    with db.transaction(write=False) as session:
        stored = session.scalars(select(Submission.instance_id)).all()
    assert stored == ["uuid:ref-1"]


def test_a_new_app_user_has_no_form_until_one_is_assigned(pyodk_client, live_server, program):
    [user] = pyodk_client.projects.create_app_users(display_names=["Mới"])
    newcomer = phone(live_server, user.token, program.id)
    assert newcomer.form_list() == []
    assert pyodk_client.forms.list()  # the manager still sees every form

    assigned = pyodk_client.post(
        f"projects/{program.id}/forms/f5_tham_nha/assignments/app-user/{user.id}"
    )
    assert assigned.json() == {"success": True}
    assert [f["formID"] for f in newcomer.form_list()] == ["f5_tham_nha"]
    again = pyodk_client.post(f"projects/{program.id}/forms/f5_tham_nha/assignments/2/{user.id}")
    assert again.status_code == 409

    listing = pyodk_client.get(f"projects/{program.id}/forms/f5_tham_nha/assignments").json()
    assert {"actorId": user.id, "roleId": 2} in listing
    assignees = pyodk_client.get(f"projects/{program.id}/forms/f5_tham_nha/assignments/2").json()
    assert [a["displayName"] for a in assignees if a["id"] == user.id] == ["Mới"]

    removed = pyodk_client.delete(
        f"projects/{program.id}/forms/f5_tham_nha/assignments/2/{user.id}"
    )
    assert removed.json() == {"success": True}
    assert newcomer.form_list() == []
    gone = pyodk_client.delete(f"projects/{program.id}/forms/f5_tham_nha/assignments/2/{user.id}")
    assert gone.status_code == 404  # nothing left to remove


def test_a_phone_with_every_form_loses_one_and_keeps_the_others(
    pyodk_client, live_server, program, db
):
    with db.transaction() as session:
        issued = app_users.create_app_user(session, SYSTEM, program.id, "TNV", all_forms=True)
    volunteer = phone(live_server, issued.token, program.id)
    every = sorted(f["formID"] for f in volunteer.form_list())
    assert "f4_ket_qua_cg" in every
    assert len(every) == 7

    project_wide = pyodk_client.get(f"projects/{program.id}/assignments/forms").json()
    assert sorted(a["xmlFormId"] for a in project_wide if a["actorId"] == issued.actor_id) == every

    pyodk_client.delete(
        f"projects/{program.id}/forms/f4_ket_qua_cg/assignments/2/{issued.actor_id}"
    )
    assert sorted(f["formID"] for f in volunteer.form_list()) == [
        f for f in every if f != "f4_ket_qua_cg"
    ]


def test_assignments_refuse_other_roles_and_other_projects(pyodk_client, live_server, program, db):
    [user] = pyodk_client.projects.create_app_users(display_names=["Người khác"])
    base = f"projects/{program.id}/forms/f1_dang_ky/assignments"
    manager_role = pyodk_client.post(f"{base}/manager/{user.id}")
    assert manager_role.status_code == 400
    assert "app-user" in manager_role.json()["message"]
    assert pyodk_client.post(f"{base}/2/999999").status_code == 404  # no such app user here
    missing_form = f"projects/{program.id}/forms/no_such_form/assignments/2/{user.id}"
    assert pyodk_client.post(missing_form).status_code == 404


def test_a_supervisor_cannot_assign_forms(live_server, make_user, program, db):
    make_user("giam-sat@example.org", PASSWORD, "supervisor", program.id)
    token = requests.post(
        f"{live_server}/v1/sessions",
        json={"email": "giam-sat@example.org", "password": PASSWORD},
        timeout=10,
    ).json()["token"]
    with db.transaction() as session:
        issued = app_users.create_app_user(session, SYSTEM, program.id, "TNV")
    response = requests.post(
        f"{live_server}/v1/projects/{program.id}/forms/f1_dang_ky/assignments/2/{issued.actor_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 403
    listing = requests.get(
        f"{live_server}/v1/projects/{program.id}/app-users",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert listing.status_code == 403


def test_projects_are_listed_as_pyodk_reads_them(pyodk_client, program, make_user, db):
    [listed] = pyodk_client.projects.list()
    assert (listed.id, listed.name) == (program.id, program.name)
    assert pyodk_client.projects.get(program.id).name == program.name
