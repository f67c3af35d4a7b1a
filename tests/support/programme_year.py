"""A synthetic programme year sent through the real OpenRosa endpoint, so that the indicators
reproduce the programmes' own figures (domain.md, "Figures from the seed reports"):

- Hà Nội police-referral model (``mo_hinh`` = ``canh_sat``, six wards): 170 people counselled
  or referred (I1) against a plan of 150 (I1a 113.3 %); of them 118 referred to HIV testing
  (``xn_hiv``), 94 to methadone (``mmt``), 87 to addiction treatment (``cat_con`` and
  ``cai_nghien`` as people), 61 to vocational training (``hoc_nghe``);
- post-rehab models (``tnv``, ``qlsc``, ``b93``, five other wards): 267 people helped into
  jobs (I13), 114 loans totalling 4,099 million VND (I14), 53 vocational trainings (I15).

The real forms xlsforms/f1..f7 are published to two projects; phones (app users, two per
ward) send Collect's multipart POST to /v1/key/<token>/projects/<id>/submission through the
Flask test client (in-process, the same WSGI app as production; no mock). Entities are made
and updated as on phones: F1 creates clients, F3 referrals (``kh_id``), F4 updates them, F5
visits and F7 status changes (a merge of duplicates: ``ly_do=trung_ma``, ``gop_vao``) update
clients, F2 contacts update them when the client is named.

Noise that must not change the figures when the formulas are right: several events per
person (retests, several visits naming the same support), anonymous F2 contacts, F2 contacts
with no counselling topic or service, consent refused (no client), a registration cancelled
as a duplicate (``xu_ly_trung=huy``, no client), five duplicate registrations merged by F7
(people counted once), referrals of December 2025 (another year's cohort) with outcomes in
2026, outcomes not received (``da_den``, ``chua_den``, ``tu_choi``...), outcomes of 2025, a
referral's outcome recorded twice (``da_den`` then ``da_nhan``), loans recorded by both the
referrer (F4) and the volunteer (F5) with the same (client, ``ngay_giai_ngan``) and sometimes
another amount (I14 keeps F4's), a loan the volunteer ticks again on the next visit, loans
and trainings that started in 2025, late submissions (events of earlier months sent after
the rest), identical resends (answered 201, stored once), and another project in another
province (Đắk Lắk) that must not be counted.

Decisions (docs/indicators.md of Part A has the formulas): every person referred to PrEP is
also referred to HIV testing, and every person referred to voluntary rehab also to detox, so
"HIV testing and prevention" and "addiction treatment" give 118 and 87 whether they are read
as one service or as the union of two, counted by person. The post-rehab caseload was
registered in 2025 and its 2026 events are visits (F5) and outcomes (F4) of referrals made in
late 2025, so none of them is "counselled or referred" in 2026 and I1 is the referral model's
alone, with or without a model filter. The referral model's vocational-training referrals are
not (yet) received, so I15 is the post-rehab models' alone.

    year = build_year(app)            # about 2,100 submissions; ``year.project_id`` etc.
    year.expected                     # {"I1": 170, "I4:xn_hiv": 118, ...}
"""

from __future__ import annotations

import io
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
XLSFORMS = ROOT / "xlsforms"
FORM_IDS = (
    "f1_dang_ky",
    "f2_gap_go",
    "f3_chuyen_gui",
    "f4_ket_qua_cg",
    "f5_tham_nha",
    "f6_sinh_hoat",
    "f7_cap_nhat",
)
XF = "{http://www.w3.org/2002/xforms}"

#: The seed figures the year reproduces (domain.md, "Figures from the seed reports").
EXPECTED = {
    "I1": 170,
    "I1:target": 150,
    "I1a": 113.3,
    "I4:xn_hiv": 118,
    "I4:xn_hiv+prep": 118,  # the same people: every PrEP referral has an HIV test referral
    "I4:mmt": 94,
    "I4:cat_con+cai_nghien": 87,  # people referred to detox or voluntary rehab
    "I4:cat_con": 87,  # every voluntary-rehab referral has a detox referral too
    "I4:hoc_nghe": 61,
    "I13": 267,
    "I14": 114,  # people, and deduplicated loan events: one loan each
    "I14:amount": 4099,  # million VND
    "I15": 53,
}
YEAR_FROM, YEAR_TO = date(2026, 1, 1), date(2026, 12, 31)
LAST_DAY = date(2026, 11, 30)  # "today" of the year: no event after it (the forms' constraint)

REFERRAL_WARDS = ("00118", "00097", "00145", "00592", "00622", "00166")  # police model
POST_REHAB_WARDS = {
    "00070": "tnv",
    "00256": "qlsc",
    "00331": "b93",
    "00367": "tnv",
    "00004": "qlsc",
}
OTHER_PROVINCE_WARDS = ("24133", "24163")  # Đắk Lắk, the other project
FACILITIES = {
    "xn_hiv": "VCT-01",
    "prep": "PREP-01",
    "mmt": "MMT-01",
    "cat_con": "CSCN-01",
    "cai_nghien": "CSCN-01",
    "hoc_nghe": "GDNN-01",
    "viec_lam": "DVVL-01",
    "vay_von": "NHCSXH-01",
    "kham_sk": "TYT-01",
    "phap_ly": "TGPL-01",
    "bhyt": "BHXH-01",
}


# --------------------------------------------------------------------------------------------
# Forms: the real xlsforms compiled once, published to a project, their instance templates


