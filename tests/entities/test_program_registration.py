"""The real registration form F1 end to end: published by `flask init`, a consenting client
registered on a phone becomes a `clients` entity with only its coded, minimal properties; the
list comes back to the same phone (its ward) for the duplicate check; no consent, no entity."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.entities import Entity
from server.services import app_users
from tests.support.collect import Collect

WARDS_CSV = Path(__file__).resolve().parents[2] / "xlsforms" / "wards.csv"


@pytest.fixture
def phone(app, db, live_server, app_user) -> Collect:
    """After `flask init`, the phone of an app user working in Phường Bồ Đề (00118)."""
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
    return Collect(app_user.server_url(live_server))


def registration(
    instance_id: str, entity_id: str, consent: str = "co", ward: str = "00118"
) -> bytes:
    profile = (
        (
            "<ho_so><nhom_dt>sau_cai sd_mt</nhom_dt><loai_ma_tuy>heroin</loai_ma_tuy>"
            "<tiem_chich_12t>khong</tiem_chich_12t><hiv_biet>chua_xn</hiv_biet>"
            "<dang_dieu_tri>mmt</dang_dieu_tri><co_bhyt>co</co_bhyt><sau_cai>co</sau_cai>"
            "<ngay_xong_cai>2026-06-30</ngay_xong_cai><hinh_thuc_cai>tu_nguyen</hinh_thuc_cai>"
            "<qlsc_ket_thuc>2027-06-30</qlsc_ket_thuc><tuoi>36</tuoi><dang_tuoi_hoc/>"
            "<can_tham>co</can_tham></ho_so>"
        )
        if consent == "co"
        else "<ho_so/>"
    )
    return f"""<data id="f1_dang_ky" version="2026120103"><start>2026-11-22T08:00:00+07:00</start>
