"""A small programme month sent once per module through the real OpenRosa endpoint with the
real forms (xlsforms/f1..f3, published by `flask init`): two wards of Hà Nội, clients
registered by each ward's phone (with their sex, age and client groups), contacts and
referrals; and users of each role logged in through the login page.

Ward 00118 (Phường Bồ Đề, "tiep_can"): six clients, four men and two women, three of them
referred to HIV testing. Ward 00004 (Phường Ba Đình, "canh_sat"): three clients, all men.
Everything happens in November 2026."""

from __future__ import annotations

import io
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.forms import Form, FormVersion
from server.models.indicators import PlanTarget
from server.services import app_users, projects, users
from tests.conftest import empty_all_tables
from tests.support.programme_app import programme_app
from tests.web.conftest import Browser, log_in

XLSFORMS = Path(__file__).resolve().parents[2] / "xlsforms"
XF = "{http://www.w3.org/2002/xforms}"
PASSWORD = "correct horse battery"
MONTH = {"period": "chosen_month", "month": "2026-11"}
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)
BODE, BADINH = "00118", "00004"


class Templates:
    """Instances built from each published form's own primary instance (every field in its
    place, empty unless answered), serialised without the XForms namespace as Collect does."""

    def __init__(self, xforms: dict[str, bytes]):
        self.roots = {}
        for form_id, xml in xforms.items():
            instance = etree.fromstring(xml).find(f".//{XF}model/{XF}instance")
            self.roots[form_id] = instance[0]

    def build(self, form_id: str, answers: dict[str, str], instance_id: str, entity=None) -> bytes:
        root = etree.fromstring(etree.tostring(self.roots[form_id]))
        for el in root.iter():
            if isinstance(el.tag, str) and el.tag.startswith("{"):
                el.tag = el.tag.split("}", 1)[1]
        etree.cleanup_namespaces(root)
        leaves = {el.tag: el for el in root.iter() if len(el) == 0 and el.tag != "label"}
        for name, value in answers.items():
            leaves[name].text = value  # KeyError: the form has no such field
        meta = root.find("meta")
        meta.find("instanceID").text = instance_id
        node = meta.find("entity")
        if node is not None and entity:
            for key, value in entity.items():
                if key == "label":
                    node.find("label").text = value
                else:
                    node.set(key, value)
        return etree.tostring(root, encoding="utf-8", xml_declaration=True)