_COMPILED: dict[str, bytes] = {}


def compiled_forms() -> dict[str, bytes]:
    """form id -> the XForm compiled from xlsforms/<id>.xlsx (cached for the process)."""
    if not _COMPILED:
        import forms

        for form_id in FORM_IDS:
            _COMPILED[form_id] = forms.compile_xlsform(XLSFORMS / f"{form_id}.xlsx").xform
    return _COMPILED


def publish_programme_forms(app, project_id: int) -> None:
    """What `flask init` does for a project: the reference lists, the seven forms, wards.csv."""
    import json
    import mimetypes

    from server.auth.permissions import SYSTEM
    from server.services import drafts, entities, storage
    from server.services import forms as form_service

    ext = app.extensions["donghanh"]
    lists = json.loads((XLSFORMS / "entity_lists.json").read_text())
    with ext.db.transaction() as session:
        for name, properties in lists.items():
            if not name.startswith("_"):
                entities.ensure_reference_list(session, project_id, name, properties)
    for xform in compiled_forms().values():
        with ext.db.transaction() as session:
            version = form_service.publish_form(
                session, ext.blobs, SYSTEM, project_id, xform, None, []
            )
            for slot in form_service.list_attachments(session, version.id):
                source = XLSFORMS / slot.name
                if slot.dataset or not source.is_file():
                    continue
                sha, md5, size = storage.hash_file(source)
                drafts.set_attachment(
                    session,
                    ext.blobs,
                    SYSTEM,
                    version,
                    slot.name,
                    str(source),
                    sha,
                    md5,
                    size,
                    mimetypes.guess_type(slot.name)[0] or "text/csv",
                )


class Templates:
    """Instances built from each form's own primary instance: every field the form has, in its
    order and groups, empty unless answered, with the meta block pyxform wrote."""

    def __init__(self):
        self.roots: dict[str, etree._Element] = {}
        for form_id, xform in compiled_forms().items():
            doc = etree.fromstring(xform)
            instance = doc.find(f".//{XF}model/{XF}instance")
            self.roots[form_id] = instance[0]

    def build(self, form_id: str, answers: dict[str, str], meta: dict) -> bytes:
        root = _strip_ns(self.roots[form_id])
        leaves = {el.tag: el for el in root.iter() if len(el) == 0 and el.tag != "label"}
        for name, value in answers.items():
            if name not in leaves:
                raise KeyError(f"{form_id} has no field {name}")
            leaves[name].text = value
        meta_el = root.find("meta")
        meta_el.find("instanceID").text = meta["instanceID"]
        if meta_el.find("instanceName") is not None and meta.get("instanceName"):
            meta_el.find("instanceName").text = meta["instanceName"]
        entity = meta_el.find("entity")
        if entity is not None:
            for key, value in meta.get("entity", {}).items():
                if key == "label":
                    entity.find("label").text = value
                else:
                    entity.set(key, value)
        return b"<?xml version='1.0' ?>" + etree.tostring(root, encoding="utf-8")


def _strip_ns(element):
    """A copy of the template without the XForms namespace (as Collect serialises it)."""
    copy = etree.fromstring(etree.tostring(element))
    for el in copy.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]
    etree.cleanup_namespaces(copy)
    return copy


# --------------------------------------------------------------------------------------------
# Phones: app users with wards, sending as Collect does


@dataclass
class Phone:
    actor_id: int
    token: str
    project_id: int
    wards: tuple[str, ...]
    device_id: str

    @property
    def path(self) -> str:
        return f"/v1/key/{self.token}/projects/{self.project_id}/submission"


def make_phone(app, project_id: int, name: str, wards: tuple[str, ...]) -> Phone:
    from server.auth.permissions import SYSTEM
    from server.services import app_users

    with app.extensions["donghanh"].db.transaction() as session:
        issued = app_users.create_app_user(session, SYSTEM, project_id, name, all_forms=True)
        app_users.set_wards(session, SYSTEM, issued.actor_id, list(wards))
    return Phone(
        issued.actor_id, issued.token, project_id, wards, f"collect:{uuid.uuid4().hex[:16]}"
    )


class Sender:
    """POSTs instances through the app's OpenRosa route with the Flask test client."""

    def __init__(self, app):
        self.client = app.test_client()
        self.statuses: Counter = Counter()
        self.sent = 0

    def submit(self, phone: Phone, xml: bytes) -> int:
        response = self.client.post(
            phone.path,
            query_string={"deviceID": phone.device_id},
            headers={
                "X-OpenRosa-Version": "1.0",
                "Date": time.strftime("%a, %d %b %Y %I:%M:%S GMT", time.gmtime()),
                "User-Agent": "org.odk.collect.android/v2026.3.3 Dalvik/2.1.0 (Linux; Android 14)",
            },
            data={"xml_submission_file": (io.BytesIO(xml), "instance.xml", "text/xml")},
            content_type="multipart/form-data",
        )
        self.sent += 1
        self.statuses[response.status_code] += 1
        if response.status_code != 201:
            raise AssertionError(
                f"{response.status_code} for {xml[:120]!r}: {response.get_data(as_text=True)}"
            )
        return response.status_code


# --------------------------------------------------------------------------------------------
# The plan: people and events, then sent in order of event date (late ones last)


@dataclass
class Client:
    uuid: str
    uic: str
    ward: str
    model: str
    phone: Phone
    birth: date
    sex: str
    version: int = 0  # the entity's version on the server once its F1 is in


