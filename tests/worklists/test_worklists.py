"""The five work lists' rules, on the real forms sent as Collect sends them, read through the
service and the REST API: who is listed, who is not, another ward's rows never, and a
referral leaving the overdue list when its F4 outcome arrives."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from server.auth.permissions import Principal
from server.services import worklists
from tests.indicators import programme as p

WARD, OTHER = "00004", "00008"  # the ward supervisor's ward, and one that is not
TODAY = worklists.local_today()


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


def register(site, ward: str = WARD, **kw) -> str:
    client = p.new_id()
    site.submit(p.f1(p.new_id(), client, ago(200), ward=ward, **kw))
    return client


def refer(site, client: str, due_days_ago: int, ward: str = WARD, service: str = "xn_hiv") -> str:
    referral = p.new_id()
    site.submit(
        p.f3(p.new_id(), referral, client, service, ago(due_days_ago + 14), ward, ago(due_days_ago))
    )
    return referral


def rows(place, name: str, who: str = "manager", **params) -> list[dict]:
    """The rows of a work list, as ``who`` reads them through the API (``place``: the site)."""
    reply = place.get(f"/worklists/{name}", who, limit=1000, **params)
    assert reply.status_code == 200, reply.text
    return reply.json()["rows"]


@pytest.fixture(scope="module")
def seeded(site):
    c = {name: register(site) for name in ("referred", "other_served", "other_waiting")}
    c["far"] = register(site, OTHER)
    refs = {
        "overdue": refer(site, c["referred"], 6),
        "not_yet": refer(site, c["referred"], -5),
        "served": refer(site, c["other_served"], 10),
        "went": refer(site, c["other_waiting"], 3),
        "far": refer(site, c["far"], 8, ward=OTHER),
    }
    site.submit(p.f4(p.new_id(), refs["served"], "xn_hiv", ago(9), ward=WARD))
    site.submit(p.f4(p.new_id(), refs["went"], "xn_hiv", ago(2), outcome="da_den", ward=WARD))
    # post-rehab: met 40 days ago; met 5 days ago; only a visit where they were not met
    for key, visits in {
        "stale": [(40, "co")],
        "fresh": [(5, "co")],
        "unmet": [(3, "khong")],
    }.items():
        c[key] = register(site, post_rehab=True, rehab_end=ago(100), groups="sau_cai")
        for days, met in visits:
            site.submit(p.f5(p.new_id(), c[key], ago(days), met=met, ward=WARD))
    c["far_rehab"] = register(site, OTHER, post_rehab=True, rehab_end=ago(100), groups="sau_cai")
    # status changes: paused, lost, moved away (closed, not lost)
    for key, reason in {
        "paused": "vao_co_so",
        "lost": "mat_lien_lac",
        "moved": "chuyen_di",
    }.items():
        c[key] = register(site)
        site.submit(p.f7(p.new_id(), c[key], ago(4), reason, ward=WARD))
    # appointments: one passed (an F2 naming yesterday), one to come
    c["missed"], c["booked"] = register(site), register(site)
    site.submit(
        p.f2(p.new_id(), c["missed"], ago(30), WARD).replace(b"2026-12-30", ago(1).encode())
    )
    future = (TODAY + timedelta(days=9)).isoformat().encode()
    site.submit(p.f2(p.new_id(), c["booked"], ago(2), WARD).replace(b"2026-12-30", future))
    return c, refs


def test_overdue_referrals_follow_dq1(site, seeded):
    c, refs = seeded
    listed = {r["referral"]: r for r in rows(site, "overdue_referrals", ward=WARD)}
    assert refs["overdue"] in listed
    assert refs["went"] in listed
    assert refs["not_yet"] not in listed
    assert refs["served"] not in listed
    row = listed[refs["overdue"]]
    assert row["client"] == c["referred"]
    assert row["what"] == "Xét nghiệm HIV"  # the service's label from F3's choices, not xn_hiv
    assert row["daysLate"] == 6
    assert row["day"] == ago(6)
    assert row["dayText"] == (TODAY - timedelta(days=6)).strftime("%d/%m/%Y")
    assert row["wardName"]
    assert row["wardName"] != WARD


def test_a_referral_sent_twice_is_listed_once(site, seeded):
    """Two F3 submissions naming one referral (sent again from another phone, or re-entered):
    one row, dated by the F3 received first."""
    client = register(site)
    referral = refer(site, client, 9)
    site.submit(p.f3(p.new_id(), referral, client, "xn_hiv", ago(20), WARD, ago(4)))
    listed = [r for r in rows(site, "overdue_referrals", ward=WARD) if r["referral"] == referral]
    assert [r["day"] for r in listed] == [ago(9)]


def test_another_wards_rows_are_never_listed(site, seeded):
    c, refs = seeded
    for name in worklists.NAMES:
        mine = rows(site, name, "ward_supervisor")
        assert all(r["ward"] == WARD for r in mine), name
        assert c["far"] not in {r["client"] for r in mine}
    assert refs["far"] in {r["referral"] for r in rows(site, "overdue_referrals", "manager")}
    assert c["far_rehab"] in {r["client"] for r in rows(site, "post_rehab_unvisited")}
    refused = site.get("/worklists/overdue_referrals", "ward_supervisor", ward=OTHER)
    assert refused.status_code == 403
    assert refused.json()["code"] == 403.1
    counts = site.get("/worklists", "ward_supervisor", ward=OTHER)
    assert counts.status_code == 403


def test_a_referral_leaves_the_overdue_list_when_its_outcome_arrives(site, seeded):
    c = register(site)
    referral = refer(site, c, 2)
    assert referral in {r["referral"] for r in rows(site, "overdue_referrals", "ward_supervisor")}
    site.submit(p.f4(p.new_id(), referral, "xn_hiv", ago(0), ward=WARD))
    assert referral not in {
        r["referral"] for r in rows(site, "overdue_referrals", "ward_supervisor")
    }


def test_post_rehab_clients_not_met_for_30_days(site, seeded):
    c, _ = seeded
    listed = {r["client"]: r for r in rows(site, "post_rehab_unvisited", ward=WARD)}
    assert c["stale"] in listed
    assert c["unmet"] in listed
    assert c["fresh"] not in listed
    assert c["referred"] not in listed
    assert listed[c["stale"]]["since"] == ago(40)
    assert listed[c["stale"]]["day"] == ago(10)  # the visit was due 30 days after the last
    assert listed[c["unmet"]]["since"] is None  # never met: due 30 days after rehab ended
    assert listed[c["unmet"]]["day"] == ago(70)


def test_a_visit_recorded_on_a_merged_record_counts_for_the_one_kept(site, seeded):
    """A volunteer met the person 3 days ago under a duplicate record, later merged (F7,
    trung_ma) into the record kept: the kept one is not listed as unvisited."""
    kept = register(site, post_rehab=True, rehab_end=ago(100), groups="sau_cai")
    twin = register(site, post_rehab=True, rehab_end=ago(100), groups="sau_cai")
    alone = register(site, post_rehab=True, rehab_end=ago(100), groups="sau_cai")
    site.submit(p.f5(p.new_id(), twin, ago(3), met="co", ward=WARD))
    site.submit(p.f7(p.new_id(), twin, ago(2), "trung_ma", merge_into=kept, ward=WARD))
    listed = {r["client"] for r in rows(site, "post_rehab_unvisited", ward=WARD)}
    assert alone in listed  # never met: listed (the test can fail)
    assert kept not in listed
    assert twin not in listed  # merged away: no longer a client of its own


def test_clients_paused_or_lost(site, seeded):
    c, _ = seeded
    listed = {r["client"]: r for r in rows(site, "paused_or_lost", ward=WARD)}
    assert set(listed) >= {c["paused"], c["lost"]}
    assert c["moved"] not in listed
    assert listed[c["paused"]]["what"].startswith("Tạm dừng")
    assert listed[c["lost"]]["what"].startswith("Mất liên lạc")
    english = {r["client"]: r for r in rows(site, "paused_or_lost", ward=WARD, lang="en")}
    assert english[c["lost"]]["what"].startswith("Lost to follow-up")


def test_missed_appointments(site, seeded):
    c, _ = seeded
    listed = {r["client"]: r for r in rows(site, "missed_appointments", ward=WARD)}
    assert c["missed"] in listed
    assert c["booked"] not in listed
    assert listed[c["missed"]]["day"] == ago(1)
    assert listed[c["missed"]]["since"] == ago(30)
    closed = {c["paused"], c["lost"], c["moved"]}
    assert not closed & set(listed)


def test_submissions_waiting_for_review_leave_once_reviewed(site, seeded):
    c, _ = seeded
    waiting = rows(site, "awaiting_review", "ward_supervisor")
    forms = {r["xmlFormId"] for r in waiting}
    assert {"f1_dang_ky", "f3_chuyen_gui", "f5_tham_nha", "f7_cap_nhat"} <= forms
    f5 = next(r for r in waiting if r["xmlFormId"] == "f5_tham_nha")
    assert f5["client"] in (c["stale"], c["fresh"], c["unmet"])
    assert f5["what"]
    reply = requests.patch(
        f"{site.url}/v1/projects/{site.project_id}/forms/f5_tham_nha/submissions/{f5['instanceId']}",
        json={"reviewState": "approved"},
        headers={"Authorization": f"Bearer {site.tokens['manager']}"},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    after = {r["instanceId"] for r in rows(site, "awaiting_review", "ward_supervisor")}
    assert f5["instanceId"] not in after
    assert len(after) == len(waiting) - 1


def test_counts_match_the_lists_and_bad_input_is_refused(site, seeded):
    reply = site.get("/worklists", "ward_supervisor")
    assert reply.status_code == 200
    counts = {x["name"]: x["count"] for x in reply.json()}
    assert set(counts) == set(worklists.NAMES)
    for name, count in counts.items():
        assert count == len(rows(site, name, "ward_supervisor")), name
    assert site.get("/worklists/nothing").status_code == 404
    bad = site.get("/worklists/overdue_referrals", ward="99999")
    assert bad.status_code == 400
    assert "99999" in bad.json()["message"]
    assert site.get("/worklists/overdue_referrals", limit="x").status_code == 400
    assert site.get("/worklists", "collector").status_code == 403


def test_the_service_scope_alone(site, seeded):
    """The service, called as the CLI or a test would: a ward-scoped principal's rows."""
    _c, refs = seeded
    principal = Principal(
        None, "user", ward_roles=frozenset({("supervisor", site.project_id, WARD)})
    )
    with site.db.transaction() as session:
        where = worklists.where_of(session, principal, site.project_id)
        page = worklists.worklist(
            session, principal, site.project_id, "overdue_referrals", where, TODAY, limit=1000
        )
    assert refs["overdue"] in {r.referral for r in page.rows}
    assert refs["far"] not in {r.referral for r in page.rows}
    assert page.total == len(page.rows)


