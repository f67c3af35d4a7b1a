"""What a review of the indicators found, each shown on its own ward (00166) of the module's
site: a merge closes the duplicate but keeps its survivor in the post-rehab caseload; a count
beside a hidden value is hidden with it; a breakdown with a hidden cell withholds the others
(one hidden cell is the value minus the rest); the records behind the figures are listed only
to those who see every number; a supervisor of one ward who is also a project-wide viewer sees
the project's figures suppressed and its own ward's in full; an edit keeps the submission's
own instanceID in its facts."""

from __future__ import annotations

from datetime import date

import pytest
import requests
from sqlalchemy import select

from server.models.indicators import IndicatorFact
from server.services import users
from tests.indicators import programme as p
from tests.indicators.conftest import PASSWORD

W = "00166"
YEAR = {"from": "2026-01-01", "to": "2026-12-31"}
MAR = {"from": "2026-03-01", "to": "2026-03-31", "ward": W}


def iid() -> str:
    return f"uuid:{p.new_id()}"


@pytest.fixture(scope="module")
def seeded(site) -> dict[str, str]:
    ids = {k: p.new_id() for k in ("X", "X2", "M1", "M2", "M3", "M4", "M5", "M6", "W1", "W2")}
    send = site.submit
    # X and its duplicate X2, both post-rehab; X2 merged into X on 20 January
    for name, day in (("X", "2025-12-01"), ("X2", "2026-01-05")):
        send(p.f1(iid(), ids[name], day, ward=W, sex="1", birth_year=1980, groups="sau_cai",
                  post_rehab=True, rehab_end="2025-11-01", management_end="2026-12-31"))  # fmt: skip
    send(p.f7(iid(), ids["X2"], "2026-01-20", "trung_ma", merge_into=ids["X"], ward=W))
    # six men and two women referred to HIV testing in February: 8 people, 2 of them women
    for name in ("M1", "M2", "M3", "M4", "M5", "M6", "W1", "W2"):
        sex = "2" if name.startswith("W") else "1"
        send(p.f1(iid(), ids[name], "2026-02-01", ward=W, sex=sex, birth_year=1992))
        send(p.f3(iid(), p.new_id(), ids[name], "xn_hiv", "2026-02-03", ward=W))
    for name, day in (("W1", "2026-02-04"), ("W2", "2026-02-04"), ("W2", "2026-02-20")):
        send(p.f3(iid(), p.new_id(), ids[name], "mmt", day, ward=W))
    with site.db.transaction() as session:
        user = users.create_user(
            session, None, "both@example.org", PASSWORD, "realm", "supervisor", site.project_id, (W,)
        )
        users.assign_role(session, None, user.actor_id, "viewer", site.project_id)
    reply = requests.post(
        f"{site.url}/v1/sessions",
        json={"email": "both@example.org", "password": PASSWORD},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    site.tokens["both"] = reply.json()["token"]
    return ids


def test_a_merge_keeps_its_survivor_in_the_caseload(site, seeded):
    # X stays under management after X2 is merged into it (before: X left with X2)
    assert site.value("I10", **MAR) == 1
    assert site.value("I10", **{"from": "2026-01-01", "to": "2026-01-31", "ward": W}) == 1


def test_a_count_beside_a_hidden_value_is_hidden(site, seeded):
    # the two women were also referred to methadone: two people, three referrals; the count
    # of referrals beside the hidden "<5" is hidden with it (3 would say "two or three")
    feb = {"from": "2026-02-01", "to": "2026-02-28", "ward": W}
    supervisor = site.report("supervisor", **feb)["I4:mmt"]
    viewer = site.report("viewer", **feb)["I4:mmt"]
    assert (supervisor["value"], supervisor["referrals"]) == (2, 3)
    assert (viewer["value"], viewer["referrals"]) == ("<5", "<5")
    shown = site.report("viewer", **feb)["I4:xn_hiv"]
    assert (shown["value"], shown["referrals"]) == (8, 8)  # five or more: both shown


def test_a_breakdown_with_a_hidden_cell_withholds_the_others(site, seeded):
    feb = {"from": "2026-02-01", "to": "2026-02-28", "ward": W}
    supervisor = site.report("supervisor", **feb)["I4:xn_hiv"]["breakdown"]["sex"]
    viewer = site.report("viewer", **feb)["I4:xn_hiv"]["breakdown"]["sex"]
    assert supervisor == {"1": 6, "2": 2}
    assert viewer == {"1": None, "2": "<5"}  # 8 - 6 would be the 2 women


def test_records_are_listed_only_to_those_who_see_every_number(site, seeded):
    feb = {"from": "2026-02-01", "to": "2026-02-28", "ward": W}
    assert site.get("/indicators/I4:xn_hiv/records", "viewer", **feb).status_code == 403
    assert len(site.records("I4:xn_hiv", "supervisor", **feb)) == 8


def test_small_numbers_follow_the_wards_the_figures_cover(site, seeded):
    feb = {"from": "2026-02-01", "to": "2026-02-28"}
    whole = site.get("/indicators", "both", **feb).json()
    assert whole["suppressed"] is True  # a viewer of the whole project
    mine = site.get("/indicators", "both", **feb, ward=W).json()
    assert mine["suppressed"] is False  # the supervisor of this ward
    sexes = {i["code"]: i for i in mine["indicators"]}["I4:xn_hiv"]["breakdown"]["sex"]
    assert sexes == {"1": 6, "2": 2}
    assert site.get("/indicators/I4:xn_hiv/records", "both", **feb).status_code == 403
    assert site.get("/indicators/I4:xn_hiv/records", "both", **feb, ward=W).status_code == 200


def test_an_edit_keeps_the_submissions_own_instance_id(site, seeded):
    first = iid()
    site.submit(p.f2(first, None, "2026-04-10", ward=W))
    site.submit(p.f2(iid(), None, "2026-04-11", ward=W, deprecated=first))
    with site.db.transaction(write=False) as session:
        kept = session.scalars(
            select(IndicatorFact.instance_id).where(
                IndicatorFact.ma_xa == W, IndicatorFact.day >= date(2026, 4, 1)
            )
        ).all()
    assert kept == [first]
