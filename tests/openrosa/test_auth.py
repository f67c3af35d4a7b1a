"""Field authentication: Digest challenges Collect answers, Basic only over HTTPS, and the
credentials at rest (argon2 hash and Digest HA1, never the password)."""

from __future__ import annotations

import hashlib

import requests
from sqlalchemy import select

from server.models.actors import User
from server.models.submissions import Submission
from server.services import projects
from tests.support.collect import Collect
from tests.support.xmls import instance

PASSWORD = "correct horse battery"
OPENROSA = {"X-OpenRosa-Version": "1.0"}


def test_request_without_credentials_gets_a_digest_challenge(live_server, project):
    response = requests.get(
        f"{live_server}/v1/projects/{project.id}/formList", headers=OPENROSA, timeout=10
    )
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Digest ")
    assert 'qop="auth"' in challenge
    assert 'realm="donghanh"' in challenge
    assert "algorithm=MD5" in challenge
    assert "nonce=" in challenge
    assert b"OpenRosaResponse" in response.content


def test_head_without_credentials_gets_401_so_collect_asks_for_them(live_server, project):
    response = requests.head(
        f"{live_server}/v1/projects/{project.id}/submission", headers=OPENROSA, timeout=10
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Digest ")


def test_web_user_with_digest_lists_forms_and_submits(
    db, live_server, project, make_user, visit_form
):
    user = make_user("tnv@example.org", PASSWORD, "collector", project.id)
    collect = Collect(f"{live_server}/v1/projects/{project.id}", "tnv@example.org", PASSWORD)
    assert [f["formID"] for f in collect.form_list()] == ["visit"]
    [reply] = collect.submit(instance("visit", "uuid:d1", gap="co"))
    assert reply.status == 201
    with db.transaction(write=False) as session:
        assert session.scalar(select(Submission.submitter_id)) == user.actor_id


def test_a_captured_digest_request_cannot_be_replayed(live_server, project, make_user, visit_form):
    make_user("tnv@example.org", PASSWORD, "collector", project.id)
    collect = Collect(f"{live_server}/v1/projects/{project.id}", "tnv@example.org", PASSWORD)
    first = collect.get(f"{collect.server_url}/formList")
    assert first.status_code == 200
    captured = first.request.headers["Authorization"]  # what a listener on the network saw
    assert "nc=00000001" in captured
    replay = requests.get(
        first.request.url,
        headers={**OPENROSA, "Authorization": captured},
        timeout=10,
    )
    assert replay.status_code == 401
    assert "stale=true" in replay.headers["WWW-Authenticate"]  # a fresh nonce, not the list
    assert b"<formID>" not in replay.content
    again = collect.get(f"{collect.server_url}/formList")  # the phone itself goes on: nc 2
    assert again.status_code == 200
    assert "nc=00000002" in again.request.headers["Authorization"]


def test_wrong_password_is_refused(live_server, project, make_user, visit_form):
    make_user("tnv@example.org", PASSWORD, "collector", project.id)
    collect = Collect(f"{live_server}/v1/projects/{project.id}", "tnv@example.org", "wrong pass 1")
    response = collect.get(f"{collect.server_url}/formList")
    assert response.status_code == 401


def test_user_without_a_role_in_the_project_is_refused(
    db, live_server, project, make_user, visit_form
):
    with db.transaction() as session:
        other = projects.create_project(session, None, "Other")
    make_user("other@example.org", PASSWORD, "collector", other.id)
    collect = Collect(f"{live_server}/v1/projects/{project.id}", "other@example.org", PASSWORD)
    assert collect.get(f"{collect.server_url}/formList").status_code == 403


def test_basic_auth_is_refused_over_plain_http(live_server, project, make_user, visit_form):
    make_user("tnv@example.org", PASSWORD, "collector", project.id)
    response = requests.get(
        f"{live_server}/v1/projects/{project.id}/formList",
        auth=("tnv@example.org", PASSWORD),
        headers=OPENROSA,
        timeout=10,
    )
    assert response.status_code == 401
    assert b"HTTPS" in response.content


def test_basic_auth_is_refused_when_an_untrusted_peer_claims_https(
    live_server, project, make_user, visit_form
):
    # Accepted only from a TRUSTED_PROXIES peer: tests/auth/test_trusted_proxies.py.
    make_user("tnv@example.org", PASSWORD, "collector", project.id)
    response = requests.get(
        f"{live_server}/v1/projects/{project.id}/formList",
        auth=("tnv@example.org", PASSWORD),
        headers={**OPENROSA, "X-Forwarded-Proto": "https"},
        timeout=10,
    )
    assert response.status_code == 401
    assert b"<formID>visit</formID>" not in response.content


def test_password_is_kept_as_argon2_hash_and_digest_ha1_only(db, make_user):
    make_user("tnv@example.org", PASSWORD)
    with db.transaction(write=False) as session:
        user = session.scalar(select(User))
    assert user.password_hash.startswith("$argon2id$")
    assert (
        user.digest_ha1 == hashlib.md5(f"tnv@example.org:donghanh:{PASSWORD}".encode()).hexdigest()
    )
    assert PASSWORD not in (user.password_hash + user.digest_ha1)


def test_each_nonce_count_is_accepted_once_per_user_and_forgotten_after_the_nonce_expires(
    db, make_user
):
    from datetime import timedelta

    from server.auth.digest import NONCE_SECONDS
    from server.models.actors import DigestNonceUse
    from server.models.types import utcnow
    from server.services.sessions import use_digest_nonce

    one = make_user("one@example.org").actor_id
    two = make_user("two@example.org").actor_id
    then = utcnow()
    with db.transaction() as session:
        assert use_digest_nonce(session, one, "n1", 1, then) is True
        assert use_digest_nonce(session, one, "n1", 2, then) is True
        assert use_digest_nonce(session, one, "n1", 1, then) is False  # replayed
        assert use_digest_nonce(session, one, "n1", -1, then) is False  # malformed nc
        assert use_digest_nonce(session, two, "n1", 1, then) is True  # not spent for another
    later = then + timedelta(seconds=NONCE_SECONDS + 1)
    with db.transaction() as session:
        assert use_digest_nonce(session, one, "n2", 1, later) is True
        kept = session.scalars(select(DigestNonceUse.nonce)).all()
    assert kept == ["n2"]  # n1's uses are dropped once n1 could no longer be accepted


def _challenge_nonce(live_server, project) -> str:
    response = requests.get(
        f"{live_server}/v1/projects/{project.id}/formList", headers=OPENROSA, timeout=10
    )
    return response.headers["WWW-Authenticate"].split('nonce="', 1)[1].split('"', 1)[0]


def _digest_header(email: str, password: str, nonce: str, uri: str, nc: int = 1) -> str:
    """What a Digest client sends (RFC 7616, MD5, qop=auth), built by hand from a nonce."""

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = md5(f"{email}:donghanh:{password}"), md5(f"GET:{uri}")
    count, cnonce = f"{nc:08x}", "0a4f113b0a4f113b"
    response = md5(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
    return (
        f'Digest username="{email}", realm="donghanh", nonce="{nonce}", uri="{uri}", '
        f'response="{response}", qop=auth, nc={count}, cnonce="{cnonce}", algorithm=MD5'
    )


def test_every_challenge_has_its_own_nonce_and_an_opaque_not_derived_from_the_secret(
    live_server, project
):
    seen = [
        requests.get(
            f"{live_server}/v1/projects/{project.id}/formList", headers=OPENROSA, timeout=10
        ).headers["WWW-Authenticate"]
        for _ in range(3)
    ]
    nonces = {h.split('nonce="', 1)[1].split('"', 1)[0] for h in seen}
    opaques = {h.split('opaque="', 1)[1].split('"', 1)[0] for h in seen}
    assert len(nonces) == 3
    assert len(opaques) == 3
    from tests.conftest import SECRET

    assert hashlib.md5(f"donghanh:{SECRET[:8]}".encode()).hexdigest() not in opaques


def test_one_user_spending_a_nonce_count_does_not_fail_another_users_request(
    live_server, project, make_user, visit_form
):
    make_user("one@example.org", PASSWORD, "collector", project.id)
    make_user("two@example.org", PASSWORD, "collector", project.id)
    nonce = _challenge_nonce(live_server, project)
    uri = f"/v1/projects/{project.id}/formList"
    for email in ("one@example.org", "two@example.org"):  # the same nonce and nc, two users
        response = requests.get(
            live_server + uri,
            headers={**OPENROSA, "Authorization": _digest_header(email, PASSWORD, nonce, uri)},
            timeout=10,
        )
        assert response.status_code == 200, email
        assert b"<formID>visit</formID>" in response.content


def test_the_query_string_is_covered_by_the_digest_check(
    live_server, project, make_user, visit_form
):
    make_user("tnv@example.org", PASSWORD, "collector", project.id)
    nonce = _challenge_nonce(live_server, project)
    signed = f"/v1/projects/{project.id}/formList?formID=visit"
    header = _digest_header("tnv@example.org", PASSWORD, nonce, signed)
    changed = requests.get(
        f"{live_server}/v1/projects/{project.id}/formList?formID=other",
        headers={**OPENROSA, "Authorization": header},
        timeout=10,
    )
    assert changed.status_code == 401  # the query was changed on the way
    sent = requests.get(
        live_server + signed, headers={**OPENROSA, "Authorization": header}, timeout=10
    )
    assert sent.status_code == 200
    assert b"<formID>visit</formID>" in sent.content