@dataclass
class Referral:
    uuid: str
    client: Client
    service: str
    day: date
    version: int = 0


@dataclass
class Event:
    form_id: str
    day: date
    phone: Phone
    answers: dict
    entity: tuple | None = None  # ("create", Client|Referral, label) or ("update", ...)
    late: bool = False
    seq: int = 0
    instance_id: str = field(default_factory=lambda: f"uuid:{uuid.uuid4()}")


def _iso(day: date) -> str:
    return day.isoformat()


class Plan:
    def __init__(self, rng: random.Random, templates: Templates):
        self.rng = rng
        self.templates = templates
        self.events: list[Event] = []
        self._uics: set[str] = set()

    # ---- helpers
    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def _add(self, event: Event) -> Event:
        event.seq = len(self.events)
        self.events.append(event)
        return event

    @staticmethod
    def _hdr(ward: str, model: str, day: date) -> dict:
        province = "66" if ward in OTHER_PROVINCE_WARDS else "01"
        return {"ma_tinh": province, "ma_xa": ward, "mo_hinh": model, "ngay": _iso(day)}

    def _new_uic(self, sex: str, birth: date) -> str:
        letters = "ABCDEGHIKLMNOPQRSTUVXY"
        while True:
            uic = (
                "".join(self.rng.choice(letters) for _ in range(4)) + sex + birth.strftime("%d%m%y")
            )
            if uic not in self._uics:
                self._uics.add(uic)
                return uic

    # ---- F1
    def register(
        self,
        phone: Phone,
        ward: str,
        model: str,
        day: date,
        sau_cai: bool = False,
        same_as: Client | None = None,
        source: str | None = None,
    ) -> Client:
        rng = self.rng
        if same_as is not None:  # a duplicate: the same person registered again elsewhere
            sex, birth, uic = same_as.sex, same_as.birth, same_as.uic
        else:
            sex = rng.choice("1112")
            birth = date(rng.randint(1970, 2006), rng.randint(1, 12), rng.randint(1, 28))
            uic = self._new_uic(sex, birth)
        client = Client(str(uuid.uuid4()), uic, ward, model, phone, birth, sex)
        groups = (
            "sau_cai sd_mt"
            if sau_cai
            else rng.choice(
                ["sd_mt", "tiem_chich", "sd_mt mmt", "sd_mt plhiv", "tiem_chich ban_tinh"]
            )
        )
        end = day - timedelta(days=rng.randint(5, 60))
        answers = {
            **self._hdr(ward, model, day),
            "nguon_gioi_thieu": source
            or (
                "co_so_cai"
                if sau_cai
                else rng.choice(
                    ["cong_an", "cong_an", "cong_an", "dong_dang", "tu_den", "gia_dinh"]
                )
            ),
            "dong_y": "co",
            "me_2": uic[0:2].lower(),
            "bo_2": uic[2:4].lower(),
            "gioi": sex,
            "biet_ngay_sinh": "co",
            "ngay_sinh": _iso(birth),
            "nam_sinh_tinh": str(birth.year),
            "uic": uic,
            "so_trung": "0",
            "uic_cuoi": uic,
            "nhom_dt": groups,
            "loai_ma_tuy": rng.choice(["heroin", "ma_tuy_da", "heroin ma_tuy_da"]),
            "tiem_chich_12t": rng.choice(["co", "khong"]),
            "hiv_biet": rng.choice(["chua_xn", "am_tinh_tren_6t", "khong_tra_loi"]),
            "co_bhyt": rng.choice(["co", "khong"]),
            "sau_cai": "co" if sau_cai else "khong",
            "tuoi": str(day.year - birth.year),
            "trang_thai": "mo",
            "so_lan_tx": "0",
        }
        if answers["nguon_gioi_thieu"] == "cong_an":
            answers["so_phieu_gt"] = f"CA-{rng.randint(1, 9999):04d}"
        if sau_cai:
            answers |= {
                "ngay_xong_cai": _iso(end),
                "hinh_thuc_cai": rng.choice(["bat_buoc", "tu_nguyen", "cong_dong"]),
                "qlsc_ket_thuc": _iso(end + timedelta(days=365)),
                "can_tham": "co",
            }
        label = f"{uic} · {birth.year} · {ward}"
        self._add(Event("f1_dang_ky", day, phone, answers, ("create", client, label)))
        return client

    def refused_consent(self, phone: Phone, ward: str, model: str, day: date) -> None:
        answers = {
            **self._hdr(ward, model, day),
            "nguon_gioi_thieu": self.rng.choice(["cong_an", "dong_dang"]),
            "dong_y": "khong",
            "trang_thai": "mo",
            "so_lan_tx": "0",
        }
        self._add(Event("f1_dang_ky", day, phone, answers, ("none", None, "")))

    def cancelled_duplicate(self, phone: Phone, client: Client, day: date) -> None:
        """A phone that sees the UIC on its list answers "same person, stop": no entity."""
        answers = {
            **self._hdr(client.ward, client.model, day),
            "nguon_gioi_thieu": "cong_an",
            "dong_y": "co",
            "me_2": client.uic[0:2].lower(),
            "bo_2": client.uic[2:4].lower(),
            "gioi": client.sex,
            "biet_ngay_sinh": "co",
            "ngay_sinh": _iso(client.birth),
            "nam_sinh_tinh": str(client.birth.year),
            "uic": client.uic,
            "so_trung": "1",
            "xu_ly_trung": "huy",
            "uic_cuoi": client.uic,
            "trang_thai": "mo",
            "so_lan_tx": "0",
        }
        self._add(Event("f1_dang_ky", day, phone, answers, ("none", None, "")))

    # ---- F2
    def contact(
        self,
        client: Client | None,
        day: date,
        topics: str = "",
        services: str = "",
        phone: Phone | None = None,
        ward: str | None = None,
        model: str = "canh_sat",
        late: bool = False,
    ) -> None:
        rng = self.rng
        ward = client.ward if client else ward
        answers = {
            **self._hdr(ward, client.model if client else model, day),
            "co_ma": "co" if client else "khong",
            "hinh_thuc": rng.choice(["cong_dong", "diem_tv", "tai_nha", "tru_so_ca", "dien_thoai"]),
            "chu_de": topics,
            "bkt": str(rng.randint(0, 30)),
            "bcs": str(rng.randint(0, 20)),
            "tu_xn": str(rng.randint(0, 2)),
            "de_xuat_dv": services,
            "ngay_tx": _iso(day),
        }
        if client:
            answers |= {
                "xem_tat_ca": "khong",
                "kh": client.uuid,
                "hen_tiep": _iso(day + timedelta(days=30)),
                "bhyt_nay": "co",
                "n_tx": "1",
            }
            entity = ("update", client, "")
        else:
            answers |= {
                "an_gioi": rng.choice("12"),
                "an_tuoi": rng.choice(["18_24", "25_34", "35_49"]),
                "n_tx": "1",
            }
            entity = ("noupdate", None, "")
        self._add(
            Event(
                "f2_gap_go",
                day,
                phone or (client.phone if client else None),
                answers,
                entity,
                late=late,
            )
        )

    # ---- F3
    def refer(
        self, client: Client, service: str, day: date, phone: Phone | None = None
    ) -> Referral:
        referral = Referral(str(uuid.uuid4()), client, service, day)
        answers = {
            **self._hdr(client.ward, client.model, day),
            "kh": client.uuid,
            "uic_kh": client.uic,
            "dv": service,
            "co_so": FACILITIES[service],
            "cach": self.rng.choice(["dua_di", "gioi_thieu", "hen", "goi_dien"]),
            "han_xac_nhan": _iso(day + timedelta(days=14)),
            "ma_phieu": f"{client.ward}-{day:%y%m%d}-{referral.uuid[:4]}",
            "tt": "da_chuyen",
            "d": _iso(day),
        }
        label = f"{client.uic} → {service} · {_iso(day)}"
        self._add(
            Event("f3_chuyen_gui", day, phone or client.phone, answers, ("create", referral, label))
        )
        return referral

    # ---- F4
    def outcome(
        self,
        referral: Referral,
        day: date,
        kq: str,
        served: date | None = None,
        late: bool = False,
        **extra: str,
    ) -> None:
        client = referral.client
        answers = {
            **self._hdr(client.ward, client.model, day),
            "phieu": referral.uuid,
            "dv": referral.service,
            "uic": client.uic,
            "ngay_cg": _iso(referral.day),
            "ngay_xn": _iso(day),
            "kq": kq,
            "tt": "hoan_thanh"
            if kq == "da_nhan"
            else ("cho" if kq in ("da_den", "chua_den") else "dong"),
            "nguon": self.rng.choice(["phieu_phan_hoi", "dt_co_so", "kh_bao", "di_cung"]),
        }
        if kq == "da_nhan":
            answers["ngay_dv"] = _iso(served or day)
            if referral.service == "xn_hiv":
                answers["kq_hiv"] = self.rng.choice(
                    ["am_tinh"] * 8 + ["duong_tinh", "khong_chia_se"]
                )
            if referral.service in ("prep", "mmt"):
                answers |= {"bat_dau": "co", "ngay_bd": _iso(served or day)}
        else:
            answers["ly_do"] = "Chưa sắp xếp được thời gian"
        if referral.service == "hoc_nghe":
            answers |= {"ten_nghe": "Sửa xe máy", "so_thang": "3", "tt_hoc": "dang_hoc"}
        answers |= extra
        self._add(
            Event("f4_ket_qua_cg", day, client.phone, answers, ("update", referral, ""), late=late)
        )

    # ---- F5
    def visit(
        self,
        client: Client,
        day: date,
        support: tuple[str, ...] = (),
        met: bool = True,
        late: bool = False,
        **extra: str,
    ) -> None:
        rng = self.rng
        answers = {
            **self._hdr(client.ward, client.model, day),
            "kh": client.uuid,
            "ma_kh": client.uic,
            "so_lan": "0",
            "ht": rng.choice(["tai_nha", "tai_nha", "tai_clb", "dien_thoai"]),
            "gap": "co" if met else "khong",
            "hen": _iso(day + timedelta(days=30)),
            "n": "1",
            "d": _iso(day),
        }
        if met:
            answers |= {
                "noi_o": rng.choice(["gia_dinh", "gia_dinh", "mot_minh"]),
                "viec_lam": "co_viec"
                if "viec_lam" in support
                else rng.choice(["co_viec", "thoi_vu", "khong_viec"]),
                "sd_tu_bao": rng.choice(["khong", "khong", "khong", "co", "khong_tra_loi"]),
                "nguy_co": rng.choice(["khong", "cang_thang", "mat_viec gap_ban_cu"]),
                "ho_tro_nhan": " ".join(support) or rng.choice(["khong", "tu_van_tl"]),
                "nhu_cau": rng.choice(["khong", "xn_hiv", "viec_lam"]),
                "clb": rng.choice(["co", "khong"]),
            }
        else:
            answers["ly_do_kg"] = rng.choice(["vang", "di_lam_xa"])
        answers |= extra
        self._add(
            Event(
                "f5_tham_nha",
                day,
                client.phone,
                answers,
                ("update", client, ""),
                late=late,
            )
        )
        self.events[-1].answers.setdefault("_name", f"{client.uic} {_iso(day)}")

    # ---- F6
    def session(
        self,
        phone: Phone,
        ward: str,
        group: str,
        day: date,
        people: list[Client],
        late: bool = False,
    ) -> None:
        n = len(people)
        men = sum(1 for p in people if p.sex == "1")
        answers = {
            **self._hdr(ward, "b93", day),
            "nhom": group,
            "loai": self.rng.choice(["dinh_ky", "ky_nang", "gia_dinh"]),
            "chu_de": "phong_tai viec_lam",
            "n_nam": str(men),
            "n_nu": str(n - men),
            "n_khac": "0",
            "n_gd": str(self.rng.randint(0, 3)),
            "n_sau_cai": str(n),
            "ds": " ".join(p.uuid for p in people),
        }
        self._add(Event("f6_sinh_hoat", day, phone, answers, None, late=late))

    # ---- F7
    def status(
        self, client: Client, day: date, reason: str, into: Client | None = None, new_ward: str = ""
    ) -> None:
        answers = {
            **self._hdr(client.ward, client.model, day),
            "kh": client.uuid,
            "uic_kh": client.uic,
            "ly_do": reason,
            "ma_xa_moi": new_ward,
            "ma_xa_kh": new_ward or client.ward,
            "gop_vao": into.uuid if into else "",
            "tt": "mo"
            if reason in ("doi_dia_ban", "mo_lai")
            else ("tam_dung" if reason in ("vao_co_so", "tam_giu") else "dong"),
        }
        self._add(Event("f7_cap_nhat", day, client.phone, answers, ("update", client, "")))

    # ---- sending
    def xml_of(self, event: Event) -> bytes:
        answers = {k: v for k, v in event.answers.items() if not k.startswith("_")}
        meta: dict = {"instanceID": event.instance_id}
        if event.form_id in ("f1_dang_ky", "f5_tham_nha"):
            meta["instanceName"] = event.answers.get("_name") or answers.get("uic", "")
        kind, target, label = event.entity or (None, None, "")
        if kind == "create":
            meta["entity"] = {"id": target.uuid, "create": "1", "label": label}
        elif kind == "none":  # F1 without consent, or cancelled: create_if is false
            meta["entity"] = {"id": str(uuid.uuid4()), "create": "0", "label": ""}
        elif kind == "update":
            meta["entity"] = {"id": target.uuid, "update": "1", "baseVersion": str(target.version)}
        elif kind == "noupdate":
            meta["entity"] = {"id": "", "update": "0", "baseVersion": ""}
        return self.templates.build(event.form_id, answers, meta)

    def send(self, sender: Sender, resend_every: int = 0) -> list[tuple[Phone, bytes]]:
        """Send on time in order of event date (F1 before F3 before F4 on the same day), then
        the late ones; resend some identically, as Collect does when an answer is lost."""
        order = {f: i for i, f in enumerate(FORM_IDS)}
        on_time = sorted(
            (e for e in self.events if not e.late), key=lambda e: (e.day, order[e.form_id], e.seq)
        )
        late = sorted((e for e in self.events if e.late), key=lambda e: e.seq)
        sent: list[tuple[Phone, bytes]] = []
        for i, event in enumerate(on_time + late):
            xml = self.xml_of(event)
            sender.submit(event.phone, xml)
            kind, target, _ = event.entity or (None, None, "")
            if kind in ("create", "update"):
                target.version += 1
            sent.append((event.phone, xml))
            if resend_every and i % resend_every == resend_every - 1:
                sender.submit(event.phone, xml)  # the identical bytes again: 201, stored once
        return sent


