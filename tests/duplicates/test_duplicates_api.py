"""The duplicates API over real HTTP: GET .../datasets/clients/duplicates lists the open pairs
in the caller's wards as [{a, b, score, reasons}], POST .../duplicates/<a>/<b> decides one;
bad input is a JSON problem and writes nothing."""

from __future__ import annotations

import json

import requests
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.audits import Audit
from server.models.deliveries import Delivery
from server.models.entities import Dataset, Entity
from server.models.types import utcnow
from server.services import entities, lifecycle, sessions
from sync import queue
from sync.worker import drain
from tests.duplicates.conftest import PASSWORD, WARD_A, WARD_B


def bearer(site, who: str) -> dict:
    with site.db.transaction() as session:
        issued = sessions.log_in(session, site.users[who], PASSWORD, None, "bearer").issued
    return {"Authorization": f"Bearer {issued.token}"}


def url(site, *tail: str) -> str:
    return "/".join(
        (f"{site.url}/v1/projects/{site.project_id}/datasets/clients/duplicates", *tail)
    )


def events(tmp_path, project_id) -> list[dict]:
    """The event documents the register (a directory target) received, oldest first."""
    found = [json.loads(f.read_text()) for f in tmp_path.glob(f"register/{project_id}/_events/*/*")]
    return sorted((d["event"] for d in found), key=lambda e: e["at"])


def test_the_api_lists_and_decides_pairs_in_the_callers_wards(site, tmp_path):
    x = site.register(WARD_A, "NGTH1000085", 1985)
    y = site.register(WARD_B, "NGTH1000086", 1986)
    everyone, one_ward = bearer(site, "supervisor"), bearer(site, "ward_a")
    listed = requests.get(url(site), headers=everyone, timeout=30)
    assert listed.status_code == 200
    [pair] = listed.json()
    assert {pair["a"], pair["b"]} == {x, y}
    assert 0.0 <= pair["score"] <= 1.0
    assert "birth_year_off_by_one" in pair["reasons"]
    assert requests.get(url(site), headers=one_ward, timeout=30).json() == []
    refused = requests.post(
        url(site, x, y), json={"decision": "same"}, headers=one_ward, timeout=30
    )
    assert refused.status_code == 404
    assert refused.json()["code"] == 404.1
    viewer = requests.get(url(site), headers=bearer(site, "viewer"), timeout=30)
    assert viewer.status_code == 403
    assert viewer.json()["code"] == 403.1
    merged = requests.post(
        url(site, pair["a"], pair["b"]), json={"decision": "same", "keep": x}, headers=everyone,
        timeout=30,
    )  # fmt: skip
    assert merged.status_code == 200
    assert (merged.json()["state"], merged.json()["survivor"]) == ("same", x)
    assert requests.get(url(site), headers=everyone, timeout=30).json() == []
    drain(site.app)  # the register hears of the merge as an event
    [merge] = events(tmp_path, site.project_id)
    assert (merge["type"], merge["merged"], merge["into"]) == ("entity.merge", y, x)
    assert merge["dataset"] == "clients"
    again = requests.post(url(site, x, y), json={"decision": "same"}, headers=everyone, timeout=30)
    assert again.status_code == 409
    undone = requests.post(url(site, y, x), json={"decision": "undo"}, headers=everyone, timeout=30)
    assert undone.status_code == 200
    assert undone.json()["state"] == "open"
    drain(site.app)
    assert [(e["type"], e["merged"]) for e in events(tmp_path, site.project_id)] == [
        ("entity.merge", y),
        ("entity.unmerge", y),
    ]


def test_bad_bodies_are_json_problems_and_change_nothing(site):
    x = site.register(WARD_A, "NGTH1000085", 1985)
    y = site.register(WARD_B, "NGTH1000085", 1985)
    headers = bearer(site, "supervisor")
    for body in (
        {"decision": "maybe"},
        {"decision": 1},
        {},
        ["same"],
        {"decision": "same", "keep": 3},
    ):
        reply = requests.post(url(site, x, y), json=body, headers=headers, timeout=30)
        assert reply.status_code == 400, body
        assert reply.json()["code"] == 400.8
        assert reply.json()["message"]
    not_json = requests.post(url(site, x, y), data=b"same", headers=headers, timeout=30)
    assert not_json.status_code == 400
    unknown = requests.post(
        url(site, x, "00000000-0000-4000-8000-000000000000"), json={"decision": "same"},
        headers=headers, timeout=30,
    )  # fmt: skip
    assert unknown.status_code == 404
    [pair] = requests.get(url(site), headers=headers, timeout=30).json()
    assert {pair["a"], pair["b"]} == {x, y}  # still open: nothing was decided


