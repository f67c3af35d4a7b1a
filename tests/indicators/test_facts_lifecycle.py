"""The facts follow their submission: a late submission changes a closed month on the next
request, an edit replaces the facts, a deleted or rejected submission is not counted and a
restored or re-approved one is again. Through the real OpenRosa endpoint and the REST API."""

from __future__ import annotations

import openpyxl
import requests
from sqlalchemy import func, select

from server.models.indicators import IndicatorFact
from server.services import indicator_catalogue
from tests.indicators import programme as p

JAN = {"from": "2026-01-01", "to": "2026-01-31"}
FEB = {"from": "2026-02-01", "to": "2026-02-28"}


def iid() -> str:
    return f"uuid:{p.new_id()}"


def test_a_late_submission_changes_a_closed_month(site):
    ward = "00136"
    before = site.report(**JAN, ward=ward)
    assert before["I2"]["value"] == 0
    # sent in December for an event of January: January's figure changes
    site.submit(p.f1(iid(), p.new_id(), "2026-01-10", ward=ward))
    after = site.report(**JAN, ward=ward)
    assert after["I2"]["value"] == 1
    assert after["I3"]["value"] == 1


def anonymous(site, ward: str, path: str, **params):
    reply = site.get(path, **params, ward=ward)
    assert reply.status_code == 200, reply.text
    return {i["code"]: i for i in reply.json()["indicators"]}["I2:anonymous"]["value"]


def test_an_edit_replaces_the_facts(site):
    ward = "00145"
    first = iid()
    site.submit(p.f2(first, None, "2026-01-10", ward=ward))
    assert anonymous(site, ward, "/indicators", **JAN) == 1
    site.submit(p.f2(iid(), None, "2026-02-10", ward=ward, deprecated=first))  # the edit
    assert anonymous(site, ward, "/indicators", **JAN) == 0
    assert anonymous(site, ward, "/indicators", **FEB) == 1
    with site.db.transaction(write=False) as session:
        rows = session.scalar(
            select(func.count()).select_from(IndicatorFact).where(IndicatorFact.ma_xa == ward)
        )
    assert rows == 1  # one row per submission, not per version


def test_delete_removes_restore_brings_back_rejection_excludes(site):
    ward = "00160"
    instance = iid()
    site.submit(p.f2(instance, None, "2026-01-10", ward=ward))
    base = f"{site.url}/v1/projects/{site.project_id}/forms/f2_gap_go/submissions/{instance}"
    auth = {"Authorization": f"Bearer {site.tokens['manager']}"}
    assert requests.delete(base, headers=auth, timeout=10).status_code == 200
    assert anonymous(site, ward, "/indicators", **JAN) == 0
    assert requests.post(f"{base}/restore", headers=auth, timeout=10).status_code == 200
    assert anonymous(site, ward, "/indicators", **JAN) == 1
    review = requests.patch(base, headers=auth, json={"reviewState": "rejected"}, timeout=10)
    assert review.status_code == 200, review.text
    assert anonymous(site, ward, "/indicators", **JAN) == 0
    review = requests.patch(base, headers=auth, json={"reviewState": "approved"}, timeout=10)
    assert review.status_code == 200, review.text
    assert anonymous(site, ward, "/indicators", **JAN) == 1


def test_the_catalogue_has_every_service_of_the_referral_form():
    sheet = openpyxl.load_workbook(p.FORMS / "f3_chuyen_gui.xlsx")["choices"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r, strict=False)) for r in sheet.iter_rows(2, values_only=True)]
    services = [r["name"] for r in rows if r["list_name"] == "dich_vu"]
    assert list(indicator_catalogue.SERVICE_CODES) == services
    labels = {r["name"]: r["label::Tiếng Việt (vi)"] for r in rows if r["list_name"] == "dich_vu"}
    assert {s: vi for s, vi, _ in indicator_catalogue.SERVICES} == labels
    for s in services:
        assert indicator_catalogue.is_known(f"I4:{s}")
        assert indicator_catalogue.is_known(f"I5:{s}")
    assert indicator_catalogue.is_known("I4:dieu_tri_nghien")
    assert not indicator_catalogue.is_known("I4:nothing")
    codes = [i.code for i in indicator_catalogue.CATALOGUE]
    assert len(codes) == len(set(codes))


def test_odd_answers_never_fail_the_intake():
    """What a device may send that the form's constraints would refuse: the facts keep what
    fits (a head count bounded, a non-number or an impossible date left empty)."""
    from forms import read_instance
    from server.services.indicator_facts import facts_of

    session = p.f6("uuid:x", "2026-02-30", ["UUID:" + p.new_id().upper()], men=10**15)
    facts = facts_of("f6_sinh_hoat", read_instance(session).root)
    assert facts["day"] is None
    assert facts["n_tham_gia"] == 100_000
    assert facts["ds"] == facts["ds"].lower()
    assert not facts["ds"].startswith("uuid:")
    loan = p.f4("uuid:y", p.new_id(), "vay_von", "2026-02-03").replace(
        b"<tien_vay/>", b"<tien_vay>nhieu</tien_vay>"
    )
    assert facts_of("f4_ket_qua_cg", read_instance(loan).root)["tien_vay"] is None
    assert facts_of("visit", read_instance(loan.replace(b"f4_ket_qua_cg", b"visit")).root) is None