# --------------------------------------------------------------------------------------------
# The year


@dataclass
class Year:
    project_id: int
    other_project_id: int
    phones: list[Phone]
    submissions: int  # distinct instances sent (resends not counted)
    posts: int  # POSTs made, resends included
    expected: dict = field(default_factory=lambda: dict(EXPECTED))


def _amounts(rng: random.Random, n: int, total: int, low: int, high: int) -> list[int]:
    values = [rng.randint(low, high) for _ in range(n)]
    while sum(values) != total:
        i = rng.randrange(n)
        step = 1 if sum(values) < total else -1
        if low <= values[i] + step <= high:
            values[i] += step
    return values


def build_year(app, seed: int = 12, targets: bool = True) -> Year:
    """Create the two projects, their phones and forms, send the year; return what to expect."""
    from server.services import projects

    rng = random.Random(seed)
    db = app.extensions["donghanh"].db
    with db.transaction() as session:
        project_id = projects.create_project(session, None, "Hà Nội – chuyển gửi và sau cai").id
        other_id = projects.create_project(session, None, "Đắk Lắk").id
    for pid in (project_id, other_id):
        publish_programme_forms(app, pid)
    add_reference_entities(app, project_id)
    add_reference_entities(app, other_id)
    if targets:
        write_targets(app, project_id)

    phones: dict[str, list[Phone]] = {}
    for ward in (*REFERRAL_WARDS, *POST_REHAB_WARDS):
        phones[ward] = [
            make_phone(app, project_id, f"Điện thoại {ward}-{i}", (ward,)) for i in (1, 2)
        ]
    for ward in OTHER_PROVINCE_WARDS:
        phones[ward] = [make_phone(app, other_id, f"Điện thoại {ward}", (ward,))]

    plan = Plan(rng, Templates())
    _referral_model(plan, rng, phones)
    _post_rehab(plan, rng, phones)
    _other_province(plan, rng, phones)
    sender = Sender(app)
    plan.send(sender, resend_every=80)
    return Year(
        project_id,
        other_id,
        [p for ps in phones.values() for p in ps],
        len(plan.events),
        sender.sent,
    )


