"""Forwarding to a real HTTP register on loopback: payload, signature, idempotency, retries,
Retry-After, timeouts, an outage of 1,000 submissions, a refused row, and manual retry."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.deliveries import Delivery
from server.models.types import utcnow
from server.services import deliveries
from sync import signing
from sync.payload import idempotency_key
from sync.worker import drain
from tests.support.register import Scripted
from tests.support.xmls import instance

LATER = timedelta(hours=2)


def all_deliveries(db) -> list[Delivery]:
    with db.transaction(write=False) as session:
        return session.scalars(select(Delivery).order_by(Delivery.id)).all()


def test_a_submission_arrives_once_signed_with_typed_answers(
    app, db, register, submit, visit_form, project
):
    result = submit(ma_kh="LAHU1M1990", anh="anh.jpg")
    now = utcnow()
    assert drain(app, now) == 1
    assert register.posts == []  # the photo may still be on its way: wait (split uploads)
    [delivery] = all_deliveries(db)
    assert delivery.attempts == 0
    assert drain(app, now + LATER) == 1  # after the grace period it goes without the photo
    [document] = register.stored.values()
    assert document["schemaVersion"] == "1.0"
    assert document["form"] == {"xmlFormId": "visit", "version": "1", "title": "Thăm"}
    assert document["submission"]["instanceId"] == result.instance_id
    assert document["submission"]["deprecatedId"] is None
    assert document["answers"] == {"ma_kh": "LAHU1M1990", "gap": "co", "anh": "anh.jpg"}
    [attachment] = document["attachments"]
    assert attachment["name"] == "anh.jpg"
    assert attachment["present"] is False  # never uploaded: sent after the grace period
    assert register.bad_signatures == 0
    assert register.posts == [idempotency_key(project.id, "visit", result.instance_id)]
    [delivery] = all_deliveries(db)
    assert delivery.state == "delivered"
    assert delivery.attempts == 1
    assert drain(app, now + 2 * LATER) == 0  # nothing sent twice


def test_an_edit_is_forwarded_as_a_new_version_that_names_what_it_supersedes(
    app, register, submit, visit_form, project
):
    first = submit(instance("visit", "uuid:v1", gap="co"))
    submit(instance("visit", "uuid:v2", deprecated_id="uuid:v1", gap="khong"))
    assert drain(app) == 2
    documents = {d["submission"]["versionInstanceId"]: d for d in register.stored.values()}
    edited = documents["uuid:v2"]
    assert edited["submission"]["instanceId"] == first.instance_id == "uuid:v1"
    assert edited["submission"]["deprecatedId"] == "uuid:v1"
    assert edited["supersedes"] == idempotency_key(project.id, "visit", "uuid:v1")
    assert edited["answers"]["gap"] == "khong"


def test_500_then_200_is_retried_and_stored_once(app, db, register, submit, visit_form):
    register.script.extend([Scripted(500), Scripted(200)])
    submit()
    now = utcnow()
    assert drain(app, now) == 1
    [delivery] = all_deliveries(db)
    assert delivery.state == "pending"
    assert delivery.last_status == 500
    assert delivery.next_attempt_at > now
    drain(app, now + LATER)
    [delivery] = all_deliveries(db)
    assert delivery.state == "delivered"
    assert len(register.posts) == 2
    assert len(register.stored) == 1


def test_503_with_retry_after_waits_at_least_that_long(app, db, register, submit, visit_form):
    register.script.append(Scripted(503, {"Retry-After": "900"}))
    submit()
    now = utcnow()
    drain(app, now)
    [delivery] = all_deliveries(db)
    assert delivery.next_attempt_at >= now + timedelta(seconds=900)
    assert drain(app, now + timedelta(seconds=600)) == 0  # not due yet
    drain(app, now + timedelta(seconds=901))
    assert all_deliveries(db)[0].state == "delivered"


def test_a_register_that_hangs_past_the_timeout_is_retried(app, db, register, submit, visit_form):
    register.script.append(Scripted(200, delay=5))  # timeout is 3 s in these tests
    submit()
    now = utcnow()
    drain(app, now)
    [delivery] = all_deliveries(db)
    assert delivery.state == "pending"
    assert delivery.last_error == "timeout"
    drain(app, now + LATER)
    assert all_deliveries(db)[0].state == "delivered"
    assert len(register.stored) == 1  # the hung request may have landed: dropped by key


def test_register_down_for_1000_submissions_receives_all_once_it_is_back(
    app, db, register, submit, visit_form
):
    url = register.url
    register.stop()  # connections refused
    for n in range(1000):
        submit(instance("visit", f"uuid:outage-{n:04d}", gap="co"))
    now = utcnow()
    drain(app, now)
    rows = all_deliveries(db)
    attempted = [d for d in rows if d.attempts]
    assert len(attempted) == 1  # a failing register is probed, not hammered with the backlog
    for day in range(1, 4):  # still down over a long weekend: only the probe is tried
        drain(app, now + timedelta(days=day))
    assert sum(d.attempts > 0 for d in all_deliveries(db)) == 1
    assert register.start() == url  # back on the same port
    drain(app, now + timedelta(days=4))
    assert {d.state for d in all_deliveries(db)} == {"delivered"}
    assert len(register.stored) == 1000
    assert len(register.posts) == 1000  # none sent twice


def test_a_400_fails_that_delivery_only_and_keeps_the_answer(app, db, register, submit, visit_form):
    register.refuse["uuid:bad"] = 400
    submit(instance("visit", "uuid:good1", gap="co"))
    submit(instance("visit", "uuid:bad", gap="co"))
    submit(instance("visit", "uuid:good2", gap="co"))
    drain(app)
    states = {d.submission_version_id: (d.state, d.last_error) for d in all_deliveries(db)}
    assert sorted(s for s, _ in states.values()) == ["dead", "delivered", "delivered"]
    [why] = [e for s, e in states.values() if s == "dead"]
    assert "400" in why
    assert "missing ward code" in why
    assert len(register.stored) == 2


def test_a_dead_delivery_can_be_retried_by_hand(app, db, register, submit, visit_form):
    register.refuse["uuid:bad"] = 422
    submit(instance("visit", "uuid:bad", gap="co"))
    drain(app)
    assert all_deliveries(db)[0].state == "dead"
    del register.refuse["uuid:bad"]
    with db.transaction() as session:
        assert deliveries.retry(session, SYSTEM, None) == 1
    drain(app)
    assert all_deliveries(db)[0].state == "delivered"
    assert len(register.stored) == 1


def test_stats_count_pending_delivered_dead_and_oldest_age(app, db, register, submit, visit_form):
    register.refuse["uuid:bad"] = 400
    submit(instance("visit", "uuid:bad", gap="co"))
    submit(instance("visit", "uuid:ok", gap="co"))
    drain(app)
    submit(instance("visit", "uuid:waiting", gap="co"))
    with db.transaction(write=False) as session:
        [row] = deliveries.stats(session, utcnow() + timedelta(minutes=5))
    assert (row.target, row.pending, row.delivered, row.dead) == (register.url, 1, 1, 1)
    assert row.oldest_pending_seconds >= 300


def test_the_signature_is_hmac_sha256_of_the_exact_body():
    body = json.dumps({"a": 1}).encode()
    header = signing.sign("k", body)
    assert header.startswith("sha256=")
    assert signing.verify("k", body, header)
    assert not signing.verify("k", body + b" ", header)
