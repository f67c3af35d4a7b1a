"""An entity list exported for people, with the real programme forms: Central's
``entities.csv`` columns, the same as an XLSX sheet, only the caller's wards, and the
properties saved from special-category questions (F1's ``nhom``, ``nguon``...) left out for a
viewer, as the export's audit row records."""

from __future__ import annotations

import csv
import io
import uuid

from openpyxl import load_workbook
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.audits import Audit
from server.services import app_users
from tests.entities.test_program_registration import registration
from tests.support.collect import Collect

URL = "/v1/projects/{p}/datasets/clients/entities"


def test_the_client_list_exports_in_the_callers_wards_without_special_properties(
    app, db, live_server, app_user, project, api_as
):
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118", "00097"])
    phone = Collect(app_user.server_url(live_server))
    here, there = str(uuid.uuid4()), str(uuid.uuid4())
    assert phone.submit(registration("uuid:r-1", here, ward="00118"))[0].status == 201
    assert phone.submit(registration("uuid:r-2", there, ward="00097"))[0].status == 201

    manager = api_as("manager")
    response = manager.get(f"{URL.format(p=project.id)}.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    header = list(rows[0])
    assert header[:2] == ["__id", "label"]
    assert header[-6:] == [
        "__createdAt", "__creatorId", "__creatorName", "__updates", "__updatedAt", "__version",
    ]  # fmt: skip
    assert sorted(r["__id"] for r in rows) == sorted([here, there])
    assert rows[0]["nhom"] == "sau_cai sd_mt"

    ward = api_as("supervisor", wards=("00118",))
    mine = list(
        csv.DictReader(
            io.StringIO(ward.get(f"{URL.format(p=project.id)}.csv").data.decode("utf-8-sig"))
        )
    )
    assert [r["__id"] for r in mine] == [here]

    viewer = api_as("viewer")
    book = load_workbook(io.BytesIO(viewer.get(f"{URL.format(p=project.id)}.xlsx").data))
    sheet = book.worksheets[0]
    viewer_header = [c.value for c in sheet[1]]
    assert "nhom" not in viewer_header
    assert "nguon" not in viewer_header
    assert "ma_xa" in viewer_header
    assert sheet.max_row == 3  # the header and two clients
    with db.transaction(write=False) as session:
        audits = session.scalars(
            select(Audit).where(Audit.action == "entity.list.export").order_by(Audit.id)
        ).all()
    assert [(a.details["format"], a.details["specialCategory"]) for a in audits] == [
        ("csv", "included"),
        ("csv", "included"),
        ("xlsx", "omitted"),
    ]
