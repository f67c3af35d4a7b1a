"""Wrong passwords are limited per account *and* address, with a wait that grows, alike for the
web login, POST /v1/sessions, Basic and Digest: nobody at another address can lock the real
user out, an address full of unknown accounts does not shut its known ones out, every failure
is audited with its address (never the password), and an unknown account costs the same argon2
verification as a known one."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from requests.auth import HTTPDigestAuth
from sqlalchemy import select

from server.auth import passwords
from server.models.audits import Audit
from server.models.types import utcnow
from server.services import sessions, throttle
from tests.web.conftest import log_in

PASSWORD = "correct horse battery"
ATTACKER, OWNER = "203.0.113.5", "198.51.100.7"
OPENROSA = {"X-OpenRosa-Version": "1.0"}


def limits(**changes) -> sessions.LoginLimits:
    return sessions.LoginLimits(throttling=throttle.ThrottleLimits(**changes))


def try_password(db, email, password, address, now, **changes):
    with db.transaction() as session:
        return sessions.log_in(session, email, password, address, "bearer", limits(**changes), now)


def failures(db) -> list[Audit]:
    with db.transaction(write=False) as session:
        return list(session.scalars(select(Audit).where(Audit.action == "user.session.failed")))


def test_failures_from_another_address_never_make_the_real_user_wait(db, make_user):
    make_user("admin@example.org", role="admin")
    now = utcnow()
    for i in range(20):
        try_password(db, "admin@example.org", f"guess {i}", ATTACKER, now)
    assert try_password(db, "admin@example.org", PASSWORD, OWNER, now).issued is not None
    refused = try_password(db, "admin@example.org", PASSWORD, ATTACKER, now)
    assert refused.issued is None
    assert refused.locked_until > now  # the attacker's own address waits


def test_the_wait_doubles_with_each_failure_and_a_right_password_clears_it(db, make_user):
    make_user("lan@example.org")
    now = utcnow()
    results = [try_password(db, "lan@example.org", "wrong", OWNER, now) for _ in range(5)]
    assert [r.locked_until for r in results[:4]] == [None] * 4
    assert results[4].locked_until == now + timedelta(seconds=30)
    checked = passwords.verifications()
    waiting = try_password(db, "lan@example.org", PASSWORD, OWNER, now + timedelta(seconds=29))
    assert waiting.issued is None
    assert passwords.verifications() == checked  # refused unchecked while it waits
    later = now + timedelta(seconds=31)
    sixth = try_password(db, "lan@example.org", "wrong", OWNER, later)
    assert sixth.locked_until == later + timedelta(seconds=60)
    after = later + timedelta(seconds=61)
    assert try_password(db, "lan@example.org", PASSWORD, OWNER, after).issued is not None
    # The count was cleared: four wrong passwords cost nothing again.
    again = [try_password(db, "lan@example.org", "x", OWNER, after) for _ in range(4)]
    assert [r.locked_until for r in again] == [None] * 4


def test_the_longest_wait_is_bounded(db, make_user):
    make_user("lan@example.org")
    at, waits = utcnow(), []
    for _ in range(12):  # each try right after the previous wait ended
        until = try_password(db, "lan@example.org", "wrong", OWNER, at).locked_until
        waits.append(until - at if until else None)
        at = (until or at) + timedelta(seconds=1)
    assert waits[:4] == [None] * 4
    assert [w.total_seconds() for w in waits[4:]] == [30, 60, 120, 240, 480, 900, 900, 900]


def test_unknown_accounts_behind_one_address_do_not_shut_out_its_known_ones(db, make_user):
    make_user("lan@example.org")
    now = utcnow()
    cap = {"address_failures": 3}
    for i in range(6):  # a mistyped list of emails behind a carrier's one address
        try_password(db, f"nobody{i}@example.org", "x", ATTACKER, now, **cap)
    past_cap = try_password(db, "nobody9@example.org", "x", ATTACKER, now, **cap)
    assert past_cap.locked_until is not None  # failures from there are now answered 429
    assert try_password(db, "lan@example.org", PASSWORD, ATTACKER, now, **cap).issued is not None
    assert try_password(db, "lan@example.org", PASSWORD, OWNER, now, **cap).issued is not None


def test_failures_are_audited_with_the_address_never_the_password(db, make_user):
    make_user("lan@example.org")
    try_password(db, "lan@example.org", "my secret guess", ATTACKER, utcnow())
    try_password(db, "ghost@example.org", "another guess", ATTACKER, utcnow())
    rows = failures(db)
    assert [r.details for r in rows] == [
        {"email": "lan@example.org", "address": ATTACKER, "via": "api"},
        {"email": "ghost@example.org", "address": ATTACKER, "via": "api"},
    ]
    assert rows[0].actor_id is not None
    assert rows[1].actor_id is None


# --- The same limits over HTTP, for every way of logging in ------------------------------


def test_session_api_waits_per_account_and_address(app, db, make_user):
    make_user("lan@example.org")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = ATTACKER
    body = {"email": "lan@example.org", "password": "wrong"}
    statuses = [attacker.post("/v1/sessions", json=body).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    refused = attacker.post("/v1/sessions", json={**body, "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.json["code"] == 429.1
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = OWNER
    assert owner.post("/v1/sessions", json={**body, "password": PASSWORD}).status_code == 200


def test_basic_is_throttled_like_the_login_page(app, db, make_user, project, visit_form):
    make_user("tnv@example.org", PASSWORD, "collector", project.id)
    url = f"/v1/projects/{project.id}/formList"
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = ATTACKER

    def basic(client, password):
        return client.get(
            url,
            headers={**OPENROSA, "Authorization": _basic("tnv@example.org", password)},
            base_url="https://donghanh.example.org",
        ).status_code

    assert [basic(attacker, f"wrong{i}") for i in range(5)] == [401, 401, 401, 401, 429]
    assert basic(attacker, PASSWORD) == 429
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = OWNER
    assert basic(owner, PASSWORD) == 200
    assert {r.details["via"] for r in failures(db)} == {"basic"}
    assert {r.details["address"] for r in failures(db)} == {ATTACKER}


def test_digest_is_throttled_like_the_login_page(live_server, db, make_user, project, visit_form):
    make_user("tnv@example.org", PASSWORD, "collector", project.id)
    url = f"{live_server}/v1/projects/{project.id}/formList"
    statuses = [
        requests.get(
            url, auth=HTTPDigestAuth("tnv@example.org", f"wrong{i}"), headers=OPENROSA
        ).status_code
        for i in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    right = requests.get(url, auth=HTTPDigestAuth("tnv@example.org", PASSWORD), headers=OPENROSA)
    assert right.status_code == 429  # this account waits at this address
    assert failures(db)[0].details == {
        "email": "tnv@example.org",
        "address": "127.0.0.1",
        "via": "digest",
    }


# --- No timing tells real accounts from unknown ones -------------------------------------


@pytest.mark.parametrize("email", ["lan@example.org", "nobody@example.org"])
def test_a_wrong_password_costs_one_argon2_verification_known_account_or_not(
    app, make_user, project, email
):
    make_user("lan@example.org", PASSWORD, "collector", project.id)
    client = app.test_client()
    before = passwords.verifications()
    assert (
        client.post("/v1/sessions", json={"email": email, "password": "wrong"}).status_code == 401
    )
    assert passwords.verifications() == before + 1
    assert log_in(client, email, "wrong").status_code == 401
    assert passwords.verifications() == before + 2
    basic = client.get(
        f"/v1/projects/{project.id}/formList",
        headers={**OPENROSA, "Authorization": _basic(email, "wrong")},
        base_url="https://donghanh.example.org",
    )
    assert basic.status_code == 401
    assert passwords.verifications() == before + 3


def test_the_dummy_hash_never_lets_anyone_in():
    assert passwords.verify_password(None, "") is False
    assert passwords.verify_password(None, "anything at all") is False


def _basic(email: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()


def test_pausing_after_a_wait_does_not_buy_free_guesses_again(db, make_user):
    """Forgiving a pair after LOGIN_LOCK_MINUTES of quiet gave a patient guesser its free
    failures back every quarter hour (about 460 guesses a day instead of about 100): the
    count is kept until a right password clears it, or the pair has been quiet for a day."""
    make_user("lan@example.org")
    now = utcnow()
    for _ in range(5):
        try_password(db, "lan@example.org", "wrong", ATTACKER, now)
    later = now + timedelta(minutes=16)
    assert try_password(db, "lan@example.org", "wrong", ATTACKER, later).locked_until == (
        later + timedelta(seconds=60)
    )
    next_day = later + timedelta(days=1, minutes=2)
    assert try_password(db, "lan@example.org", "wrong", ATTACKER, next_day).locked_until is None
