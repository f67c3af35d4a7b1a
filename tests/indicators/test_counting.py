"""Every indicator on a small hand-made programme month, sent through the real OpenRosa
endpoint with the real forms F1-F7 and read back through GET /v1/projects/{id}/indicators.

The month is January 2026 in ward 00118 (Phường Bồ Đề), with February and March for what
comes after (outcomes, initiations, closures). The people, named by letter below, are built
so that a wrong formula gives another number: a duplicate registration merged into its
original (A2 into A), a person with several events, anonymous contacts, a referral on 31
January served in February, a second outcome replacing the first, a loan reported twice,
a closed client, a 26-year-old referred to schooling support, two volunteers' phones."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import update

from server.auth.permissions import SYSTEM
from server.models.entities import Entity
from server.services import app_users
from tests.indicators import programme as p
from tests.support.collect import Collect

W = "00118"
JAN = {"from": "2026-01-01", "to": "2026-01-31", "ward": W}
FEB = {"from": "2026-02-01", "to": "2026-02-28", "ward": W}
MAR = {"from": "2026-03-01", "to": "2026-03-31", "ward": W}


def iid() -> str:
    return f"uuid:{p.new_id()}"


@pytest.fixture(scope="module")
def people(site) -> dict[str, str]:
    names = ("A", "A2", "B", "C", "D", "E", "F", "G", "P", "Q1", "Q2", "N", "H", "S")
    ids = {k: p.new_id() for k in names}
    with site.db.transaction() as session:
        second = app_users.create_app_user(session, SYSTEM, site.project_id, "TNV Hoa", all_forms=True)
        app_users.set_wards(session, SYSTEM, second.actor_id, [W])
    other_phone = Collect(second.server_url(site.url))
    send = site.submit
    # December 2025: clients registered before the month
    send(p.f1(iid(), ids["E"], "2025-12-01", sex="1", birth_year=1985, groups="mmt"))
    send(p.f1(iid(), ids["F"], "2025-12-01", sex="2", birth_year=1995, groups="ban_dam",
              insured="khong"))  # fmt: skip
    send(p.f1(iid(), ids["G"], "2025-12-01", sex="1", birth_year=1980, insured="khong"))
    send(p.f1(iid(), ids["P"], "2025-12-01", sex="1", birth_year=1975, groups="sau_cai",
              post_rehab=True, rehab_end="2024-12-01", management_end="2025-12-31",
              insured="khong"))  # fmt: skip
    for q in ("Q1", "Q2"):  # the same UIC twice: a suspected duplicate (DQ2)
        send(p.f1(iid(), ids[q], "2025-12-02", sex="2", birth_year=1999, insured="khong",
                  uic="TRDU2000099"))  # fmt: skip
    # January registrations (F1): 7 rows, 5 consenting clients of whom A2 duplicates A
    send(p.f1(iid(), ids["A"], "2026-01-05", sex="1", birth_year=1990,
              groups="sd_mt tiem_chich", source="cong_an"))  # fmt: skip
    send(p.f1(iid(), ids["B"], "2026-01-06", sex="2", birth_year=2009, groups="sau_cai",
              post_rehab=True, rehab_end="2025-12-01", management_end="2026-12-01",
              insured="khong"))  # fmt: skip
    send(p.f1(iid(), ids["C"], "2026-01-07", sex="1", birth_year=1960, groups="msm",
              source="cong_an"))  # fmt: skip
    send(p.f1(iid(), ids["D"], "2026-01-08", sex="2", birth_year=2000, groups="sd_mt",
              post_rehab=True, rehab_end="2025-06-01", management_end="2026-06-01",
              insured="khong"))  # fmt: skip
    send(p.f1(iid(), ids["A2"], "2026-01-09", sex="1", birth_year=1990, uic="LAHU1000990X"))
    send(p.f1(iid(), ids["N"], "2026-01-10", consent="khong", source="cong_an"))
    send(p.f1(iid(), ids["H"], "2026-01-11", duplicate="huy"))
    # January contacts (F2): 6 rows, 2 anonymous
    send(p.f2(iid(), ids["A"], "2026-01-12"))
    send(p.f2(iid(), ids["A"], "2026-01-13"))
    send(p.f2(iid(), ids["A2"], "2026-01-14"))
    send(p.f2(iid(), None, "2026-01-15"))
    send(p.f2(iid(), None, "2026-01-15"))
    send(p.f2(iid(), ids["C"], "2026-01-16", topics=""))
    # February contacts of December's clients: E not counselled, G recommended a service
    send(p.f2(iid(), ids["E"], "2026-02-02", topics=""))
    send(p.f2(iid(), ids["G"], "2026-02-02", topics="", services="xn_hiv", insured="khong"))
    # referrals (F3) of January and their outcomes (F4)
    refs = {}

    def refer(name, who, service, day):
        refs[name] = p.new_id()
        send(p.f3(iid(), refs[name], ids[who], service, day))

    def outcome(name, service, day, **kw):
        send(p.f4(iid(), refs[name], service, day, **kw))

    refer("r1", "A", "xn_hiv", "2026-01-20")
    outcome("r1", "xn_hiv", "2026-01-25", hiv="duong_tinh")
    refer("r2", "A", "arv", "2026-01-26")
    outcome("r2", "arv", "2026-02-05", started="co", started_on="2026-02-10")
    refer("r3", "E", "mmt", "2026-01-31")  # served in February: January's cohort
    outcome("r3", "mmt", "2026-02-05", started="co", started_on="2026-02-05")
    refer("r4", "C", "cat_con", "2026-01-21")
    outcome("r4", "cat_con", "2026-01-22", outcome="chua_den")
    outcome("r4", "cat_con", "2026-03-10")  # received, but after 30 days
    refer("r5", "C", "cai_nghien", "2026-01-22")  # no outcome: overdue
    refer("r6", "D", "xn_hiv", "2026-01-23")
    outcome("r6", "xn_hiv", "2026-01-24", hiv="khong_chia_se", verified_by="kh_bao")
    refer("r7", "B", "hoc_nghe", "2026-01-24")
    outcome("r7", "hoc_nghe", "2026-02-01", training="dang_hoc")
    outcome("r7", "hoc_nghe", "2026-03-15", served="2026-02-01", training="hoan_thanh")
    refer("r8", "B", "vay_von", "2026-01-24")
    outcome("r8", "vay_von", "2026-02-03", loan=30, disbursed="2026-02-03")
    refer("r9", "D", "viec_lam", "2026-01-25")
    outcome("r9", "viec_lam", "2026-02-04")
    refer("r10", "B", "hoc_van_hoa", "2026-01-25")
    outcome("r10", "hoc_van_hoa", "2026-02-06")
    refer("r11", "D", "hoc_van_hoa", "2026-01-25")  # 26 years old: not schooling age
    outcome("r11", "hoc_van_hoa", "2026-02-06")
    refer("r12", "A", "bhyt", "2026-01-26")
    outcome("r12", "bhyt", "2026-02-07")
    refer("r13", "A", "prep", "2026-01-27")
    outcome("r13", "prep", "2026-01-29", started="co", started_on="2026-01-29")
    refer("r14", "C", "tam_than", "2026-01-28")
    outcome("r14", "tam_than", "2026-01-29", outcome="tu_choi")
    refer("r15", "F", "kham_sk", "2026-01-29")  # no outcome
    refer("r16", "G", "cai_nghien", "2026-01-30")  # not one of the 70 % list
    outcome("r16", "cai_nghien", "2026-01-31")
    # home visits (F5): January, then February from two phones
    send(p.f5(iid(), ids["B"], "2026-01-15", used="co", club="co"))
    send(p.f5(iid(), ids["D"], "2026-01-16", met="khong"))
    send(p.f5(iid(), ids["B"], "2026-02-10", used="khong", job="co_viec",
              support="viec_lam vay_von", loan=25, disbursed="2026-02-03"))  # fmt: skip
    send(p.f5(iid(), ids["D"], "2026-02-11", used="khong", job="thoi_vu", support="hoc_nghe",
              training_on="2026-02-11"))  # fmt: skip
    visit = p.f5(iid(), ids["D"], "2026-02-12", used="khong_tra_loi", job="khong_viec",
                 support="vay_von", loan=20, disbursed="2026-02-12")  # fmt: skip
    reply = other_phone.submit(visit)[0]
    assert reply.status == 201, reply.message
    # group sessions (F6)
    send(p.f6(iid(), "2026-01-18", [ids["B"], ids["D"]], men=5, women=3, other=1))
    send(p.f6(iid(), "2026-01-25", [ids["B"]], men=2))
    # status changes (F7): A2 merged into A; D lost to follow-up in February
    send(p.f7(iid(), ids["A2"], "2026-01-20", "trung_ma", merge_into=ids["A"]))
    send(p.f7(iid(), ids["D"], "2026-02-15", "mat_lien_lac"))
    # another ward's client (00004): never counted for ward 00118, alone for its supervisor
    send(p.f1(iid(), ids["S"], "2026-01-05", ward="00004", sex="2", birth_year=1992))
    send(p.f2(iid(), ids["S"], "2026-01-06", ward="00004"))
    return ids


def test_people_counted_once_after_merges(site, people):
    jan = site.report(**JAN)
    assert jan["I1"]["value"] == 7  # A (F1, F2 x2, its duplicate A2), B, C, D, E, F, G
    assert jan["I3"]["value"] == 4  # A, B, C, D: A2 is A, N gave no consent, H was a duplicate
    assert jan["I4"]["value"] == 7
    assert jan["I1"]["breakdown"]["sex"] == {"1": 4, "2": 3}
    # ages in 2026: B 17, D 26, F 31, A 36, E 41, G 46, C 66
    assert jan["I1"]["breakdown"]["ageGroup"] == {"<18": 1, "25-34": 2, "35-49": 3, "50+": 1}
    # a person counts in each of their groups: A is sd_mt and tiem_chich
    assert jan["I1"]["breakdown"]["group"]["tiem_chich"] == 1
    assert jan["I1"]["breakdown"]["group"]["sd_mt"] == 3  # A, D, G


def test_contacts_and_anonymous_contacts_only_in_i2(site, people):
    jan = site.report(**JAN)
    assert jan["I2"]["value"] == 13  # 7 registrations (with N and H) and 6 contacts
    assert jan["I2:anonymous"]["value"] == 2
    feb = site.report(**FEB)
    assert feb["I1"]["value"] == 1  # G was recommended a service; E was not counselled
    assert feb["I2"]["value"] == 2


def test_services_and_the_combined_addiction_treatment(site, people):
    jan = site.report(**JAN)
    assert jan["I4:xn_hiv"]["value"] == 2
    assert jan["I4:xn_hiv"]["referrals"] == 2
    assert jan["I4:cat_con"]["value"] == 1
    assert jan["I4:cai_nghien"]["value"] == 2  # C and G
    assert jan["I4:dieu_tri_nghien"]["value"] == 2  # C once, though referred to both
    assert jan["I4:mmt"]["value"] == 1  # E, referred on 31 January
    assert site.report(**FEB)["I4:mmt"]["value"] == 0


def test_referral_completion_by_cohort(site, people):
    jan = site.report(**JAN)
    hiv = jan["I5:xn_hiv"]
    assert (hiv["value"], hiv["numerator"], hiv["denominator"]) == (100.0, 2, 2)
    assert (hiv["verified"], hiv["selfReported"]) == (1, 1)
    assert jan["I5:mmt"]["value"] == 100.0  # referred 31 January, served 5 February
    assert jan["I5:cat_con"]["value"] == 0.0  # received after 30 days
    # every January referral: 16, served within 30 days: r1 r2 r3 r6 r7 r8 r9 r10 r11 r12
    # r13 r16 (12)
    assert (jan["I5"]["numerator"], jan["I5"]["denominator"]) == (12, 16)
    assert jan["I5"]["value"] == 75.0


def test_at_least_one_listed_service(site, people):
    i6 = site.report(**JAN)["I6"]
    # listed services: A, C, D, E, F referred; all but F received one (C's later outcome
    # replaces its first); G's voluntary rehab is not on the list
    assert (i6["value"], i6["numerator"], i6["denominator"]) == (80.0, 4, 5)


def test_hiv_cascade(site, people):
    jan = site.report(**JAN)
    assert jan["I7"]["value"] == 2
    assert jan["I7:tested"]["value"] == 2
    assert jan["I7:positive"]["value"] == 1
    assert jan["I7:linked"]["value"] == 1  # ARV from 10 February, within 30 days of 25 January
    assert jan["I7:not_shared"]["value"] == 1


def test_initiations_by_their_start_date(site, people):
    assert site.report(**JAN)["I8"]["value"] == 1
    assert site.report(**JAN)["I9"]["value"] == 0
    assert site.report(**FEB)["I9"]["value"] == 1  # E started on 5 February


def test_post_rehab_caseload_visits_and_self_reported_use(site, people):
    jan, feb, mar = site.report(**JAN), site.report(**FEB), site.report(**MAR)
    assert jan["I10"]["value"] == 2  # B and D; P's management ended in December
    assert feb["I10"]["value"] == 2
    assert mar["I10"]["value"] == 1  # D was closed on 15 February
    assert (jan["I11"]["value"], jan["I11"]["numerator"], jan["I11"]["denominator"]) == (
        50.0, 1, 2,
    )  # fmt: skip
    assert jan["I11:visits"]["value"] == 2
    assert jan["I11:met"]["value"] == 50.0
    assert jan["I12"]["value"] == 100.0
    assert feb["I12"]["value"] == 0.0
    assert feb["I12:no_answer"]["value"] == 1
    both = site.report(**{**JAN, "to": "2026-02-28"})["I12"]
    assert (both["numerator"], both["denominator"]) == (1, 2)  # B said yes once: B counts once


def test_jobs_loans_training_schooling_insurance(site, people):
    feb = site.report(**FEB)
    assert feb["I13"]["value"] == 2  # D placed (F4), B supported (F5)
    assert feb["I13:employed"]["value"] == 1  # D's latest visit: no job
    assert feb["I14"]["value"] == 2
    assert feb["I14:loans"]["value"] == 2  # B's loan told twice (F4 and F5) counts once
    assert feb["I14:amount"]["value"] == 50  # F4's 30 for B (not F5's 25), D's 20
    assert feb["I15"]["value"] == 2
    assert feb["I15:completed"]["value"] == 0
    assert site.report(**MAR)["I15:completed"]["value"] == 1
    assert feb["I16"]["value"] == 1  # B (17); D (26) is not of schooling age
    assert feb["I17"]["value"] == 1
    coverage = feb["I17:coverage"]
    # open clients of the ward: A B C E F G P Q1 Q2 (D closed, A2 merged); insured A C E
    assert (coverage["numerator"], coverage["denominator"]) == (3, 9)


def test_sessions_police_model_volunteers(site, people):
    jan = site.report(**JAN)
    assert jan["I18"]["value"] == 2
    assert jan["I18:attendances"]["value"] == 11
    assert jan["I18:people"]["value"] == 2  # B (twice, and at the club) and D
    assert jan["I19"]["value"] == 3  # A, C and N (without consent)
    assert (jan["I19:referred30"]["numerator"], jan["I19:referred30"]["denominator"]) == (2, 3)
    assert jan["I19:referred30"]["value"] == 66.7
    feb = site.report(**FEB)
    assert feb["I20"]["value"] == 2
    assert feb["I20:visits_per_volunteer"]["value"] == 1.5


def test_data_quality(site, people):
    jan = site.report(**JAN)
    assert jan["DQ1"]["value"] == 2  # r5 and r15 have no outcome; r4's latest is received
    assert jan["DQ2"]["value"] == 1  # Q1 and Q2; A and A2 are merged
    assert jan["DQ3"]["value"] == 100.0  # everything was sent months after the event
    with site.db.transaction() as session:  # a client from before the 2025 reform
        session.execute(
            update(Entity).where(Entity.uuid == people["P"]).values(
                data={"ma_xa": "00001", "ma_tinh": "01", "trang_thai": "mo"}
            )
        )
    whole = site.report(**{"from": "2026-01-01", "to": "2026-01-31"})
    assert whole["DQ4"]["value"] == 1


def test_targets_and_achievement(site, people):
    from datetime import date

    from server.models.indicators import PlanTarget

    with site.db.transaction() as session:
        session.add(PlanTarget(project_id=site.project_id, scope_kind="ward", scope_value=W,
                               indicator="I1", period_kind="month",
                               period_start=date(2026, 1, 1), planned=6))  # fmt: skip
    jan = site.report(**JAN)
    assert (jan["I1"]["target"], jan["I1"]["percent"]) == (6, 116.7)
    assert (jan["I1a"]["value"], jan["I1a"]["numerator"], jan["I1a"]["denominator"]) == (
        116.7, 7, 6,
    )  # fmt: skip
    assert site.report(**FEB)["I1"]["target"] is None


def test_another_wards_records_are_never_counted_for_a_ward_supervisor(site, people):
    mine = site.report("ward_supervisor", **{"from": "2026-01-01", "to": "2026-01-31"})
    assert mine["I1"]["value"] == 1  # S only
    assert mine["I2"]["value"] == 2
    # asking for 00118 is refused, as the page and the report refuse it
    assert site.get("/indicators", "ward_supervisor", **JAN).status_code == 403
    assert site.get("/indicators/I1/records", "ward_supervisor", **JAN).status_code == 403
    rows = site.records("I1", "ward_supervisor", **{"from": "2026-01-01", "to": "2026-01-31"})
    assert [r["clientUuid"] for r in rows] == [people["S"]]
    assert {r["ward"] for r in rows} == {"00004"}


def test_small_numbers_are_suppressed_for_a_viewer_only(site, people):
    viewer = site.report("viewer", **JAN)
    supervisor = site.report("supervisor", **JAN)
    assert supervisor["I4:xn_hiv"]["value"] == 2
    assert viewer["I4:xn_hiv"]["value"] == "<5"
    assert viewer["I1"]["value"] == 7  # five or more: shown
    assert viewer["I1"]["breakdown"]["sex"] == {"1": "<5", "2": "<5"}
    assert viewer["I5:xn_hiv"]["numerator"] == "<5"
    assert viewer["I5:xn_hiv"]["percent"] is None
    assert viewer["I2:anonymous"]["value"] == 2  # contacts are events, not people
    jan_trend = [t for t in viewer["I4:xn_hiv"]["trend"] if t["month"] == "2026-01"]
    assert jan_trend == [{"month": "2026-01", "value": "<5"}]
    reply = site.get("/indicators/I4:xn_hiv/records", "viewer", **JAN)
    assert reply.status_code == 403


def test_trend_by_month_and_records(site, people):
    body = site.report(**{"from": "2026-01-01", "to": "2026-03-31", "ward": W})
    trend = {t["month"]: t["value"] for t in body["I2"]["trend"]}
    assert len(trend) == 12
    assert list(trend)[-1] == "2026-03"
    assert (trend["2026-01"], trend["2026-02"], trend["2026-03"]) == (13, 2, 0)
    rows = site.records("I1", **JAN, cell="sex:2")
    assert sorted(r["clientUuid"] for r in rows) == sorted(people[k] for k in ("B", "D", "F"))
    assert {r["ward"] for r in rows} == {W}
    i6 = site.records("I6", **JAN)
    assert sum(r["inNumerator"] for r in i6) == 4
    assert len(i6) == 5


def test_the_api_refuses_bad_queries(site, people):
    for params in (
        {"from": "2026-13-01", "to": "2026-12-31"},
        {"from": "01/01/2026", "to": "2026-12-31"},
        {"from": "2026-02-01", "to": "2026-01-31"},
        {"from": "2020-01-01", "to": "2026-01-31"},
    ):
        reply = site.get("/indicators", **params)
        assert reply.status_code == 400, params
        assert reply.json()["code"] == 400.93
    assert site.get("/indicators/I1/records", cell="colour:red").status_code == 400
    for params in ({"ward": "99999"}, {"province": "79"}, {"model": "khong_co"}):
        for path in ("/indicators", "/indicators.xlsx", "/indicators/I1/records"):
            reply = site.get(path, **params)  # a code that names nothing: told so, not zeros
            assert reply.status_code == 400, (path, params)
            assert next(iter(params.values())) in reply.json()["message"]
    assert site.get("/indicators/I99/records").status_code == 404
    assert site.get("/indicators", "collector").status_code == 403
    default = site.get("/indicators").json()
    assert default["from"][8:] == "01"  # the current month
    assert default["asOf"].endswith("Z")
    assert requests.get(f"{site.url}/v1/projects/{site.project_id}/indicators", timeout=10)\
        .status_code == 401  # fmt: skip
