"""Following clients with ODK Entities, end to end through HTTP as Collect does it: a
registration creates clients, the follow-up form downloads them as an entity-list CSV (only
the phone's wards), a home visit updates one, and the CSV and integrity answers follow."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.audits import Audit
from server.services import app_users
from tests.support.collect import Collect

REGISTER_MD = """
| survey   |          |        |             |         |
|          | type     | name   | label       | save_to |
|          | text     | uic    | Client code | uic     |
|          | text     | ma_xa  | Ward        | ma_xa   |
| entities |          |        |             |         |
|          | list_name | label |             |         |
|          | clients  | concat(${uic}, ' - ', ${ma_xa}) | | |
| settings |          |        |             |         |
|          | form_id  | version |            |         |
|          | dang_ky  | 1      |             |         |
"""

VISIT_MD = """
| survey   |                                  |      |            |          |
|          | type                             | name | label      | save_to  |
|          | select_one_from_file clients.csv | kh   | Person     |          |
|          | date                             | hen  | Next visit | ngay_hen |
| entities |                                  |      |            |          |
|          | list_name                        | entity_id |       |          |
|          | clients                          | ${kh} |           |          |
| settings |                                  |      |            |          |
|          | form_id                          | version |         |          |
|          | tham                             | 1    |            |          |
"""

ENTITIES_NS = "http://www.opendatakit.org/xforms/entities"


def registration(instance_id: str, entity_id: str, uic: str, ward: str) -> bytes:
    return (
        f'<data id="dang_ky" version="1" xmlns:entities="{ENTITIES_NS}"><uic>{uic}</uic>'
        f"<ma_xa>{ward}</ma_xa><meta><instanceID>{instance_id}</instanceID>"
        f'<entity dataset="clients" create="1" id="{entity_id}">'
        f"<label>{uic} - {ward}</label></entity></meta></data>"
    ).encode()


def visit(instance_id: str, entity_id: str, base_version: int, next_visit: str) -> bytes:
    return (
        f'<data id="tham" version="1"><kh>{entity_id}</kh><hen>{next_visit}</hen>'
        f"<meta><instanceID>{instance_id}</instanceID>"
        f'<entity dataset="clients" update="1" baseVersion="{base_version}" '
        f'trunkVersion="" branchId="" id="{entity_id}"/></meta></data>'
    ).encode()


@pytest.fixture
def forms_published(make_form):
    make_form(REGISTER_MD, validate=True)
    make_form(VISIT_MD, validate=True)


@pytest.fixture
def ward_phone(db, live_server, app_user):
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
    return Collect(app_user.server_url(live_server))


def phone_of(db, live_server, project_id: int, ward: str) -> Collect:
    """A volunteer's phone of one ward, with every form: a phone registers clients of its own
    wards only, so another ward's clients come from that ward's phone."""
    with db.transaction() as session:
        phone = app_users.create_app_user(
            session, SYSTEM, project_id, f"Phone {ward}", all_forms=True, wards=[ward]
        )
    return Collect(phone.server_url(live_server))


@pytest.fixture
def other_ward_phone(db, live_server, project):
    """A volunteer's phone in another ward (00004)."""
    return phone_of(db, live_server, project.id, "00004")


def read_csv(collect: Collect, url: str) -> list[dict]:
    response = collect.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_register_download_visit_update_round_trip(
    db, forms_published, ward_phone, other_ward_phone
):
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    for n, (phone, entity_id, uic, ward) in enumerate(
        [
            (ward_phone, mine, "LAHU1M1990", "00118"),
            (other_ward_phone, other, "MAHO2F1985", "00004"),
        ]
    ):
        [reply] = phone.submit(registration(f"uuid:reg-{n}", entity_id, uic, ward))
        assert reply.status == 201
    listing = {f["formID"]: f for f in ward_phone.form_list()}
    assert "manifestUrl" in listing["tham"]
    [media] = ward_phone.manifest(listing["tham"]["manifestUrl"])
    assert media["filename"] == "clients.csv"
    assert media["integrityUrl"].endswith("/datasets/clients/integrity")
    rows = read_csv(ward_phone, media["downloadUrl"])
    assert rows == [
        {
            "name": mine,
            "label": "LAHU1M1990 - 00118",
            "__version": "1",
            "uic": "LAHU1M1990",
            "ma_xa": "00118",
            "ngay_hen": "",
        }
    ]  # only my ward
    [reply] = ward_phone.submit(visit("uuid:visit-1", mine, 1, "2026-12-20"))
    assert reply.status == 201
    [media_after] = ward_phone.manifest(listing["tham"]["manifestUrl"])
    assert media_after["hash"] != media["hash"]  # Collect downloads the list again
    [row] = read_csv(ward_phone, media["downloadUrl"])
    assert (row["__version"], row["ngay_hen"]) == ("2", "2026-12-20")