<end>2026-11-22T08:15:00+07:00</end><today>2026-11-22</today><deviceid>collect:x</deviceid>
<hdr><ma_tinh>01</ma_tinh><ma_xa>{ward}</ma_xa><mo_hinh>tnv</mo_hinh><ngay>2026-11-22</ngay></hdr>
<nguon_gioi_thieu>cong_an</nguon_gioi_thieu><so_phieu_gt>CA-0042</so_phieu_gt>
<dong_y>{consent}</dong_y><an_danh/><ma_hoa><me_2>la</me_2><bo_2>hu</bo_2><gioi>1</gioi>
<ho_ten>Nguyễn Văn An</ho_ten><so_dinh_danh/><dien_thoai>0912345678</dien_thoai><ban_dang_gioi/><biet_ngay_sinh>co</biet_ngay_sinh><ngay_sinh>1990-03-15</ngay_sinh><nam_sinh/>
<nam_sinh_tinh>1990</nam_sinh_tinh><uic>LAHU1150390</uic><so_trung>0</so_trung><canh_bao/>
<xu_ly_trung/><uic_cuoi>LAHU1150390</uic_cuoi></ma_hoa>{profile}<trang_thai>mo</trang_thai><so_lan_tx>0</so_lan_tx>
<meta><entity dataset="clients" create="{1 if consent == "co" else 0}" id="{entity_id}">
<label>LAHU1150390 · 1990 · {ward}</label></entity><instanceID>{instance_id}</instanceID>
<instanceName>LAHU1150390 2026-11-22</instanceName></meta></data>""".encode()


def test_registration_creates_a_minimal_client_the_ward_phone_receives(db, phone):
    client = str(uuid.uuid4())
    [reply] = phone.submit(registration("uuid:f1-1", client))
    assert reply.status == 201
    [reply] = phone.submit(registration("uuid:f1-2", str(uuid.uuid4()), consent="khong"))
    assert reply.status == 201
    with db.transaction(write=False) as session:
        [entity] = session.scalars(select(Entity)).all()  # no consent, no entity
    assert entity.uuid == client
    assert entity.data["uic"] == "LAHU1150390"
    assert entity.data["ma_xa"] == "00118"
    assert entity.data["sau_cai"] == "co"
    for never in (
        "loai_ma_tuy",
        "hiv_biet",
        "dang_dieu_tri",
        "so_phieu_gt",
        "ngay_sinh",
        "ho_ten",
        "dien_thoai",
    ):
        assert never not in entity.data
    listing = {f["formID"]: f for f in phone.form_list()}
    files = {m["filename"]: m for m in phone.manifest(listing["f1_dang_ky"]["manifestUrl"])}
    assert set(files) == {"clients.csv", "wards.csv"}
    wards = phone.get(files["wards.csv"]["downloadUrl"])
    assert files["wards.csv"]["hash"] == "md5:" + hashlib.md5(wards.content).hexdigest()
    assert wards.content == WARDS_CSV.read_bytes()
    media = files["clients.csv"]
    rows = list(csv.DictReader(io.StringIO(phone.get(media["downloadUrl"]).text)))
    assert [(r["name"], r["uic"]) for r in rows] == [(client, "LAHU1150390")]
    assert "Nguyễn Văn An" not in phone.get(media["downloadUrl"]).text


def test_a_home_visit_updates_the_registered_client_on_the_phones_list(db, phone):
    from tests.sync.test_home_visit_forwarding import home_visit

    client = str(uuid.uuid4())
    phone.submit(registration("uuid:f1-a", client))
    listing = {f["formID"]: f for f in phone.form_list()}
    files = {m["filename"]: m for m in phone.manifest(listing["f5_tham_nha"]["manifestUrl"])}
    media = files["clients.csv"]
    [row] = list(csv.DictReader(io.StringIO(phone.get(media["downloadUrl"]).text)))
    assert (row["name"], row["__version"], row["so_lan_tham"]) == (client, "1", "")
    [reply] = phone.submit(
        home_visit("uuid:f5-a", client, base_version=1, visits=0),
        {"1763780000000.jpg": b"\xff\xd8 photo"},
    )
    assert reply.status == 201
    [row] = list(csv.DictReader(io.StringIO(phone.get(media["downloadUrl"]).text)))
    assert row["__version"] == "2"
    assert (row["so_lan_tham"], row["ngay_tham_cuoi"], row["ngay_hen"]) == (
        "1",
        "2026-11-22",
        "2026-12-22",
    )
    assert row["viec_lam"] == "thoi_vu"


def status_change(
    instance_id: str,
    client: str,
    reason: str,
    base_version: int,
    new_ward: str = "",
    saved_ward: str = "00118",
    status: str = "dong",
) -> bytes:
    """F7 as Collect writes it: ``saved_ward`` is what the form computes into ``ma_xa_kh``
    (the new ward when moving, else the client's ward read from clients.csv)."""
    return f"""<data id="f7_cap_nhat" version="2026120102"><start/><end/><today/><deviceid/>
<hdr><ma_tinh>01</ma_tinh><ma_xa>00118</ma_xa><mo_hinh>qlsc</mo_hinh><ngay>2026-11-22</ngay></hdr>
<kh>{client}</kh><uic_kh>LAHU1150390</uic_kh><ly_do>{reason}</ly_do><ma_xa_moi>{new_ward}</ma_xa_moi>
<ma_xa_kh>{saved_ward}</ma_xa_kh><gop_vao/><tt>{status}</tt><xac_nhan/><meta><entity
 dataset="clients" update="1" baseVersion="{base_version}" trunkVersion="" branchId=""
 id="{client}"/><instanceID>{instance_id}</instanceID></meta></data>""".encode()


def ward_change(instance_id: str, client: str, new_ward: str, base_version: int) -> bytes:
    return status_change(
        instance_id, client, "doi_dia_ban", base_version, new_ward, new_ward, status="mo"
    )


def test_moving_a_client_to_another_ward_removes_it_from_the_old_wards_phone(db, phone):
    client = str(uuid.uuid4())
    phone.submit(registration("uuid:f1-m", client))
    [reply] = phone.submit(ward_change("uuid:f7-m", client, "00097", base_version=1))
    assert reply.status == 201
    listing = {f["formID"]: f for f in phone.form_list()}
    files = {m["filename"]: m for m in phone.manifest(listing["f7_cap_nhat"]["manifestUrl"])}
    rows = list(csv.DictReader(io.StringIO(phone.get(files["clients.csv"]["downloadUrl"]).text)))
    assert rows == []  # the client now belongs to Hồng Hà's phones
    integrity = phone.get(f"{files['clients.csv']['integrityUrl']}?id={client}").text
    assert f'<entity id="{client}"><deleted>true</deleted></entity>' in integrity
