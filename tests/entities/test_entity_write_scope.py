"""A phone changes only the clients it holds, with the real forms: a clinic phone receives a
referral and so learns the client's uuid, but a status change (F7) it sends for that client
is kept as a submission and its update is refused as an entity error, as Central records one;
the client is unchanged, and the error is in the audit log."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.entities import Entity
from server.models.submissions import Submission
from server.services import app_users
from tests.entities.test_program_referrals import csv_rows, referral
from tests.entities.test_program_registration import registration, ward_change
from tests.support.collect import Collect
from tests.support.facilities import add_facilities


def test_a_clinic_phone_cannot_move_a_client_it_only_knows_from_a_referral(
    app, db, live_server, app_user, project, make_user
):
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    add_facilities(db, project.id, "VCT-01")
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
        clinic = app_users.create_app_user(session, SYSTEM, project.id, "VCT", all_forms=True)
        app_users.set_sites(session, SYSTEM, clinic.actor_id, ["VCT-01"])
    volunteer = Collect(app_user.server_url(live_server))
    client, ref = str(uuid.uuid4()), str(uuid.uuid4())
    assert volunteer.submit(registration("uuid:r-1", client))[0].status == 201
    assert volunteer.submit(referral("uuid:f3-1", ref, client))[0].status == 201
    nurse = Collect(clinic.server_url(live_server))
    forms = {f["formID"]: f for f in nurse.form_list()}
    [row] = csv_rows(nurse, forms["f4_ket_qua_cg"], "referrals.csv")
    assert row["kh_id"] == client  # the clinic knows the client's uuid

    [reply] = nurse.submit(ward_change("uuid:f7-x", client, "00097", base_version=1))
    assert reply.status == 201  # the submission is kept, as Central keeps it

    with db.transaction(write=False) as session:
        entity = session.scalar(select(Entity).where(Entity.uuid == client))
        assert (entity.version, entity.data["ma_xa"]) == (1, "00118")
        assert session.scalar(select(Submission.id).where(Submission.instance_id == "uuid:f7-x"))
    make_user("admin@example.org", role="admin")
    client_http = app.test_client()
    token = client_http.post(
        "/v1/sessions", json={"email": "admin@example.org", "password": "correct horse battery"}
    ).json["token"]
    audits = client_http.get(
        "/v1/audits?action=entity.error", headers={"Authorization": f"Bearer {token}"}
    ).json
    [error] = audits
    assert error["actorId"] == clinic.actor_id
    assert client in error["details"]["problem"]
    assert "not in the sender's wards or sites" in error["details"]["problem"]

    # The volunteer of the client's ward still can.
    [reply] = volunteer.submit(ward_change("uuid:f7-ok", client, "00097", base_version=1))
    assert reply.status == 201
    with db.transaction(write=False) as session:
        entity = session.scalar(select(Entity).where(Entity.uuid == client))
        assert (entity.version, entity.data["ma_xa"]) == (2, "00097")
