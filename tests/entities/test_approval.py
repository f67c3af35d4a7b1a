"""Approving a submission and the entity lists (Central's rule, lib/model/query/entities.js
`_createEntity` / `_updateEntity`): approval creates an entity only in a list that requires
approval, once; it never replays an update, nor a create that happened on receipt. With the
real forms: F1 registers a client, F5 home visits update it."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
import requests
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.audits import Audit
from server.models.entities import Entity
from server.services import app_users, entity_api
from tests.entities.test_program_registration import registration
from tests.support.collect import Collect
from tests.sync.test_home_visit_forwarding import home_visit

PASSWORD = "correct horse battery"
PHOTO = {"1763780000000.jpg": b"\xff\xd8 photo"}


def visit_on(instance_id: str, client: str, base_version: int, visits: int, day: str) -> bytes:
    """A real F5 home visit made on ``day`` (the visit date the client list keeps)."""
    return home_visit(instance_id, client, base_version, visits).replace(
        b"<d>2026-11-22</d>", f"<d>{day}</d>".encode()
    )


@pytest.fixture
def manager_token(live_server, make_user, project) -> str:
    make_user("manager@example.org", PASSWORD, "manager", project.id)
    return requests.post(
        f"{live_server}/v1/sessions",
        timeout=10,
        json={"email": "manager@example.org", "password": PASSWORD},
    ).json()["token"]


def set_review(live_server, token, project_id, form_id, instance_id, state) -> None:
    response = requests.patch(
        f"{live_server}/v1/projects/{project_id}/forms/{form_id}/submissions/{instance_id}",
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
        json={"reviewState": state},
    )
    assert response.status_code == 200, response.text


def clients_csv(phone: Collect, form_id: str) -> tuple[str, str]:
    """(the manifest hash, the CSV text) of clients.csv as the phone downloads it."""
    listing = {f["formID"]: f for f in phone.form_list()}
    files = {m["filename"]: m for m in phone.manifest(listing[form_id]["manifestUrl"])}
    media = files["clients.csv"]
    return media["hash"], phone.get(media["downloadUrl"]).text


def test_approving_an_older_home_visit_leaves_the_client_as_the_newer_visit_made_it(
    app, db, live_server, app_user, project, manager_token
):
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
    phone = Collect(app_user.server_url(live_server))
    client = str(uuid.uuid4())
    assert phone.submit(registration("uuid:f1-r", client))[0].status == 201
    first = visit_on("uuid:f5-old", client, 1, 0, "2026-09-16")
    second = visit_on("uuid:f5-new", client, 2, 1, "2026-09-20")
    assert phone.submit(first, PHOTO)[0].status == 201
    assert phone.submit(second, PHOTO)[0].status == 201
    before = clients_csv(phone, "f5_tham_nha")
    [row] = csv.DictReader(io.StringIO(before[1]))
    assert (row["__version"], row["so_lan_tham"], row["ngay_tham_cuoi"]) == ("3", "2", "2026-09-20")

    set_review(live_server, manager_token, project.id, "f5_tham_nha", "uuid:f5-old", "approved")

    assert clients_csv(phone, "f5_tham_nha") == before  # same list, same hash: nothing to fetch
    with db.transaction(write=False) as session:
        entity = session.scalar(select(Entity).where(Entity.uuid == client))
        errors = session.scalars(select(Audit).where(Audit.action == "entity.error")).all()
    assert (entity.version, entity.conflict) == (3, None)
    assert (entity.data["so_lan_tham"], entity.data["ngay_tham_cuoi"]) == ("2", "2026-09-20")
    assert errors == []


def test_approving_a_registration_does_not_create_its_client_again(
    app, db, live_server, app_user, project, manager_token
):
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
    phone = Collect(app_user.server_url(live_server))
    client = str(uuid.uuid4())
    assert phone.submit(registration("uuid:f1-once", client))[0].status == 201

    set_review(live_server, manager_token, project.id, "f1_dang_ky", "uuid:f1-once", "approved")

    with db.transaction(write=False) as session:
        [entity] = session.scalars(select(Entity)).all()
        errors = session.scalars(select(Audit).where(Audit.action == "entity.error")).all()
    assert (entity.uuid, entity.version) == (client, 1)
    assert errors == []  # no "already exists" from a replayed create


def test_a_list_that_requires_approval_gets_the_client_on_approval_once(
    app, db, live_server, app_user, project, manager_token
):
    with db.transaction() as session:
        entity_api.create_dataset(session, SYSTEM, project.id, "clients", approval_required=True)
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
    phone = Collect(app_user.server_url(live_server))
    client = str(uuid.uuid4())
    assert phone.submit(registration("uuid:f1-wait", client))[0].status == 201
    assert clients_csv(phone, "f5_tham_nha")[1].count("\n") == 1  # the header only

    for state in ("approved", "approved", "hasIssues", "approved"):
        set_review(live_server, manager_token, project.id, "f1_dang_ky", "uuid:f1-wait", state)

    with db.transaction(write=False) as session:
        [entity] = session.scalars(select(Entity)).all()
        errors = session.scalars(select(Audit).where(Audit.action == "entity.error")).all()
        creates = session.scalars(select(Audit).where(Audit.action == "entity.create")).all()
    assert (entity.uuid, entity.version, entity.data["ma_xa"]) == (client, 1, "00118")
    assert len(creates) == 1
    assert errors == []
    [row] = csv.DictReader(io.StringIO(clients_csv(phone, "f5_tham_nha")[1]))
    assert row["name"] == client