def write_targets(app, project_id: int) -> None:
    """The plan: 150 people counselled or referred in 2026, for the project and for the
    police-referral model (PlanTarget rows; Part B's service writes them in production)."""
    from server.models.indicators import PlanTarget

    with app.extensions["donghanh"].db.transaction() as session:
        for kind, value in (("project", ""), ("model", "canh_sat")):
            session.add(
                PlanTarget(
                    project_id=project_id,
                    scope_kind=kind,
                    scope_value=value,
                    indicator="I1",
                    period_kind="year",
                    period_start=YEAR_FROM,
                    planned=150,
                )
            )


def add_reference_entities(app, project_id: int) -> None:
    from server.auth.permissions import SYSTEM
    from server.services import entity_api

    with app.extensions["donghanh"].db.transaction() as session:
        entity_api.create_entities(
            session,
            SYSTEM,
            project_id,
            "facilities",
            [
                {
                    "uuid": code,
                    "label": f"Cơ sở {code}",
                    "data": {
                        "dich_vu": " ".join(s for s, c in FACILITIES.items() if c == code),
                        "tinh": "01",
                    },
                }
                for code in sorted(set(FACILITIES.values()))
            ],
        )
        entity_api.create_entities(
            session,
            SYSTEM,
            project_id,
            "groups",
            [
                {
                    "uuid": f"B93-{ward}",
                    "label": f"CLB B93 {ward}",
                    "data": {"loai": "b93", "ma_xa": ward},
                }
                for ward in POST_REHAB_WARDS
            ],
        )


