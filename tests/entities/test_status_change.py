"""F7 (status change) with the real forms: a closure keeps the client in its ward (the form
saves the new ward only when the client moves, else the ward it has), and the server refuses
any update that would empty the ward or site an entity list is scoped by, from a phone
(the submission stands, the update is an entity error, as in Central) or from the API (400)."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import pytest
import requests
from lxml import etree
from sqlalchemy import select

import forms
from server.auth.permissions import SYSTEM
from server.models.audits import Audit
from server.models.entities import Entity
from server.services import app_users
from tests.entities.test_program_registration import registration, status_change
from tests.support.collect import Collect

XLSFORMS = sorted((Path(__file__).resolve().parents[2] / "xlsforms").glob("*.xlsx"))
XF = "{http://www.w3.org/2002/xforms}"
SAVETO = "{http://www.opendatakit.org/xforms/entities}saveto"
SCOPED = ("ma_xa", "co_so")  # the properties entity lists are scoped by (domain.md)
PASSWORD = "correct horse battery"


@pytest.mark.parametrize("path", XLSFORMS, ids=lambda p: p.name)
def test_no_program_form_saves_a_ward_or_site_from_a_question_that_may_be_skipped(path):
    """A skipped question is sent empty: saved to the ward, it would take the client out of
    every list and phone of its ward."""
    xform = etree.fromstring(forms.compile_xlsform(path, validate=False).xform)
    binds = {b.get("nodeset"): b for b in xform.iter(f"{XF}bind")}
    for nodeset, bind in binds.items():
        if bind.get(SAVETO) not in SCOPED:
            continue
        parts = nodeset.split("/")
        guarded = [
            p
            for p in ("/".join(parts[:n]) for n in range(3, len(parts) + 1))
            if binds.get(p) is not None and binds[p].get("relevant")
        ]
        assert guarded == [], f"{nodeset} saves {bind.get(SAVETO)} but may be skipped"


def test_f7_saves_the_new_ward_when_moving_and_the_clients_own_ward_otherwise():
    xform = etree.fromstring(
        forms.compile_xlsform(XLSFORMS[0].parent / "f7_cap_nhat.xlsx", validate=False).xform
    )
    [bind] = [b for b in xform.iter(f"{XF}bind") if b.get(SAVETO) == "ma_xa"]
    calculation = " ".join(bind.get("calculate").split())
    assert calculation == (
        "if( /data/ly_do ='doi_dia_ban', /data/ma_xa_moi , "
        "instance('clients')/root/item[name= /data/kh ]/ma_xa)"
    )


@pytest.fixture
def phone(app, db, live_server, app_user) -> Collect:
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
    return Collect(app_user.server_url(live_server))


def clients(phone: Collect) -> list[dict]:
    listing = {f["formID"]: f for f in phone.form_list()}
    files = {m["filename"]: m for m in phone.manifest(listing["f7_cap_nhat"]["manifestUrl"])}
    return list(csv.DictReader(io.StringIO(phone.get(files["clients.csv"]["downloadUrl"]).text)))


def test_closing_a_record_keeps_the_client_in_its_wards_list(db, phone):
    client = str(uuid.uuid4())
    assert phone.submit(registration("uuid:f1-c", client))[0].status == 201
    [reply] = phone.submit(status_change("uuid:f7-c", client, "hoan_thanh_qlsc", 1))
    assert reply.status == 201
    [row] = clients(phone)
    assert (row["name"], row["__version"], row["ma_xa"], row["trang_thai"]) == (
        client,
        "2",
        "00118",
        "dong",
    )


def test_an_update_that_would_empty_the_ward_is_kept_and_recorded_as_an_entity_error(db, phone):
    """What a phone sends when the client's ward could not be read (or an older F7 sent):
    the submission is stored, the client keeps its ward and version."""
    client = str(uuid.uuid4())
    assert phone.submit(registration("uuid:f1-e", client))[0].status == 201
    [reply] = phone.submit(status_change("uuid:f7-e", client, "tu_vong", 1, saved_ward=""))
    assert reply.status == 201
    [row] = clients(phone)
    assert (row["name"], row["__version"], row["ma_xa"], row["trang_thai"]) == (
        client,
        "1",
        "00118",
        "mo",
    )
    with db.transaction(write=False) as session:
        [error] = session.scalars(select(Audit).where(Audit.action == "entity.error")).all()
        entity = session.scalar(select(Entity).where(Entity.uuid == client))
    assert "'ma_xa'" in error.details["problem"]
    assert entity.data["ma_xa"] == "00118"


def test_the_entity_api_refuses_to_empty_the_ward_of_a_client(
    db, phone, live_server, make_user, project
):
    client = str(uuid.uuid4())
    assert phone.submit(registration("uuid:f1-api", client))[0].status == 201
    make_user("manager@example.org", PASSWORD, "manager", project.id)
    token = requests.post(
        f"{live_server}/v1/sessions",
        timeout=10,
        json={"email": "manager@example.org", "password": PASSWORD},
    ).json()["token"]
    response = requests.patch(
        f"{live_server}/v1/projects/{project.id}/datasets/clients/entities/{client}?force=true",
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
        json={"data": {"ma_xa": ""}},
    )
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == 400.8
    assert "ma_xa" in problem["message"]
    with db.transaction(write=False) as session:
        entity = session.scalar(select(Entity).where(Entity.uuid == client))
    assert (entity.version, entity.data["ma_xa"]) == (1, "00118")
