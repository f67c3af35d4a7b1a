"""targets.planned() (the read rule the indicators, the dashboard and the report share) on a
plan written through set_targets: the coarsest kind of period that tiles the range exactly is
summed (the range's own plan first, then its quarters, then its months), otherwise the smallest period holding the whole range
is given and marked as covering; each scope is measured against its own targets only."""

from __future__ import annotations

from datetime import date

import pytest

from server.auth.permissions import SYSTEM
from server.services import targets
from server.services.targets import Scope, TargetMatch
from tests.targets.conftest import WARD, row


@pytest.fixture
def plan(db, project):
    """I1 in ward 00118: 150 for 2026, 30/40/50/30 by quarter, 10/12/14 for January to
    March; I3: only a year; I1 for the whole project: 1000; I1 of the police model: 60."""
    rows = [row(period="2026", planned=150)]
    rows += [row(period=f"2026-Q{q}", planned=n) for q, n in ((1, 30), (2, 40), (3, 50), (4, 30))]
    rows += [row(period=f"2026-0{m}", planned=n) for m, n in ((1, 10), (2, 12), (3, 14))]
    rows += [row(indicator="I3", period="2026", planned=90)]
    rows += [row(kind="project", value="", planned=1000)]
    rows += [row(kind="model", value="canh_sat", period="2026-Q2", planned=60)]
    with db.transaction() as session:
        targets.set_targets(session, SYSTEM, project.id, rows)
    return project.id


IN_WARD = Scope(ward=WARD)


def planned(db, project_id, first, last, scope=IN_WARD) -> dict[str, TargetMatch]:
    with db.transaction(write=False) as session:
        return targets.planned(session, project_id, first, last, scope)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # One month, one quarter, the year: the period's own target.
        (date(2026, 2, 1), date(2026, 2, 28), TargetMatch(12, "month", False)),
        (date(2026, 4, 1), date(2026, 6, 30), TargetMatch(40, "quarter", False)),
        # The year: its own plan, though its quarters (30+40+50+30) would tile it too.
        (date(2026, 1, 1), date(2026, 12, 31), TargetMatch(150, "year", False)),
        # Months sum to the range when each has a target and nothing coarser tiles it.
        (date(2026, 1, 1), date(2026, 2, 28), TargetMatch(22, "month", False)),
        # The first quarter: its own 30, not its months' 10+12+14.
        (date(2026, 1, 1), date(2026, 3, 31), TargetMatch(30, "quarter", False)),
        # April has no monthly target: the quarters tile January to June.
        (date(2026, 1, 1), date(2026, 6, 30), TargetMatch(70, "quarter", False)),
        # A month without a target of its own: its quarter's, marked covering.
        (date(2026, 5, 1), date(2026, 5, 31), TargetMatch(40, "quarter", True)),
        # Year to date in November: no kind tiles it, the year's plan covers it.
        (date(2026, 1, 1), date(2026, 11, 15), TargetMatch(150, "year", True)),
    ],
)
def test_the_target_of_a_range(plan, db, first, last, expected):
    assert planned(db, plan, first, last)["I1"] == expected


def test_when_the_quarters_and_the_year_disagree_the_years_own_plan_wins(plan, db):
    """What was planned for the range itself comes first: a year of 150 broken down as
    30+40+50+40 measures the year against its 150, each quarter against its own number, and
    the first half (no plan of its own) against its two quarters."""
    with db.transaction() as session:
        targets.set_targets(session, SYSTEM, plan, [row(period="2026-Q4", planned=40)])
    found = planned(db, plan, date(2026, 1, 1), date(2026, 12, 31))
    assert found["I1"] == TargetMatch(150, "year", False)
    assert planned(db, plan, date(2026, 10, 1), date(2026, 12, 31))["I1"] == TargetMatch(
        40, "quarter", False
    )


def test_an_indicator_with_only_a_year_target_is_covered_by_it(plan, db):
    found = planned(db, plan, date(2026, 3, 1), date(2026, 3, 31))
    assert found["I3"] == TargetMatch(90, "year", True)


def test_each_scope_has_its_own_plan(plan, db):
    whole = planned(db, plan, date(2026, 1, 1), date(2026, 12, 31), Scope())
    assert whole == {"I1": TargetMatch(1000, "year", False)}
    police = planned(db, plan, date(2026, 4, 1), date(2026, 6, 30), Scope(model="canh_sat"))
    assert police == {"I1": TargetMatch(60, "quarter", False)}
    # A ward's police model has no plan of its own.
    assert planned(db, plan, date(2026, 4, 1), date(2026, 6, 30),
                   Scope(ward=WARD, model="canh_sat")) == {}
    assert planned(db, plan, date(2025, 1, 1), date(2025, 12, 31)) == {}


def test_a_removed_target_is_no_longer_measured_against(plan, db):
    with db.transaction() as session:
        targets.set_targets(session, SYSTEM, plan, [row(period="2026-02", planned=None)])
    # January to March: the months no longer tile, the quarter does.
    found = planned(db, plan, date(2026, 1, 1), date(2026, 3, 31))
    assert found["I1"] == TargetMatch(30, "quarter", False)