def _referral_model(plan: Plan, rng: random.Random, phones: dict) -> None:
    """170 people counselled or referred in 2026; the referral sets by service."""
    wards = REFERRAL_WARDS
    people: list[Client] = []
    # A[0:150]: registered in 2026 (each counts in I1 by its F1 with consent)
    for i in range(150):
        ward = wards[i % len(wards)]
        day = plan.day_between(date(2026, 1, 5), date(2026, 9, 30))
        people.append(plan.register(phones[ward][i % 2], ward, "canh_sat", day))
    # A[150:170]: registered in 2025, counselled in 2026 (an F2 with topics)
    for i in range(20):
        ward = wards[i % len(wards)]
        client = plan.register(
            phones[ward][0],
            ward,
            "canh_sat",
            plan.day_between(date(2025, 6, 1), date(2025, 12, 20)),
        )
        people.append(client)
        plan.contact(
            client,
            plan.day_between(date(2026, 1, 10), date(2026, 10, 30)),
            topics="hiv_sti dieu_tri_nghien",
            late=i % 7 == 0,
        )
        if i < 8:  # a referral of 2025: another year's cohort, with its outcome in 2026
            ref = plan.refer(client, "hoc_nghe", date(2025, 12, rng.randint(1, 20)))
            plan.outcome(ref, date(2026, 1, rng.randint(5, 25)), "da_den")
    # registered in 2025, met in 2026 without counselling or referral: not in I1
    for i in range(12):
        ward = wards[i % len(wards)]
        client = plan.register(
            phones[ward][1],
            ward,
            "canh_sat",
            plan.day_between(date(2025, 3, 1), date(2025, 11, 30)),
        )
        plan.contact(client, plan.day_between(date(2026, 2, 1), date(2026, 11, 20)))
        if i < 6:  # referred in December 2025, received in January 2026: the 2025 cohort
            ref = plan.refer(
                client, rng.choice(["xn_hiv", "mmt", "cat_con"]), date(2025, 12, rng.randint(1, 28))
            )
            plan.outcome(ref, date(2026, 1, rng.randint(2, 28)), "da_nhan")
    # consent refused; a registration cancelled as the same person: no client
    for i in range(10):
        ward = wards[i % len(wards)]
        plan.refused_consent(
            phones[ward][i % 2],
            ward,
            "canh_sat",
            plan.day_between(date(2026, 1, 5), date(2026, 11, 20)),
        )
    for i in range(3):
        original = people[20 + i]
        plan.cancelled_duplicate(
            phones[original.ward][1 - (20 + i) % 2],
            original,
            plan.day_between(date(2026, 10, 1), date(2026, 11, 20)),
        )
    # anonymous contacts (counted in I2 only)
    for i in range(20):
        ward = wards[i % len(wards)]
        plan.contact(
            None,
            plan.day_between(date(2026, 1, 5), date(2026, 11, 25)),
            topics="giam_hai hiv_sti",
            services="xn_hiv",
            phone=phones[ward][i % 2],
            ward=ward,
            late=i % 9 == 0,
        )
    # more contacts of registered people: several events per person
    for i in range(25):
        client = people[rng.randrange(150)]
        plan.contact(
            client,
            plan.day_between(date(2026, 10, 1), date(2026, 11, 25)),
            topics=rng.choice(["giam_hai", "prep", "dieu_tri_nghien viec_lam"]),
            services=rng.choice(["", "xn_hiv", "mmt"]),
            late=i % 10 == 0,
        )

    def after_registration(client: Client) -> date:
        first = max(date(2026, 1, 5), _registered(plan, client) + timedelta(days=1))
        return plan.day_between(first, min(first + timedelta(days=60), date(2026, 11, 10)))

    sets = {
        "xn_hiv": range(0, 118),
        "prep": range(0, 12),  # all of them also referred to HIV testing
        "mmt": range(40, 134),
        "cat_con": range(76, 163),
        "cai_nghien": range(145, 155),  # all of them also referred to detox
        "hoc_nghe": range(100, 161),
        "kham_sk": range(0, 10),
        "phap_ly": range(160, 166),
    }
    for service, indices in sets.items():
        for i in indices:
            client = people[i]
            ref = plan.refer(client, service, after_registration(client))
            _referral_outcome(plan, rng, ref, i)
    for i in range(5):  # a retest months later: the same person again
        client = people[i]
        plan.refer(client, "xn_hiv", plan.day_between(date(2026, 10, 15), date(2026, 11, 15)))

    # five duplicates: the same person registered again by the ward's other phone, referred
    # again under the new record, then merged into the first (F7 trung_ma, gop_vao)
    for k, i in enumerate(range(76, 81)):
        original = people[i]
        other_phone = phones[original.ward][1 - i % 2]
        day = plan.day_between(date(2026, 10, 1), date(2026, 10, 20))
        dup = plan.register(other_phone, original.ward, "canh_sat", day, same_as=original)
        plan.contact(dup, day + timedelta(days=1), topics="dieu_tri_nghien", phone=other_phone)
        service = ("xn_hiv", "mmt", "cat_con")[k % 3]
        plan.refer(dup, service, day + timedelta(days=2), phone=other_phone)
        plan.status(dup, day + timedelta(days=20), "trung_ma", into=original)