def test_the_overdue_list_counts_what_dq1_counts(site, seeded):
    """The work list and the indicator engine share DQ1's rule: over a range holding every
    referral, the ward's DQ1 is the list's length (for the ward, and the whole project)."""
    span = {"from": ago(365), "to": TODAY.isoformat()}
    for params in ({"ward": WARD}, {"ward": OTHER}, {}):
        dq1 = site.value("DQ1", **span, **params)
        assert dq1 == len(rows(site, "overdue_referrals", **params)), params
    assert site.value("DQ1", **span, ward=WARD) >= 2


def test_a_counselling_point_lists_the_referrals_sent_to_it(site, seeded):
    """A site (a facility code): the referrals sent there (F3 ``co_so``: VCT-01 in every
    referral here), and its ward's clients in the client lists."""
    from server.auth.permissions import SYSTEM
    from server.services import entity_api

    _c, refs = seeded
    with site.db.transaction() as session:
        entity_api.create_entities(
            session, SYSTEM, site.project_id, "facilities",
            [{"uuid": "VCT-01", "label": "Phòng tư vấn 1", "data": {"ma_xa": WARD}},
             {"uuid": "OPC-09", "label": "Phòng khám 9", "data": {"ma_xa": OTHER}}],
        )  # fmt: skip
    sent = {r["referral"] for r in rows(site, "overdue_referrals", site="VCT-01")}
    assert refs["overdue"] in sent
    assert refs["far"] in sent  # sent there from another ward: the manager sees it
    assert not rows(site, "overdue_referrals", site="OPC-09")
    assert {r["ward"] for r in rows(site, "missed_appointments", site="VCT-01")} == {WARD}
    assert {r["ward"] for r in rows(site, "post_rehab_unvisited", site="OPC-09")} == {OTHER}
    mine = {
        r["referral"] for r in rows(site, "overdue_referrals", "ward_supervisor", site="VCT-01")
    }
    assert refs["far"] not in mine
    assert site.get("/worklists", site="NOPE-1").status_code == 400