def merged_pair(site) -> tuple[str, str]:
    """X in ward A and its duplicate Y in ward B, merged by a supervisor of both (X kept)."""
    x = site.register(WARD_A, "NGTH1000085", 1985)
    y = site.register(WARD_B, "NGTH1000085", 1985)
    merged = requests.post(
        url(site, x, y), json={"decision": "same", "keep": x},
        headers=bearer(site, "supervisor"), timeout=30,
    )  # fmt: skip
    assert merged.status_code == 200, merged.text
    return x, y


def test_an_undo_tells_the_register_only_of_a_merge_it_really_unmade(site, tmp_path):
    """After the merge, the merged client's gop_vao was changed elsewhere (here cleared, as a
    manager's edit would): the undo reopens the pair but unmakes nothing, so the register
    hears no entity.unmerge, and the audit row says nothing was unmerged."""
    x, y = merged_pair(site)
    everyone = bearer(site, "supervisor")
    with site.db.transaction() as session:
        dataset = session.scalar(select(Dataset).where(Dataset.name == "clients"))
        merged_one = session.scalar(select(Entity).where(Entity.uuid == y))
        entities.update_entity(session, SYSTEM, dataset, merged_one, None, {"gop_vao": ""}, None)
    undone = requests.post(url(site, x, y), json={"decision": "undo"}, headers=everyone, timeout=30)
    assert undone.status_code == 200, undone.text
    drain(site.app)
    assert [e["type"] for e in events(tmp_path, site.project_id)] == ["entity.merge"]
    with site.db.transaction(write=False) as session:
        [details] = [
            a.details for a in session.scalars(select(Audit).where(Audit.action == "duplicate.undo"))
        ]
    assert details["unmerged"] is False


def test_erasing_a_client_leaves_no_merge_event_naming_it(site, tmp_path):
    """A merge waiting in the outbox names both clients: erasing one on request removes
    the event too, so the register never hears of an erased person's uuid."""
    _x, y = merged_pair(site)

    def naming(uuid: str) -> list:
        with site.db.transaction(write=False) as session:
            rows = session.scalars(select(Delivery.event).where(Delivery.event.is_not(None)))
            return [e for e in rows if uuid in (e.get("merged"), e.get("into"))]

    assert naming(y)  # pending, not yet sent
    with site.db.transaction() as session:
        lifecycle.erase_client(session, site.app.extensions["donghanh"].blobs, SYSTEM,
                               site.project_id, y)  # fmt: skip
    assert naming(y) == []
    drain(site.app)
    assert events(tmp_path, site.project_id) == []
    with site.db.transaction(write=False) as session:
        [details] = [
            a.details for a in session.scalars(select(Audit).where(Audit.action == "client.erase"))
        ]
    assert details["events"] == 1


def test_a_merge_event_waits_for_the_submissions_queued_before_it(site, tmp_path):
    """Several senders run at once, so without a rule the merge could reach the register
    before the merged client's F1. A claim never takes an event while a row of its target
    queued before it is still to go; once they are delivered, it goes."""
    merged_pair(site)
    with site.db.transaction() as session:
        rows = session.execute(select(Delivery.id, Delivery.target, Delivery.event)).all()
        targets = sorted({r.target for r in rows})
        event_ids = {r.id for r in rows if r.event}
        assert event_ids
        assert len(rows) > len(event_ids)  # the two F1s are queued before the event
        claimed = {c.id for c in queue.claim_due(session, targets, utcnow(), 60, 100)}
        session.rollback()  # leave the rows unleased for the drain below
    assert claimed == {r.id for r in rows} - event_ids
    drain(site.app)
    assert [e["type"] for e in events(tmp_path, site.project_id)] == ["entity.merge"]
    with site.db.transaction(write=False) as session:
        states = set(session.scalars(select(Delivery.state)))
    assert states == {"delivered"}
