"""Submissions of the real programme forms F1-F7 (xlsforms/*.xlsx, published by `flask init`),
written as ODK Collect writes them: the groups of each form, its calculates, and the meta
entity block its entities sheet declares. Each builder takes what a test varies."""

from __future__ import annotations

import uuid as _uuid
from pathlib import Path
from xml.sax.saxutils import escape

FORMS = Path(__file__).resolve().parents[2] / "xlsforms"

VERSIONS = {
    "f1_dang_ky": "2026120103",
    "f2_gap_go": "2026120102",
    "f3_chuyen_gui": "2026120102",
    "f4_ket_qua_cg": "2026120102",
    "f5_tham_nha": "2026112204",
    "f6_sinh_hoat": "2026120102",
    "f7_cap_nhat": "2026120102",
}


def new_id() -> str:
    return str(_uuid.uuid4())


def _e(value) -> str:
    return "" if value is None else escape(str(value))


def _leaves(**answers) -> str:
    return "".join(
        f"<{k}/>" if v is None or v == "" else f"<{k}>{_e(v)}</{k}>" for k, v in answers.items()
    )


def _doc(form: str, body: str, instance_id: str, entity: str = "", deprecated: str = "") -> bytes:
    meta = f"{entity}<instanceID>{instance_id}</instanceID>"
    if deprecated:
        meta += f"<deprecatedID>{deprecated}</deprecatedID>"
    return (
        f'<data id="{form}" version="{VERSIONS[form]}" '
        'xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">'
        f"<start>2026-01-01T08:00:00+07:00</start><end>2026-01-01T08:10:00+07:00</end>"
        f"<today>2026-01-01</today><deviceid>collect:test</deviceid>{body}"
        f"<meta>{meta}</meta></data>"
    ).encode()


def _hdr(day: str, ward: str, model: str, province: str = "01") -> str:
    return (
        f"<hdr><ma_tinh>{province}</ma_tinh><ma_xa>{ward}</ma_xa><mo_hinh>{model}</mo_hinh>"
        f"<ngay>{day}</ngay></hdr>"
    )


def f1(
    instance_id: str,
    client: str,
    day: str,
    ward: str = "00118",
    consent: str = "co",
    sex: str = "1",
    birth_year: int = 1990,
    groups: str = "sd_mt",
    post_rehab: bool = False,
    rehab_end: str = "",
    management_end: str = "",
    source: str = "dong_dang",
    duplicate: str = "",
    insured: str = "co",
    uic: str | None = None,
    model: str = "tiep_can",
    deprecated: str = "",
) -> bytes:
    uic = uic or f"LAHU{sex}0000{str(birth_year)[1:]}"
    creates = consent == "co" and duplicate != "huy"
    profile = (
        "<ho_so>"
        + _leaves(
            nhom_dt=groups,
            loai_ma_tuy="heroin",
            tiem_chich_12t="khong",
            hiv_biet="chua_xn",
            dang_dieu_tri="khong",
            co_bhyt=insured,
            sau_cai="co" if post_rehab else "khong",
            ngay_xong_cai=rehab_end if post_rehab else "",
            hinh_thuc_cai="tu_nguyen" if post_rehab else "",
            qlsc_ket_thuc=management_end if post_rehab else "",
            tuoi=int(day[:4]) - birth_year,
            dang_tuoi_hoc="",
            can_tham="co" if post_rehab else "",
        )
        + "</ho_so>"
        if creates
        else "<ho_so/>"
    )
    coded = (
        "<ma_hoa>"
        + _leaves(
            me_2="la",
            bo_2="hu",
            gioi=sex,
            ho_ten="",
            so_dinh_danh="",
            dien_thoai="",
            ban_dang_gioi="",
            biet_ngay_sinh="khong",
            ngay_sinh="",
            nam_sinh=birth_year,
            nam_sinh_tinh=birth_year,
            uic=uic,
            so_trung=1 if duplicate else 0,
            canh_bao="",
            xu_ly_trung=duplicate,
            uic_cuoi=uic + ("-2" if duplicate == "nguoi_khac" else ""),
        )
        + "</ma_hoa>"
        if consent == "co"
        else "<ma_hoa/>"
    )
    body = (
        _hdr(day, ward, model)
        + _leaves(nguon_gioi_thieu=source, so_phieu_gt="CA-1" if source == "cong_an" else "")
        + _leaves(dong_y=consent, an_danh="")
        + coded
        + profile
        + _leaves(trang_thai="mo", so_lan_tx=0)
    )
    entity = (
        f'<entity dataset="clients" create="{1 if creates else 0}" id="{client}">'
        f"<label>{uic} · {birth_year} · {ward}</label></entity>"
    )
    return _doc("f1_dang_ky", body, instance_id, entity, deprecated)


def f2(
    instance_id: str,
    client: str | None,
    day: str,
    ward: str = "00118",
    topics: str = "giam_hai",
    services: str = "",
    model: str = "tiep_can",
    deprecated: str = "",
    insured: str = "co",
) -> bytes:
    known = client is not None
    body = _hdr(day, ward, model) + _leaves(
        co_ma="co" if known else "khong",
        xem_tat_ca="khong" if known else "",
        kh=client or "",
        an_gioi="" if known else "1",
        an_tuoi="" if known else "25_34",
        hinh_thuc="cong_dong",
        chu_de=topics,
        bkt="",
        bcs="",
        tu_xn="",
        de_xuat_dv=services,
        nhac_f3="",
        hen_tiep="2026-12-30" if known else "",
        bhyt_nay=insured if known else "",
        n_tx=1,
        ngay_tx=day,
    )
    entity = (
        f'<entity dataset="clients" id="{client}" update="1"/>'
        if known
        else '<entity dataset="clients" id="" update="0"/>'
    )
    return _doc("f2_gap_go", body, instance_id, entity, deprecated)


