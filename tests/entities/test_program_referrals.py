"""Referrals with the real forms: the facility list is filled through the entity API, F3
creates a referral the referring ward's phones receive, F4 records the outcome on it; the
HIV result never reaches the referral list."""

from __future__ import annotations

import csv
import io
import uuid

import requests
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.entities import Dataset, Entity
from server.services import app_users
from tests.entities.test_program_registration import registration
from tests.support.collect import Collect
from tests.support.facilities import add_facilities

PASSWORD = "correct horse battery"
HDR = (
    "<start/><end/><today/><deviceid/><hdr><ma_tinh>01</ma_tinh><ma_xa>00118</ma_xa>"
    "<mo_hinh>canh_sat</mo_hinh><ngay>2026-11-22</ngay></hdr>"
)


def referral(instance_id: str, referral_id: str, client: str) -> bytes:
    return f"""<data id="f3_chuyen_gui" version="2026120102">{HDR}<kh>{client}</kh>
<uic_kh>LAHU1150390</uic_kh><dv>xn_hiv</dv><co_so>VCT-01</co_so><cach>gioi_thieu</cach>
<han_xac_nhan>2026-12-06</han_xac_nhan><ma_phieu>00118-261122-ab12</ma_phieu><so_phieu/>
<tt>da_chuyen</tt><d>2026-11-22</d><meta><entity dataset="referrals" create="1"
 id="{referral_id}"><label>LAHU1150390 → Xét nghiệm HIV · 2026-11-22</label></entity>
<instanceID>{instance_id}</instanceID></meta></data>""".encode()


def outcome(instance_id: str, referral_id: str) -> bytes:
    return f"""<data id="f4_ket_qua_cg" version="2026120102">{HDR}<phieu>{referral_id}</phieu>
<dv>xn_hiv</dv><uic>LAHU1150390</uic><ngay_cg>2026-11-22</ngay_cg><tom_tat/>
<ngay_xn>2026-11-25</ngay_xn><kq>da_nhan</kq><tt>hoan_thanh</tt><nguon>dt_co_so</nguon>
<ngay_dv>2026-11-24</ngay_dv><kq_hiv>am_tinh</kq_hiv><nhac_arv/><bat_dau/><ngay_bd/>
<tien_vay/><ngay_giai_ngan/><nguon_von/><ten_nghe/><so_thang/><tt_hoc/><loai_viec/>
<han_the/><ly_do/><meta><entity dataset="referrals" update="1" baseVersion="1"
 trunkVersion="" branchId="" id="{referral_id}"/><instanceID>{instance_id}</instanceID>
</meta></data>""".encode()


def csv_rows(phone: Collect, form: dict, filename: str) -> list[dict]:
    files = {m["filename"]: m for m in phone.manifest(form["manifestUrl"])}
    return list(csv.DictReader(io.StringIO(phone.get(files[filename]["downloadUrl"]).text)))


def test_referral_is_made_and_closed_with_the_real_forms(
    app, db, live_server, app_user, make_user, project
):
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    with db.transaction(write=False) as session:
        assert session.scalar(select(Dataset.shared).where(Dataset.name == "facilities"))
    make_user("manager@example.org", PASSWORD, "manager", project.id)
    token = requests.post(
        f"{live_server}/v1/sessions",
        timeout=10,
        json={"email": "manager@example.org", "password": PASSWORD},
    ).json()["token"]
    created = requests.post(
        f"{live_server}/v1/projects/{project.id}/datasets/facilities/entities",
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
        json={
            "entities": [
                {
                    "label": "Phòng khám VCT Long Biên",
                    "data": {
                        "dich_vu": "xn_hiv prep",
                        "tinh": "01",
                        "ma_xa": "00145",
                        "loai": "VCT",
                    },
                }
            ]
        },
    )
    assert created.status_code == 200, created.text
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
    phone = Collect(app_user.server_url(live_server))
    forms = {f["formID"]: f for f in phone.form_list()}
    facilities = csv_rows(phone, forms["f3_chuyen_gui"], "facilities.csv")
    assert [f["label"] for f in facilities] == ["Phòng khám VCT Long Biên"]  # a shared list
    client, ref = str(uuid.uuid4()), str(uuid.uuid4())
    assert phone.submit(registration("uuid:r-1", client))[0].status == 201
    assert phone.submit(referral("uuid:f3-1", ref, client))[0].status == 201
    [row] = csv_rows(phone, forms["f4_ket_qua_cg"], "referrals.csv")
    assert (row["name"], row["trang_thai"], row["kh_id"]) == (ref, "da_chuyen", client)
    assert phone.submit(outcome("uuid:f4-1", ref))[0].status == 201
    [row] = csv_rows(phone, forms["f4_ket_qua_cg"], "referrals.csv")
    assert (row["__version"], row["trang_thai"], row["xac_nhan"]) == ("2", "hoan_thanh", "dt_co_so")
    with db.transaction(write=False) as session:
        data = session.scalar(select(Entity).where(Entity.uuid == ref)).data
    assert "kq_hiv" not in data
    assert "am_tinh" not in data.values()


def test_a_clinic_phone_receives_the_referrals_sent_to_it_and_no_client(
    app, db, live_server, app_user, project
):
    """The receiving facility's phone (site VCT-01, no ward) gets the referral addressed to
    it, so the nurse can record the outcome; not the referring ward's client list, and not
    the referrals sent to another facility."""
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    add_facilities(db, project.id, "VCT-01", "PREP-02")
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
        clinic = app_users.create_app_user(session, SYSTEM, project.id, "VCT", all_forms=True)
        app_users.set_sites(session, SYSTEM, clinic.actor_id, ["VCT-01"])
        other = app_users.create_app_user(session, SYSTEM, project.id, "PrEP", all_forms=True)
        app_users.set_sites(session, SYSTEM, other.actor_id, ["PREP-02"])
    volunteer = Collect(app_user.server_url(live_server))
    client, ref = str(uuid.uuid4()), str(uuid.uuid4())
    assert volunteer.submit(registration("uuid:r-1", client))[0].status == 201
    assert volunteer.submit(referral("uuid:f3-1", ref, client))[0].status == 201  # to VCT-01

    nurse = Collect(clinic.server_url(live_server))
    forms = {f["formID"]: f for f in nurse.form_list()}
    [row] = csv_rows(nurse, forms["f4_ket_qua_cg"], "referrals.csv")
    assert (row["name"], row["co_so"], row["ma_xa"]) == (ref, "VCT-01", "00118")
    assert csv_rows(nurse, forms["f5_tham_nha"], "clients.csv") == []
    integrity = nurse.get(f"{nurse.server_url}/datasets/referrals/integrity?id={ref}")
    assert f'<entity id="{ref}"><deleted>false</deleted></entity>' in integrity.text

    elsewhere = Collect(other.server_url(live_server))
    others = {f["formID"]: f for f in elsewhere.form_list()}
    assert csv_rows(elsewhere, others["f4_ket_qua_cg"], "referrals.csv") == []
    told = elsewhere.get(f"{elsewhere.server_url}/datasets/referrals/integrity?id={ref}")
    assert f'<entity id="{ref}"><deleted>true</deleted></entity>' in told.text  # dropped
