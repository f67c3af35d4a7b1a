"""Writing the plan: insert, change and remove on the unique key, an audit entry per change
with the old and the new number, and who may write which scope (permissions.may_set_target):
a project-wide manager any scope, a ward supervisor only its ward's targets, a viewer and
another project's manager nothing. Reading: a ward supervisor sees its ward's targets and those
naming no ward."""

from __future__ import annotations

from datetime import date

import pytest

from server.auth.permissions import SYSTEM, Principal, may_set_target, sees_target
from server.errors import InsufficientRights, NotFound
from server.services import targets
from server.services.targets import TargetFilters
from tests.targets.conftest import OTHER_WARD, WARD, row

KEY = ("ward", WARD, "I1", "year", date(2026, 1, 1))


def put(db, principal, project_id, *rows):
    with db.transaction() as session:
        return targets.set_targets(session, principal, project_id, list(rows))


def test_a_row_is_inserted_then_changed_then_removed_each_audited(
    db, project, principal_of, stored, audits
):
    manager = principal_of("manager")
    put(db, manager, project.id, row(planned=150))
    assert stored() == {KEY: 150.0}
    put(db, manager, project.id, row(planned=170))
    assert stored() == {KEY: 170.0}
    put(db, manager, project.id, row(planned=170))  # the same number: nothing changes
    put(db, manager, project.id, row(planned=None))
    assert stored() == {}
    put(db, manager, project.id, row(planned=None))  # nothing left to remove
    logged = audits()
    assert [(action, d["old"], d["new"]) for action, _a, d in logged] == [
        ("target.create", None, 150),
        ("target.update", 150, 170),
        ("target.delete", 170, None),
    ]
    assert {actor for _action, actor, _d in logged} == {manager.actor_id}
    for _action, _actor, details in logged:
        assert details["scope"] == {"kind": "ward", "value": WARD}
        assert (details["indicator"], details["period"]) == ("I1", "2026")
    assert logged[0][2]["targetId"] == logged[1][2]["targetId"]


def test_the_answer_is_the_plan_with_who_changed_it(db, project, principal_of):
    manager = principal_of("manager")
    plan = put(
        db,
        manager,
        project.id,
        row(indicator="I14:amount", kind="project", value="", planned=4099.5),
        row(period="2026-Q1", planned=40),
        row(planned=150),
    )
    shown = [p.as_json() for p in plan]
    # The catalogue's order (I1 before I14:amount), then scope, then period (year first).
    assert [(s["indicator"], s["scope"]["kind"], s["period"], s["planned"]) for s in shown] == [
        ("I1", "ward", "2026", 150),
        ("I1", "ward", "2026-Q1", 40),
        ("I14:amount", "project", "2026", 4099.5),
    ]
    assert shown[0]["updatedBy"] == {"id": manager.actor_id, "displayName": "manager@example.org"}
    assert shown[0]["updatedAt"].endswith("Z")


def test_an_unknown_project_is_not_found(db, principal_of):
    with pytest.raises(NotFound):
        put(db, SYSTEM, 9999, row())
    with pytest.raises(NotFound), db.transaction() as session:
        targets.list_targets(session, SYSTEM, 9999, TargetFilters())


SCOPES = {
    "project": row(kind="project", value=""),
    "province": row(kind="province", value="01"),
    "model": row(kind="model", value="canh_sat"),
    "own ward": row(value=WARD),
    "other ward": row(value=OTHER_WARD),
}
MAY_WRITE = {
    "admin": set(SCOPES),
    "manager": set(SCOPES),
    "supervisor": set(SCOPES),
    "ward_supervisor": {"own ward"},
    "viewer": set(),
    "other_manager": set(),
}


@pytest.mark.parametrize("caller", sorted(MAY_WRITE))
def test_who_may_write_which_scope(caller, db, project, principal_of, stored):
    principal = principal_of(caller)
    written = set()
    for name, target in SCOPES.items():
        try:
            put(db, principal, project.id, target)
        except InsufficientRights:
            continue
        written.add(name)
    assert written == MAY_WRITE[caller]
    assert len(stored()) == len(written)