def _registered(plan: Plan, client: Client) -> date:
    for event in plan.events:
        if event.entity and event.entity[1] is client and event.form_id == "f1_dang_ky":
            return event.day
    raise KeyError(client.uuid)


def _referral_outcome(plan: Plan, rng: random.Random, ref: Referral, i: int) -> None:
    """About half the referrals get an outcome back; vocational training is never received
    within the year in this model (so I15 is the post-rehab models' alone)."""
    roll = rng.random()
    day = min(ref.day + timedelta(days=rng.randint(1, 20)), LAST_DAY)
    if ref.service == "hoc_nghe":
        if roll < 0.3:
            plan.outcome(ref, day, rng.choice(["da_den", "chua_den", "tu_choi"]))
        return
    if roll < 0.25:
        plan.outcome(ref, day, "da_nhan", served=day, late=i % 11 == 0)
    elif roll < 0.3:  # arrived, then served: the latest outcome counts
        plan.outcome(ref, day, "da_den")
        later = min(day + timedelta(days=7), LAST_DAY)
        plan.outcome(ref, later, "da_nhan", served=later)
    elif roll < 0.4:
        plan.outcome(ref, day, rng.choice(["chua_den", "tu_choi", "mat_lien_lac"]))
    # else: no outcome received


def _post_rehab(plan: Plan, rng: random.Random, phones: dict) -> None:
    """290 people under post-rehab management, registered in 2025; in 2026 jobs (267 people),
    loans (114, 4,099 million VND) and vocational training (53 started)."""
    wards = list(POST_REHAB_WARDS)
    clients: list[Client] = []
    for i in range(290):
        ward = wards[i % len(wards)]
        clients.append(
            plan.register(
                phones[ward][i % 2],
                ward,
                POST_REHAB_WARDS[ward],
                plan.day_between(date(2025, 1, 10), date(2025, 9, 30)),
                sau_cai=True,
            )
        )
    # support received on each person's visits: {client index: {support: extra answers}}
    on_visit: dict[int, dict[str, dict]] = {i: {} for i in range(290)}
    q4_2025 = (date(2025, 10, 1), date(2025, 12, 15))

    def f4(client: Client, service: str, served: date, kq: str = "da_nhan", **extra) -> None:
        ref = plan.refer(client, service, plan.day_between(*q4_2025))
        if rng.random() < 0.1 and kq == "da_nhan":  # chased once before it came through
            plan.outcome(ref, ref.day + timedelta(days=10), "chua_den")
        plan.outcome(ref, served, kq, served=served if kq == "da_nhan" else None, **extra)

    def day2026(first=date(2026, 1, 5), last=date(2026, 10, 31)) -> date:
        return plan.day_between(first, last)

    # jobs, I13 = 267: 60 by the referrer only, 27 by both, 180 by the volunteer only
    for i in range(0, 87):
        f4(clients[i], "viec_lam", day2026(), loai_viec=rng.choice(["co_viec", "thoi_vu"]))
    for i in range(60, 267):
        on_visit[i]["viec_lam"] = {}
    for i in range(267, 277):  # placed in December 2025: not this year
        f4(clients[i], "viec_lam", date(2025, 12, rng.randint(16, 31)), loai_viec="co_viec")
    for i in range(277, 287):  # not received
        f4(clients[i], "viec_lam", day2026(), kq=rng.choice(["chua_den", "tu_choi"]))

    # loans, I14 = 114 people, one loan each: 30 by the referrer, 24 by both, 60 by the volunteer
    order = list(range(290))
    rng.shuffle(order)
    loan_people = order[:114]
    amounts = _amounts(rng, 114, EXPECTED["I14:amount"], 10, 80)
    for k, i in enumerate(loan_people):
        paid = day2026()
        amount = str(amounts[k])
        if k < 54:  # the referrer's record (F4): its amount counts
            f4(
                clients[i],
                "vay_von",
                paid,
                tien_vay=amount,
                ngay_giai_ngan=_iso(paid),
                nguon_von="nhcsxh",
            )
        if k >= 30:  # the volunteer's record (F5), the same loan for k < 54
            told = amount if k < 42 or k >= 54 else str(amounts[k] + 5)  # a rough figure
            on_visit[i]["vay_von"] = {
                "tien_vay": told,
                "ngay_giai_ngan": _iso(paid),
                "_after": paid,
                "_twice": 100 <= k < 106,
            }
    for i in order[114:122]:  # paid out in 2025, told on a 2026 visit: not this year
        on_visit[i]["vay_von"] = {
            "tien_vay": "30",
            "ngay_giai_ngan": _iso(date(2025, 12, rng.randint(1, 28))),
        }
    for i in order[122:127]:  # not granted
        f4(clients[i], "vay_von", day2026(), kq="khong_du_dk")

    # vocational training, I15 = 53: 15 by the referrer, 8 by both, 30 by the volunteer
    rng.shuffle(order)
    training = order[:53]
    for k, i in enumerate(training):
        start = day2026()
        if k < 23:
            f4(
                clients[i],
                "hoc_nghe",
                start,
                ten_nghe="May công nghiệp",
                so_thang="6",
                tt_hoc="dang_hoc",
            )
        if k >= 15:
            on_visit[i]["hoc_nghe"] = {"ngay_bd_hoc_nghe": _iso(start), "_after": start}
    for i in order[53:59]:  # started in 2025
        on_visit[i]["hoc_nghe"] = {"ngay_bd_hoc_nghe": _iso(date(2025, 11, rng.randint(1, 30)))}
    for i in order[59:63]:  # started (F4) in December 2025
        f4(clients[i], "hoc_nghe", date(2025, 12, rng.randint(16, 31)), tt_hoc="dang_hoc")

    # the visits: 1-3 per person in 2026; the support told rides on one of them (two for a
    # few loans), the others are plain visits, some not met
    for i, client in enumerate(clients):
        support = on_visit[i]
        after = max(
            [s.get("_after", date(2026, 1, 5)) for s in support.values()], default=date(2026, 1, 5)
        )
        carrying = plan.day_between(after, min(after + timedelta(days=40), date(2026, 11, 20)))
        extra: dict = {}
        for answers in support.values():
            extra |= {k: v for k, v in answers.items() if not k.startswith("_")}
        if support:
            plan.visit(client, carrying, tuple(support), late=i % 13 == 0, **extra)
            if support.get("vay_von", {}).get("_twice"):
                again = min(carrying + timedelta(days=30), date(2026, 11, 25))
                plan.visit(
                    client,
                    again,
                    ("vay_von",),
                    tien_vay=extra["tien_vay"],
                    ngay_giai_ngan=extra["ngay_giai_ngan"],
                )
        for _ in range(rng.choice([0, 0, 1]) if support else 1):
            plan.visit(
                client,
                plan.day_between(date(2026, 1, 5), date(2026, 11, 20)),
                met=rng.random() < 0.8,
            )
    # group sessions of the B93 club
    b93 = [c for c in clients if c.ward == "00331"]
    for month in range(1, 12):
        people = rng.sample(b93, 8)
        plan.session(
            phones["00331"][0], "00331", "B93-00331", date(2026, month, 12), people, late=month == 3
        )
    # closures and moves at the end of the year
    for client in clients[280:284]:
        plan.status(client, date(2026, 11, 28), "hoan_thanh_qlsc")
    for client in clients[284:286]:
        plan.status(client, date(2026, 11, 29), "doi_dia_ban", new_ward="00008")


