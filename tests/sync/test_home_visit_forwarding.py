"""The real home-visit form end to end: published by `flask init`, filled on a phone, stored,
and forwarded with the volunteer's self-reported drug-use answer and risk signs dropped and
the photo withheld (the default target privacy), typed answers for the rest."""

from __future__ import annotations

from datetime import timedelta

from server.models.types import utcnow
from sync.worker import drain
from tests.support.collect import Collect

PHOTO = b"\xff\xd8\xff\xe0 support photo" * 200


def home_visit(
    instance_id: str,
    client: str = "6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5",
    base_version: int = 1,
    visits: int = 0,
) -> bytes:
    """A home visit as Collect writes it for f5_tham_nha 2026112204 (it updates the client)."""
    return f"""<?xml version='1.0' ?><data id="f5_tham_nha" version="2026112204"
 xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">
<start>2026-11-22T09:00:00.000+07:00</start><end>2026-11-22T09:20:00.000+07:00</end>
<today>2026-11-22</today><deviceid>collect:AbCdEfGh12345678</deviceid>
<hdr><ma_tinh>01</ma_tinh><ma_xa>00118</ma_xa><mo_hinh>tnv</mo_hinh><ngay>2026-11-22</ngay></hdr>
<kh>{client}</kh><ma_kh>LAHU1150390</ma_kh><lan_truoc/><so_lan>{visits}</so_lan><bg/>
<ht>tai_nha</ht><gap>co</gap><ly_do_kg/><noi_o>gia_dinh</noi_o>
<viec_lam>thoi_vu</viec_lam><sd_tu_bao>khong_tra_loi</sd_tu_bao>
<nguy_co>cang_thang mat_viec</nguy_co>
<ho_tro_nhan>hoc_nghe vay_von</ho_tro_nhan><tien_vay>20.5</tien_vay>
<ngay_giai_ngan>2026-11-01</ngay_giai_ngan><ngay_bd_hoc_nghe>2026-10-15</ngay_bd_hoc_nghe>
<anh>1763780000000.jpg</anh><nhu_cau>xn_hiv</nhu_cau><clb>co</clb><vi_tri/>
<hen>2026-12-22</hen><n>{visits + 1}</n><d>2026-11-22</d><meta>
<entity dataset="clients" update="1" baseVersion="{base_version}" trunkVersion="" branchId=""
 id="{client}"/><instanceID>{instance_id}</instanceID>
<instanceName>LAHU1150390 2026-11-22</instanceName></meta></data>""".encode()


def test_home_visit_is_published_filled_and_forwarded_without_sensitive_answers(
    app, register, live_server, app_user
):
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    collect = Collect(app_user.server_url(live_server))
    assert "f5_tham_nha" in [f["formID"] for f in collect.form_list()]
    [reply] = collect.submit(
        home_visit("uuid:5a0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d2e"), {"1763780000000.jpg": PHOTO}
    )
    assert reply.status == 201
    drain(app, utcnow() + timedelta(minutes=1))
    [document] = register.stored.values()
    answers = document["answers"]
    assert answers["hdr"] == {
        "ma_tinh": "01",
        "ma_xa": "00118",
        "mo_hinh": "tnv",
        "ngay": "2026-11-22",
    }
    assert answers["ho_tro_nhan"] == ["hoc_nghe", "vay_von"]
    assert answers["n"] == "1"  # a calculate is text unless the form gives it a type
    assert answers["tien_vay"] == 20.5
    assert "sd_tu_bao" not in answers
    assert "nguy_co" not in answers
    assert answers["anh"].startswith("hmac-sha256:")
    assert document["attachments"] == []
    assert sorted(document["redactions"]["dropped"]) == ["nguy_co", "sd_tu_bao"]
    assert document["submission"]["instanceName"] == "LAHU1150390 2026-11-22"