def test_integrity_marks_deleted_and_out_of_ward_entities(
    db, forms_published, ward_phone, other_ward_phone
):
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    ward_phone.submit(registration("uuid:r1", mine, "LAHU1M1990", "00118"))
    other_ward_phone.submit(registration("uuid:r2", other, "MAHO2F1985", "00004"))
    listing = {f["formID"]: f for f in ward_phone.form_list()}
    [media] = ward_phone.manifest(listing["tham"]["manifestUrl"])
    response = ward_phone.get(f"{media['integrityUrl']}?id={mine},{other}")
    assert response.status_code == 200
    assert "text/xml" in response.headers["Content-Type"]
    body = response.text
    assert f'<entity id="{mine}"><deleted>false</deleted></entity>' in body
    assert f'<entity id="{other}"><deleted>true</deleted></entity>' in body


def test_a_duplicate_create_keeps_the_submission_and_records_the_entity_error(
    db, forms_published, ward_phone
):
    same = str(uuid.uuid4())
    assert ward_phone.submit(registration("uuid:a", same, "LAHU1M1990", "00118"))[0].status == 201
    assert ward_phone.submit(registration("uuid:b", same, "LAHU1M1990", "00118"))[0].status == 201
    with db.transaction(write=False) as session:
        [error] = session.scalars(select(Audit).where(Audit.action == "entity.error")).all()
    assert "already exists" in error.details["problem"]


def test_an_update_from_an_old_version_is_applied_and_flagged_as_a_conflict(
    db, forms_published, ward_phone
):
    from server.models.entities import Entity

    client = str(uuid.uuid4())
    ward_phone.submit(registration("uuid:r", client, "LAHU1M1990", "00118"))
    ward_phone.submit(visit("uuid:v1", client, 1, "2026-12-01"))
    ward_phone.submit(visit("uuid:v2", client, 1, "2026-12-05"))  # made offline from version 1
    with db.transaction(write=False) as session:
        entity = session.scalar(select(Entity))
    assert entity.version == 3
    assert entity.conflict == "soft"
    assert entity.data["ngay_hen"] == "2026-12-05"


def test_a_phone_with_no_ward_receives_no_clients(db, forms_published, live_server, project):
    with db.transaction() as session:
        issued = app_users.create_app_user(session, SYSTEM, project.id, "no ward", all_forms=True)
    phone = Collect(issued.server_url(live_server))
    phone.submit(registration("uuid:x", str(uuid.uuid4()), "LAHU1M1990", "00118"))
    listing = {f["formID"]: f for f in phone.form_list()}
    [media] = phone.manifest(listing["tham"]["manifestUrl"])
    assert read_csv(phone, media["downloadUrl"]) == []


def test_a_list_that_requires_approval_gets_the_entity_when_the_submission_is_approved(
    db, make_form, ward_phone, project
):
    from server.models.entities import Dataset, Entity
    from server.services import entity_api, review

    with db.transaction() as session:
        entity_api.create_dataset(session, SYSTEM, project.id, "clients", approval_required=True)
    make_form(REGISTER_MD)
    client = str(uuid.uuid4())
    assert (
        ward_phone.submit(registration("uuid:appr", client, "LAHU1M1990", "00118"))[0].status == 201
    )
    with db.transaction(write=False) as session:
        assert session.scalar(select(Dataset.approval_required))
        assert session.scalars(select(Entity)).all() == []
    with db.transaction() as session:
        review.set_review_state(session, SYSTEM, project.id, "dang_ky", "uuid:appr", "approved", [])
    with db.transaction(write=False) as session:
        [entity] = session.scalars(select(Entity)).all()
    assert entity.uuid == client
