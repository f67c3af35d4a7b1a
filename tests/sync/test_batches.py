"""A register that takes several records in one request (docs/forwarding.md, batch_url):
the same documents in a JSON array, one result per record by idempotency key, each record's
result recorded on its own; the request's own failure counts for every record."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from server.models.deliveries import Delivery
from server.models.types import utcnow
from sync.payload import build
from sync.worker import drain
from tests.support.register import Scripted
from tests.support.xmls import instance


@pytest.fixture
def settings(settings, register, tmp_path):
    options = tmp_path / "targets.json"
    options.write_text(
        json.dumps({register.url: {"batch_url": f"{register.url}/batch", "batch_size": 3}})
    )
    return settings.replace(register_targets_file=str(options))


def states(db) -> list[tuple[str, str, str | None]]:
    with db.transaction(write=False) as session:
        return [
            (d.state, d.last_status, d.last_error)
            for d in session.scalars(select(Delivery).order_by(Delivery.id))
        ]


def test_records_go_in_batches_with_a_result_each_and_the_same_documents(
    app, db, register, submit, visit_form
):
    register.refuse["uuid:b3"] = 422
    results = [submit(instance("visit", f"uuid:b{n}", gap="co")) for n in range(7)]
    assert drain(app, utcnow()) == 7
    assert (register.requests, register.batches) == (3, 2)  # 3 + 3, and 1 alone
    assert [s for s, _, _ in states(db)] == ["delivered"] * 3 + ["dead"] + ["delivered"] * 3
    dead = states(db)[3]
    assert dead[1] == 422
    assert "missing ward code" in dead[2]
    assert register.bad_signatures == 0  # the array is signed as one body
    ext = app.extensions["donghanh"]
    [target] = ext.targets
    with db.transaction(write=False) as session:
        for result in results:
            document = json.loads(
                build(session, result.version_id, target, ext.settings.public_url).body
            )
            if result.instance_id != "uuid:b3":
                assert register.stored[document["idempotencyKey"]] == document


def test_a_record_left_out_of_the_answer_is_retried_and_the_rest_delivered(
    app, db, register, submit, visit_form
):
    register.unanswered.add("uuid:c1")
    for n in range(3):
        submit(instance("visit", f"uuid:c{n}", gap="co"))
    drain(app, utcnow())
    assert states(db) == [
        ("delivered", 201, None),
        ("pending", None, "batch: no result for this record"),
        ("delivered", 201, None),
    ]


def test_a_failed_batch_request_counts_for_every_record(app, db, register, submit, visit_form):
    register.script.append(Scripted(503, {"Retry-After": "120"}))
    for n in range(3):
        submit(instance("visit", f"uuid:d{n}", gap="co"))
    now = utcnow()
    assert drain(app, now) == 3
    assert states(db) == [("pending", 503, "scripted failure")] * 3
    with db.transaction(write=False) as session:
        due = session.scalars(select(Delivery.next_attempt_at)).all()
    assert min(due).timestamp() >= now.timestamp() + 120
    assert register.requests == 1
