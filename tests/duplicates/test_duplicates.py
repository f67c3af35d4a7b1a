"""Suspected duplicates through the service, on clients registered by phones over real
HTTP: found on registration and by the nightly run, listed only when both clients are the
caller's, merged (the merged one leaves its ward phone's clients.csv, is answered deleted by
the integrity endpoint and counts once in the indicators), undone within 30 days, "not the
same person" never suggested again; every decision audited; bad input refused whole."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select, text, update

from server.auth.permissions import SYSTEM
from server.errors import InsufficientRights, NotFound, UnexpectedValue
from server.models.audits import Audit
from server.models.duplicates import DuplicatePair
from server.models.entities import Dataset, Entity
from server.services import duplicates, indicators
from server.services.duplicates import PairDecided, UndoExpired
from tests.duplicates.conftest import WARD_A, WARD_B


def pairs(site, who="supervisor", state="open"):
    with site.db.transaction() as session:
        views = duplicates.list_pairs(
            session, site.principal(who), site.project_id, "clients", state
        )
        return [(v.a.uuid, v.b.uuid, v.score, v.reasons) for v in views]


def decide(site, who, a, b, decision, keep=None):
    with site.db.transaction() as session:
        return duplicates.decide(
            session, site.principal(who), site.project_id, "clients", a, b, decision, keep
        )


def undo(site, who, a, b):
    with site.db.transaction() as session:
        return duplicates.undo(session, site.principal(who), site.project_id, "clients", a, b)


def audits(site, action):
    with site.db.transaction(write=False) as session:
        return [a.details for a in session.scalars(select(Audit).where(Audit.action == action))]


def entity(site, uuid):
    with site.db.transaction(write=False) as session:
        return session.scalar(select(Entity).where(Entity.uuid == uuid))


@pytest.fixture
def planted(site):
    """X in ward A; its duplicate Y registered again in ward B with the parents' letters
    swapped; Z, a look-alike in ward A (same letters, another sex and year)."""
    x = site.register(WARD_A, "LAHU1150390", 1990)
    y = site.register(WARD_B, "HULA1150390", 1990)
    z = site.register(WARD_A, "LAHU2000071", 1971, sex="2")
    return x, y, z


def test_a_registration_is_checked_against_the_list(site, planted):
    x, y, z = planted
    [(a, b, score, reasons)] = pairs(site)
    assert {a, b} == {x, y}
    assert score >= 0.9
    assert "initials_swapped" in reasons
    assert "neighbouring_ward" in reasons
    assert z not in (a, b)
    assert audits(site, "duplicate.list")[-1] == {"state": "open", "count": 1}  # the look


def test_the_queue_lists_a_pair_only_to_a_caller_of_both_wards(site, planted):
    x, y, _ = planted
    assert len(pairs(site, "both_wards")) == 1
    assert pairs(site, "ward_a") == []  # y is in another ward: the pair is not listed at all
    with pytest.raises(NotFound):
        decide(site, "ward_a", x, y, "same")
    with pytest.raises(NotFound):
        decide(site, "ward_manager", x, y, "different")
    with pytest.raises(InsufficientRights):
        pairs(site, "viewer")
    with pytest.raises(InsufficientRights):
        decide(site, "viewer", x, y, "same")
    assert entity(site, y).data.get("gop_vao") in (None, "")  # nothing was written
    assert audits(site, "duplicate.decide") == []


def test_same_person_merges_and_the_phone_drops_the_merged_one(site, planted):
    x, y, _ = planted
    assert y in site.phone_list(WARD_B)
    view = decide(site, "both_wards", x, y, "same", keep=x)
    assert view.survivor == x
    assert entity(site, y).data["gop_vao"] == x
    assert entity(site, x).data.get("gop_vao") in (None, "")
    assert y not in site.phone_list(WARD_B)
    assert x in site.phone_list(WARD_A)
    assert f'<entity id="{y}"><deleted>true</deleted></entity>' in site.integrity(WARD_B, y)
    assert pairs(site) == []
    [(a, b, _score, _reasons)] = pairs(site, state="same")
    assert {a, b} == {x, y}
    [details] = audits(site, "duplicate.decide")
    assert (details["decision"], details["survivor"], details["merged"]) == ("same", x, y)
    with pytest.raises(PairDecided):  # decided once
        decide(site, "both_wards", x, y, "different")


def test_a_merged_person_is_counted_once(site, planted):
    x, y, _ = planted
    january = (date(2026, 1, 1), date(2026, 1, 31))

    def registered():
        with site.db.transaction(write=False) as session:
            report = indicators.report(
                session, SYSTEM, site.project_id, *january, indicators.scope_from({})
            )
        return {i["code"]: i for i in report["indicators"]}["I3"]["value"]

    assert registered() == 3
    decide(site, "supervisor", x, y, "same")
    assert registered() == 2
    undo(site, "supervisor", x, y)
    assert registered() == 3


def blocked_on_the_pair(site, thread) -> None:
    """Wait until the deciding transaction waits for a lock (PostgreSQL: the row the other
    transaction filed), so the test does not depend on how fast the machine is; SQLite's
    writers take turns on the database, so there the decision simply comes second."""
    if site.db.engine.dialect.name != "postgresql":
        thread.join(0.5)
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(1200):
        with site.db.engine.connect() as connection:
            if connection.scalar(waiting):
                return
        thread.join(0.05)
    raise AssertionError("the decision never reached the pair's row")


def test_a_pair_filed_by_a_registration_while_it_is_decided_is_decided_once(site, planted):
    """A supervisor decides a pair nobody suggested while a registration's check files the
    same pair (held open here in another transaction): the decision waits for it (filing a
    pair locks both clients' rows for their keys, which the decision locks for update) and
    decides the row it filed, never a 500 for the unique pair."""
    x, _, z = planted
    ids = sorted((entity(site, x).id, entity(site, z).id))
    outcome: list = []

    def supervisor() -> None:
        try:
            outcome.append(decide(site, "supervisor", x, z, "different").state)
        except Exception as error:  # the failure itself is what is asserted
            outcome.append(repr(error))

    with site.db.transaction() as session:  # the registration's check, not yet committed
        dataset_id = entity(site, x).dataset_id
        session.execute(
            insert(DuplicatePair).values(
                dataset_id=dataset_id, a_id=ids[0], b_id=ids[1], score=0.91, reasons=["uic"]
            )
        )
        thread = threading.Thread(target=supervisor)
        thread.start()
        blocked_on_the_pair(site, thread)  # it has reached the pair's row: now commit
    thread.join(60)
    assert outcome == ["different"]
    with site.db.transaction(write=False) as session:
        rows = session.scalars(
            select(DuplicatePair).where(DuplicatePair.a_id == ids[0], DuplicatePair.b_id == ids[1])
        ).all()
    assert [r.state for r in rows] == ["different"]


def test_undo_brings_the_merged_one_back_within_30_days(site, planted):
    x, y, _ = planted
    decide(site, "both_wards", x, y, "same", keep=y)  # the later one kept
    assert entity(site, x).data["gop_vao"] == y
    assert x not in site.phone_list(WARD_A)
    undo(site, "both_wards", x, y)
    assert entity(site, x).data["gop_vao"] == ""
    assert x in site.phone_list(WARD_A)
    assert {frozenset(p[:2]) for p in pairs(site)} == {frozenset((x, y))}  # open again
    [details] = audits(site, "duplicate.undo")
    assert (details["decision"], details["merged"]) == ("same", x)
    decide(site, "both_wards", x, y, "same")
    with site.db.transaction() as session:
        for pair in session.scalars(select(DuplicatePair)):
            pair.decided_at -= timedelta(days=31)
    with pytest.raises(UndoExpired):
        undo(site, "both_wards", x, y)
    assert pairs(site, state="same") == []  # past its undo time: no longer in the list


def test_not_the_same_person_is_never_suggested_again(site, planted):
    x, y, _ = planted
    decide(site, "supervisor", x, y, "different")
    assert pairs(site) == []
    with site.db.transaction() as session:
        dataset_id = session.scalar(select(Dataset.id).where(Dataset.name == "clients"))
        assert duplicates.scan(session, SYSTEM, dataset_id) == 1  # still scored, not listed
    assert pairs(site) == []
    with site.db.transaction() as session:  # the registration check again (an update)
        duplicates.check_entity(session, session.scalar(select(Entity).where(Entity.uuid == y)))
    assert pairs(site) == []
    assert [p[:2] for p in pairs(site, state="different")] == [
        tuple(sorted((x, y), key=lambda u: entity(site, u).id))
    ]
    [details] = audits(site, "duplicate.decide")
    assert details["decision"] == "different"
    assert "merged" not in details
    assert y in site.phone_list(WARD_B)  # nothing merged


def test_the_nightly_run_finds_what_registrations_did_not(site):
    x = site.register(WARD_A, "MIPH1000070", 1970)
    y = site.register(WARD_B, "MIPH1000071", 1971)  # birth year one off
    with site.db.transaction() as session:  # as if registered before the check existed
        session.execute(update(DuplicatePair).values(state="open"))
        session.execute(DuplicatePair.__table__.delete())
    assert pairs(site) == []
    result = site.app.test_cli_runner().invoke(args=["duplicates", "scan"])
    assert result.exit_code == 0, result.output
    assert f"Project {site.project_id}: 1 suspected duplicate pairs." in result.output
    [(a, b, _score, reasons)] = pairs(site)
    assert {a, b} == {x, y}
    assert "birth_year_off_by_one" in reasons
    [details] = audits(site, "duplicate.scan")
    assert (details["clients"], details["pairs"], details["new"]) == (2, 1, 1)


def test_bad_decisions_are_refused_and_nothing_is_written(site, planted):
    x, y, z = planted
    with pytest.raises(UnexpectedValue):
        decide(site, "supervisor", x, y, "maybe")
    with pytest.raises(UnexpectedValue):
        decide(site, "supervisor", x, x, "same")
    with pytest.raises(UnexpectedValue):
        decide(site, "supervisor", x, y, "same", keep=z)  # keep must be one of the two
    with pytest.raises(NotFound):
        decide(site, "supervisor", x, "00000000-0000-4000-8000-000000000000", "same")
    with pytest.raises(PairDecided):
        undo(site, "supervisor", x, y)  # nothing decided yet
    assert entity(site, x).data.get("gop_vao") in (None, "")
    assert entity(site, y).data.get("gop_vao") in (None, "")
    assert pairs(site, state="same") == []
    assert audits(site, "duplicate.decide") == []
    decide(site, "supervisor", x, z, "same")  # a pair nobody suggested may be decided
    with pytest.raises(PairDecided):  # z is merged: it can be nobody else's duplicate
        decide(site, "supervisor", y, z, "same")


def test_two_supervisors_deciding_the_same_pair_at_once_take_turns(site, planted):
    """One keeps X, the other Y, at the same moment: the second waits for the first (the two
    clients' rows are locked before anything is checked) and is told it was decided, so the
    two never end up merged into each other."""
    x, y, _ = planted
    second: list = []

    def other_supervisor() -> None:
        try:
            decide(site, "both_wards", x, y, "same", keep=y)
            second.append("merged")
        except PairDecided:
            second.append("refused")

    with site.db.transaction() as session:
        duplicates.decide(
            session, site.principal("both_wards"), site.project_id, "clients", x, y, "same", x
        )
        thread = threading.Thread(target=other_supervisor)
        thread.start()
        thread.join(0.5)  # give it the chance to read before this commits (it must wait)
    thread.join(60)
    assert second == ["refused"]
    merged = (entity(site, x).data or {}).get("gop_vao"), (entity(site, y).data or {}).get(
        "gop_vao"
    )
    assert merged == (None, x) or merged == ("", x)