@dataclass
class Month:
    """What the module sent: the project, its phones' submissions and the users."""

    app: object
    project_id: int
    clients: dict[str, list[str]] = field(default_factory=dict)  # ward -> entity uuids
    instances: dict[str, list[str]] = field(default_factory=dict)  # ward -> instance ids
    emails: dict[str, str] = field(default_factory=dict)

    def browser(self, who: str) -> Browser:
        client = self.app.test_client()
        response = log_in(client, self.emails[who], PASSWORD)
        assert response.status_code == 302, response.text
        home = client.get("/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
        return Browser(client, token.group(1) if token else "")

    def principal(self, who: str):
        with self.app.extensions["donghanh"].db.transaction(write=False) as session:
            return users.principal_for_user(session, users.find_user(session, self.emails[who]))


def _submit(client, token: str, project_id: int, xml: bytes) -> None:
    response = client.post(
        f"/v1/key/{token}/projects/{project_id}/submission",
        query_string={"deviceID": f"collect:{token[:8]}"},
        headers={
            "X-OpenRosa-Version": "1.0",
            "Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
        },
        data={"xml_submission_file": (io.BytesIO(xml), "instance.xml", "text/xml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_data(as_text=True)


PEOPLE = {  # ward -> (model, [(sex, birth year, client groups, referred to HIV testing)])
    BODE: ("tiep_can", [("1", "1990", "sd_mt", True), ("1", "1985", "sd_mt tiem_chich", True),
                        ("1", "2000", "sau_cai", True), ("1", "1975", "sd_mt", False),
                        ("2", "1995", "ban_dam", False), ("2", "1988", "sd_mt", False)]),
    BADINH: ("canh_sat", [("1", "1992", "sd_mt", True), ("1", "1980", "sau_cai", False),
                          ("1", "1999", "sd_mt", False)]),
}


def _send_month(app, project_id: int, month: Month) -> None:
    ext = app.extensions["donghanh"]
    with ext.db.transaction(write=False) as session:  # the published XForms phones download
        xforms = dict(
            session.execute(
                select(Form.xml_form_id, FormVersion.xml)
                .join(FormVersion, FormVersion.id == Form.current_version_id)
                .where(Form.project_id == project_id)
            ).all()
        )
    templates = Templates(xforms)
    client = app.test_client()
    for ward, (model, people) in PEOPLE.items():
        with ext.db.transaction() as session:
            phone = app_users.create_app_user(session, SYSTEM, project_id, f"TNV {ward}",
                                              all_forms=True)
            app_users.set_wards(session, SYSTEM, phone.actor_id, [ward])
        hdr = {"ma_tinh": "01", "ma_xa": ward, "mo_hinh": model}
        for i, (sex, year, groups, referred) in enumerate(people):
            entity_id, uic = str(uuid.uuid4()), f"LA{ward[-2:]}{sex}{i:02d}{year}"
            day = f"2026-11-{3 + i:02d}"
            f1 = templates.build(
                "f1_dang_ky",
                {**hdr, "ngay": day, "nguon_gioi_thieu": "tu_den", "dong_y": "co",
                 "me_2": "la", "bo_2": "hu", "gioi": sex, "biet_ngay_sinh": "khong",
                 "nam_sinh": year, "nam_sinh_tinh": year, "uic": uic, "uic_cuoi": uic,
                 "so_trung": "0", "nhom_dt": groups, "sau_cai": "khong",
                 "tuoi": str(2026 - int(year)), "trang_thai": "mo", "so_lan_tx": "0"},
                f"uuid:{uuid.uuid4()}",
                {"create": "1", "id": entity_id, "label": f"{uic} · {year} · {ward}"},
            )
            _submit(client, phone.token, project_id, f1)
            month.clients.setdefault(ward, []).append(entity_id)
            f2_id = f"uuid:{uuid.uuid4()}"
            f2 = templates.build(
                "f2_gap_go",
                {**hdr, "ngay": day, "co_ma": "co", "kh": entity_id, "hinh_thuc": "cong_dong",
                 "chu_de": "hiv_sti", "n_tx": "1", "ngay_tx": day},
                f2_id,
                {"update": "1", "baseVersion": "1", "id": entity_id},
            )
            _submit(client, phone.token, project_id, f2)
            month.instances.setdefault(ward, []).append(f2_id)
            if referred:
                f3 = templates.build(
                    "f3_chuyen_gui",
                    {**hdr, "ngay": day, "kh": entity_id, "uic_kh": uic, "dv": "xn_hiv",
                     "cach": "dua_di", "han_xac_nhan": "2026-12-31", "tt": "da_chuyen"},
                    f"uuid:{uuid.uuid4()}",
                    {"create": "1", "id": str(uuid.uuid4()), "label": f"{uic} → xn_hiv"},
                )
                _submit(client, phone.token, project_id, f3)


@pytest.fixture(scope="module")
def month(migrated, tmp_path_factory):
    """The app on its own database, with the month sent once for the module's tests."""
    tmp = tmp_path_factory.mktemp("dashboard")
    app = programme_app(migrated, tmp, init=True)
    settings = app.extensions["donghanh"].settings
    db = app.extensions["donghanh"].db
    with db.transaction() as session:
        project_id = projects.list_projects(session)[0].id
    found = Month(app, project_id)
    with db.transaction() as session:
        for who, role, wards in (
            ("supervisor", "supervisor", ()),
            ("ward_supervisor", "supervisor", (BODE,)),
            ("viewer", "viewer", ()),
            ("collector", "collector", ()),
        ):
            found.emails[who] = f"{who}@example.org"
            users.create_user(session, None, found.emails[who], PASSWORD,
                              settings.digest_realm, role, project_id, wards, digest=False)
        session.add_all(
            [
                PlanTarget(project_id=project_id, scope_kind="project", scope_value="",
                           indicator="I1", period_kind="month", period_start=FIRST, planned=8),
                PlanTarget(project_id=project_id, scope_kind="project", scope_value="",
                           indicator="I1", period_kind="year", period_start=date(2026, 1, 1),
                           planned=150),
            ]
        )
    _send_month(app, project_id, found)
    yield found
    empty_all_tables(db)
    db.dispose()