def _other_province(plan: Plan, rng: random.Random, phones: dict) -> None:
    """Đắk Lắk's project: the same kinds of events, none of which may count in Hà Nội's."""
    for i in range(30):
        ward = OTHER_PROVINCE_WARDS[i % 2]
        client = plan.register(
            phones[ward][0], ward, "canh_sat", plan.day_between(date(2026, 1, 5), date(2026, 6, 30))
        )
        ref = plan.refer(
            client,
            rng.choice(["xn_hiv", "mmt", "cat_con"]),
            plan.day_between(date(2026, 7, 1), date(2026, 9, 30)),
        )
        if i % 2:
            plan.outcome(
                ref, ref.day + timedelta(days=5), "da_nhan", served=ref.day + timedelta(days=5)
            )
    for i in range(12):
        ward = OTHER_PROVINCE_WARDS[i % 2]
        client = plan.register(
            phones[ward][0],
            ward,
            "tnv",
            plan.day_between(date(2025, 3, 1), date(2025, 9, 30)),
            sau_cai=True,
        )
        paid = plan.day_between(date(2026, 2, 1), date(2026, 9, 30))
        plan.visit(
            client,
            paid + timedelta(days=3),
            ("viec_lam", "vay_von", "hoc_nghe"),
            tien_vay="50",
            ngay_giai_ngan=_iso(paid),
            ngay_bd_hoc_nghe=_iso(paid),
        )