def test_a_refused_row_stops_the_whole_request(db, project, principal_of, stored, audits):
    supervisor = principal_of("ward_supervisor")
    with pytest.raises(InsufficientRights) as refused:
        put(db, supervisor, project.id, row(value=WARD), row(value=OTHER_WARD))
    assert f"row 2 (ward {OTHER_WARD})" in refused.value.message
    assert stored() == {}
    assert audits() == []


def test_a_ward_supervisor_sees_its_ward_and_the_targets_naming_no_ward(
    db, project, principal_of
):
    put(db, SYSTEM, project.id, *SCOPES.values())
    seen = {}
    for caller in ("ward_supervisor", "viewer", "manager"):
        with db.transaction(write=False) as session:
            plan = targets.list_targets(session, principal_of(caller), project.id, TargetFilters())
        seen[caller] = {(t.scope_kind, t.scope_value) for t in plan}
    everything = {("project", ""), ("province", "01"), ("model", "canh_sat"),
                  ("ward", WARD), ("ward", OTHER_WARD)}
    assert seen["manager"] == seen["viewer"] == everything
    assert seen["ward_supervisor"] == everything - {("ward", OTHER_WARD)}


def test_reading_needs_indicator_read(db, project, principal_of):
    with pytest.raises(InsufficientRights), db.transaction(write=False) as session:
        targets.list_targets(session, principal_of("other_manager"), project.id, TargetFilters())


def test_the_filters_give_the_periods_overlapping_one_and_one_indicator(db, project):
    periods = ["2025", "2026", "2026-Q1", "2026-Q2", "2026-01", "2026-04", "2027-01"]
    put(db, SYSTEM, project.id, *[row(period=p) for p in periods], row(indicator="I3"))

    def listed(**filters) -> list[tuple[str, str]]:
        with db.transaction(write=False) as session:
            plan = targets.list_targets(session, SYSTEM, project.id, TargetFilters(**filters))
        return [(t.indicator, t.period) for t in plan]

    assert listed(period="2026", indicator="I1") == [
        ("I1", p) for p in ("2026", "2026-Q1", "2026-01", "2026-Q2", "2026-04")
    ]
    assert listed(period="2026-Q1") == [("I1", "2026"), ("I1", "2026-Q1"), ("I1", "2026-01"),
                                        ("I3", "2026")]
    assert listed(period="2026-04") == [("I1", "2026"), ("I1", "2026-Q2"), ("I1", "2026-04"),
                                        ("I3", "2026")]
    assert listed(indicator="I3") == [("I3", "2026")]
    with pytest.raises(targets.UnexpectedValue):
        listed(period="next year")


# --- The rule itself, pure -------------------------------------------------------------------

MANAGER = Principal(1, "user", roles=frozenset({("manager", 7)}))
WARD_SUPERVISOR = Principal(2, "user", ward_roles=frozenset({("supervisor", 7, WARD)}))
VIEWER = Principal(3, "user", roles=frozenset({("viewer", 7)}))


@pytest.mark.parametrize(
    ("principal", "project_id", "kind", "value", "allowed"),
    [
        (MANAGER, 7, "project", "", True),
        (MANAGER, 7, "ward", OTHER_WARD, True),
        (MANAGER, 8, "project", "", False),  # another project
        (WARD_SUPERVISOR, 7, "ward", WARD, True),
        (WARD_SUPERVISOR, 7, "ward", OTHER_WARD, False),
        (WARD_SUPERVISOR, 7, "province", "01", False),
        (WARD_SUPERVISOR, 7, "model", "canh_sat", False),
        (WARD_SUPERVISOR, 7, "project", "", False),
        (WARD_SUPERVISOR, 8, "ward", WARD, False),
        (VIEWER, 7, "ward", WARD, False),
        (SYSTEM, 8, "model", "tnv", True),
    ],
)
def test_may_set_target(principal, project_id, kind, value, allowed):
    assert may_set_target(principal, project_id, kind, value) is allowed


def test_sees_target():
    assert sees_target(VIEWER, 7, "ward", OTHER_WARD)
    assert sees_target(WARD_SUPERVISOR, 7, "model", "tnv")
    assert not sees_target(WARD_SUPERVISOR, 7, "ward", OTHER_WARD)
    assert not sees_target(MANAGER, 8, "project", "")
