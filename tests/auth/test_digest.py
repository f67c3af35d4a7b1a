"""Digest verification against RFC 7616's worked example and our signed, expiring nonces."""

from __future__ import annotations

import hashlib

import pytest

from server.auth import digest
from server.auth.passwords import digest_ha1

SECRET = "s3cret"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def creds(
    ha1: str, nonce: str, method="GET", uri="/v1/projects/1/formList", qop="auth", algorithm="MD5"
) -> digest.DigestCredentials:
    nc, cnonce = "00000001", "0a4f113b"
    ha2 = md5(f"{method}:{uri}")
    response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return digest.parse(
        {
            "username": "u@x.org",
            "realm": "donghanh",
            "nonce": nonce,
            "uri": uri,
            "response": response,
            "qop": qop,
            "nc": nc,
            "cnonce": cnonce,
            "algorithm": algorithm,
        }
    )


def test_rfc7616_md5_example_verifies():
    # RFC 7616 section 3.9.1 (MD5): Mufasa / Circle of Life.
    params = {
        "username": "Mufasa",
        "realm": "http-auth@example.org",
        "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        "uri": "/dir/index.html",
        "qop": "auth",
        "nc": "00000001",
        "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        "response": "8ca523f5e9506fed4657c9700eebdbec",
        "algorithm": "MD5",
    }
    ha1 = md5("Mufasa:http-auth@example.org:Circle of Life")
    assert digest.verify(digest.parse(params), ha1, "GET")
    assert not digest.verify(digest.parse(params), ha1, "POST")


def test_fresh_signed_nonce_is_ok_old_one_is_stale_forged_one_is_bad():
    nonce = digest.make_nonce(SECRET, now=1_000_000)
    assert digest.nonce_state(SECRET, nonce, now=1_000_010) == "ok"
    assert digest.nonce_state(SECRET, nonce, now=1_000_000 + digest.NONCE_SECONDS + 1) == "stale"
    assert digest.nonce_state("other", nonce, now=1_000_010) == "bad"
    assert digest.nonce_state(SECRET, "zz.abc", now=1_000_010) == "bad"


def test_challenge_offers_md5_qop_auth_and_stale_flag():
    value = digest.challenge("donghanh", SECRET, now=5, stale=True)
    assert value.startswith('Digest realm="donghanh", qop="auth", algorithm=MD5')
    assert value.endswith("stale=true")


@pytest.mark.parametrize(
    ("algorithm", "qop", "ok"),
    [("MD5", "auth", True), ("SHA-256", "auth", False), ("MD5", "auth-int", False)],
)
def test_only_md5_with_qop_auth_is_accepted(algorithm, qop, ok):
    ha1 = digest_ha1("u@x.org", "donghanh", "pw")
    assert digest.verify(creds(ha1, "n", qop=qop, algorithm=algorithm), ha1, "GET") is ok


def test_wrong_password_gives_a_different_response():
    right = digest_ha1("u@x.org", "donghanh", "pw")
    wrong = digest_ha1("u@x.org", "donghanh", "pw2")
    assert not digest.verify(creds(wrong, "n"), right, "GET")


def test_two_challenges_in_the_same_second_get_different_nonces_and_opaques():
    first = digest.challenge("donghanh", SECRET, now=5)
    second = digest.challenge("donghanh", SECRET, now=5)
    nonce = [h.split('nonce="')[1].split('"')[0] for h in (first, second)]
    opaque = [h.split('opaque="')[1].split('"')[0] for h in (first, second)]
    assert nonce[0] != nonce[1]
    assert opaque[0] != opaque[1]
    assert all(digest.nonce_state(SECRET, n, now=6) == "ok" for n in nonce)


def test_a_nonce_with_its_random_part_changed_is_bad():
    stamp, _salt, mac = digest.make_nonce(SECRET, now=5).split(".")
    assert digest.nonce_state(SECRET, f"{stamp}.{'0' * 16}.{mac}", now=6) == "bad"


@pytest.mark.parametrize(
    ("sent", "ok"),
    [
        ("/v1/projects/1/submission?deviceID=collect%3AAbC", True),  # what Collect sends
        ("http://host/v1/projects/1/submission?deviceID=collect%3AAbC", True),  # absolute
        ("/v1/projects/1/submission", False),  # the query left out
        ("/v1/projects/1/submission?deviceID=collect%3AXyZ", False),  # another query
        ("/v1/projects/2/submission?deviceID=collect%3AAbC", False),
    ],
)
def test_the_uri_must_name_the_whole_request(sent, ok):
    path, query = "/v1/projects/1/submission", "deviceID=collect%3AAbC"
    assert digest.uri_matches(sent, path, query) is ok


def test_a_percent_encoded_path_matches_the_decoded_wsgi_path():
    wsgi_path = "/v1/projects/1/forms/thăm/draft.xml".encode().decode("latin-1")
    assert digest.uri_matches("/v1/projects/1/forms/th%C4%83m/draft.xml", wsgi_path, "")
