"""A phone changes only the clients it holds, and creates only clients and referrals of its
own wards, with the real forms: a clinic phone receives a referral and so learns the client's
uuid, but a status change (F7) it sends for that client is kept as a submission and its update
is refused as an entity error, as Central records one; the client is unchanged, and the error
is in the audit log. A registration (F1) of another ward's client, or any registration or
referral slip (F3) from a clinic phone with no ward, is kept the same way and creates nothing;
the clinic phone still records the outcome (F4) of a referral sent to it."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.audits import Audit
from server.models.entities import Dataset, Entity
from server.models.submissions import Submission
from server.services import app_users
from tests.entities.test_program_referrals import csv_rows, outcome, referral
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


def entity_errors(db) -> list[Audit]:
    with db.transaction(write=False) as session:
        return session.scalars(
            select(Audit).where(Audit.action == "entity.error").order_by(Audit.id)
        ).all()


def test_a_ward_phone_cannot_register_a_client_in_another_ward(
    app, db, live_server, app_user, project
):
    """A phone of Bồ Đề (00118) registering a client of Hồng Hà (00097) would put that client
    on Hồng Hà's phones: the submission is kept, no client is made, the error is audited."""
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
        hong_ha = app_users.create_app_user(session, SYSTEM, project.id, "TNV Hà", all_forms=True)
        app_users.set_wards(session, SYSTEM, hong_ha.actor_id, ["00097"])
    phone = Collect(app_user.server_url(live_server))
    stranger = str(uuid.uuid4())

    [reply] = phone.submit(registration("uuid:f1-b", stranger, ward="00097"))
    assert reply.status == 201  # the submission is kept, as for a refused update

    with db.transaction(write=False) as session:
        assert session.scalar(select(Entity).where(Entity.uuid == stranger)) is None
        assert session.scalar(select(Submission.id).where(Submission.instance_id == "uuid:f1-b"))
    [error] = entity_errors(db)
    assert error.actor_id == app_user.actor_id
    assert stranger in error.details["problem"]
    assert "not in the sender's wards" in error.details["problem"]
    other = Collect(hong_ha.server_url(live_server))
    listing = {f["formID"]: f for f in other.form_list()}
    assert csv_rows(other, listing["f5_tham_nha"], "clients.csv") == []

    own = str(uuid.uuid4())  # its own ward's client is registered as before
    assert phone.submit(registration("uuid:f1-a", own))[0].status == 201
    with db.transaction(write=False) as session:
        [entity] = session.scalars(select(Entity).join(Dataset).where(Dataset.name == "clients"))
    assert (entity.uuid, entity.data["ma_xa"]) == (own, "00118")


def test_a_clinic_phone_records_outcomes_but_registers_and_refers_no_one(
    app, db, live_server, app_user, project
):
    """A phone that serves a site and no ward (a clinic's focal point) updates the referrals
    sent to it (F4) and creates nothing: not a client (F1), not a referral (F3), even one to its
    own site; the referring ward's phone makes both, as in the programme."""
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    add_facilities(db, project.id, "VCT-01")
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
        clinic = app_users.create_app_user(session, SYSTEM, project.id, "VCT", all_forms=True)
        app_users.set_sites(session, SYSTEM, clinic.actor_id, ["VCT-01"])
    volunteer = Collect(app_user.server_url(live_server))
    nurse = Collect(clinic.server_url(live_server))
    client, ref = str(uuid.uuid4()), str(uuid.uuid4())
    assert volunteer.submit(registration("uuid:f1-v", client))[0].status == 201
    assert volunteer.submit(referral("uuid:f3-v", ref, client))[0].status == 201  # to VCT-01

    walk_in, own_ref = str(uuid.uuid4()), str(uuid.uuid4())
    assert nurse.submit(registration("uuid:f1-n", walk_in))[0].status == 201
    assert nurse.submit(referral("uuid:f3-n", own_ref, client))[0].status == 201  # to VCT-01
    [reply] = nurse.submit(outcome("uuid:f4-n", ref))
    assert reply.status == 201

    with db.transaction(write=False) as session:
        made = {e.uuid: e for e in session.scalars(select(Entity))}
        kept = set(session.scalars(select(Submission.instance_id)))
    assert walk_in not in made
    assert own_ref not in made
    assert {"uuid:f1-n", "uuid:f3-n", "uuid:f4-n"} <= kept
    assert (made[ref].version, made[ref].data["trang_thai"]) == (2, "hoan_thanh")
    errors = entity_errors(db)
    assert [e.actor_id for e in errors] == [clinic.actor_id, clinic.actor_id]
    assert walk_in in errors[0].details["problem"]
    assert own_ref in errors[1].details["problem"]


def test_data_collectors_with_a_password_register_where_they_may_submit(
    app, db, live_server, project, make_user
):
    """A web user sending F1 from Collect creates where its role lets it submit: a
    project-wide data collector in any ward, a ward's collector in its ward (a submission
    into another ward is refused before any entity, 403)."""
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    make_user("all@example.org", role="collector", project_id=project.id)
    make_user("bd@example.org", role="collector", project_id=project.id, wards=("00118",))
    url = f"{live_server}/v1/projects/{project.id}"
    anywhere = Collect(url, "all@example.org", "correct horse battery")
    bo_de = Collect(url, "bd@example.org", "correct horse battery")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    assert anywhere.submit(registration("uuid:f1-w1", first, ward="00097"))[0].status == 201
    assert bo_de.submit(registration("uuid:f1-w2", second))[0].status == 201
    assert (
        bo_de.submit(registration("uuid:f1-w3", str(uuid.uuid4()), ward="00097"))[0].status == 403
    )
    with db.transaction(write=False) as session:
        made = {e.uuid: e.data["ma_xa"] for e in session.scalars(select(Entity))}
    assert (made[first], made[second]) == ("00097", "00118")
    assert entity_errors(db) == []