def f3(
    instance_id: str,
    referral: str,
    client: str,
    service: str,
    day: str,
    ward: str = "00118",
    due: str | None = None,
    model: str = "tiep_can",
    deprecated: str = "",
) -> bytes:
    body = _hdr(day, ward, model) + _leaves(
        kh=client,
        uic_kh="LAHU1000090",
        dv=service,
        co_so="VCT-01",
        cach="gioi_thieu",
        han_xac_nhan=due or day,
        ma_phieu=f"{ward}-{day.replace('-', '')[2:]}-ab12",
        so_phieu="",
        tt="da_chuyen",
        d=day,
    )
    entity = (
        f'<entity dataset="referrals" create="1" id="{referral}">'
        f"<label>LAHU1000090 → {service} · {day}</label></entity>"
    )
    return _doc("f3_chuyen_gui", body, instance_id, entity, deprecated)


def f4(
    instance_id: str,
    referral: str,
    service: str,
    day: str,
    outcome: str = "da_nhan",
    served: str | None = None,
    verified_by: str = "dt_co_so",
    hiv: str = "",
    started: str = "",
    started_on: str = "",
    loan: float | None = None,
    disbursed: str = "",
    training: str = "",
    ward: str = "00118",
    model: str = "tiep_can",
    deprecated: str = "",
) -> bytes:
    done = outcome == "da_nhan"
    tt = "hoan_thanh" if done else ("cho" if outcome in ("da_den", "chua_den") else "dong")
    body = _hdr(day, ward, model) + _leaves(
        phieu=referral,
        dv=service,
        uic="LAHU1000090",
        ngay_cg="",
        tom_tat="",
        ngay_xn=day,
        kq=outcome,
        tt=tt,
        nguon=verified_by,
        ngay_dv=(served or day) if done else "",
        kq_hiv=hiv,
        nhac_arv="",
        bat_dau=started,
        ngay_bd=started_on,
        tien_vay=loan,
        ngay_giai_ngan=disbursed,
        nguon_von="nhcsxh" if loan else "",
        ten_nghe="",
        so_thang="",
        tt_hoc=training,
        loai_viec="",
        han_the="",
        ly_do="" if done else "khac",
    )
    entity = f'<entity dataset="referrals" id="{referral}" update="1"/>'
    return _doc("f4_ket_qua_cg", body, instance_id, entity, deprecated)


def f5(
    instance_id: str,
    client: str,
    day: str,
    met: str = "co",
    used: str = "khong",
    job: str = "khong_viec",
    support: str = "khong",
    loan: float | None = None,
    disbursed: str = "",
    training_on: str = "",
    club: str = "khong",
    ward: str = "00118",
    model: str = "tnv",
    deprecated: str = "",
) -> bytes:
    seen = met == "co"
    body = _hdr(day, ward, model) + _leaves(
        kh=client,
        ma_kh="LAHU1000090",
        lan_truoc="",
        so_lan=0,
        bg="",
        ht="tai_nha",
        gap=met,
        ly_do_kg="" if seen else "vang",
        noi_o="gia_dinh" if seen else "",
        viec_lam=job if seen else "",
        sd_tu_bao=used if seen else "",
        nguy_co="khong" if seen else "",
        ho_tro_nhan=support if seen else "",
        tien_vay=loan,
        ngay_giai_ngan=disbursed,
        ngay_bd_hoc_nghe=training_on,
        anh="",
        nhu_cau="khong" if seen else "",
        clb=club if seen else "",
        vi_tri="",
        hen="2026-12-30",
        n=1,
        d=day,
    )
    entity = f'<entity dataset="clients" id="{client}" update="1"/>'
    return _doc("f5_tham_nha", body, instance_id, entity, deprecated)


def f6(
    instance_id: str,
    day: str,
    attendees: list[str] = (),
    men: int = 0,
    women: int = 0,
    other: int = 0,
    ward: str = "00118",
    model: str = "b93",
) -> bytes:
    body = _hdr(day, ward, model) + _leaves(
        nhom="CLB-1",
        loai="dinh_ky",
        chu_de="phong_tai",
        n_nam=men,
        n_nu=women,
        n_khac=other,
        n_gd=0,
        n_sau_cai=0,
        ds=" ".join(attendees),
    )
    return _doc("f6_sinh_hoat", body, instance_id)


def f7(
    instance_id: str,
    client: str,
    day: str,
    reason: str,
    merge_into: str = "",
    ward: str = "00118",
    model: str = "tnv",
) -> bytes:
    status = (
        "mo"
        if reason in ("doi_dia_ban", "mo_lai")
        else ("tam_dung" if reason in ("vao_co_so", "tam_giu") else "dong")
    )
    body = _hdr(day, ward, model) + _leaves(
        kh=client,
        uic_kh="LAHU1000090",
        ly_do=reason,
        ma_xa_moi="",
        ma_xa_kh=ward,
        gop_vao=merge_into,
        tt=status,
        xac_nhan="",
    )
    entity = f'<entity dataset="clients" id="{client}" update="1"/>'
    return _doc("f7_cap_nhat", body, instance_id, entity)
