"""HTTP Digest (RFC 7616, MD5, qop=auth), as ODK Collect's okhttp-digest speaks it. Pure.

Nonces are stateless: a hex timestamp signed with HMAC-SHA256 of the secret key, so any
gunicorn worker can check them. A nonce older than NONCE_SECONDS is answered with
stale=true, which Collect retries silently (odk-protocol.md section 4). Each (nonce, nc)
pair is accepted once (the database remembers them for NONCE_SECONDS): a captured request
sent again is a replay, answered like a stale nonce.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

NONCE_SECONDS = 600


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    qop: str | None
    nc: str | None
    cnonce: str | None
    algorithm: str


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def make_nonce(secret: str, now: float) -> str:
    stamp = f"{int(now):x}"
    mac = hmac.new(secret.encode(), stamp.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{stamp}.{mac}"


def nonce_state(secret: str, nonce: str, now: float) -> str:
    """'ok', 'stale' (well signed but old) or 'bad'."""
    stamp, _, mac = nonce.partition(".")
    try:
        issued = int(stamp, 16)
    except ValueError:
        return "bad"
    expected = hmac.new(secret.encode(), stamp.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(mac, expected):
        return "bad"
    return "ok" if 0 <= now - issued <= NONCE_SECONDS else "stale"


def challenge(realm: str, secret: str, now: float, stale: bool = False) -> str:
    """The WWW-Authenticate header value for a 401."""
    opaque = _md5(f"{realm}:{secret[:8]}")
    value = (
        f'Digest realm="{realm}", qop="auth", algorithm=MD5, '
        f'nonce="{make_nonce(secret, now)}", opaque="{opaque}", domain="/"'
    )
    return value + (", stale=true" if stale else "")


def parse(params: Mapping[str, str]) -> DigestCredentials | None:
    """Credentials from werkzeug's parsed Authorization parameters, or None if incomplete."""
    needed = ("username", "realm", "nonce", "uri", "response")
    if not all(params.get(k) for k in needed):
        return None
    return DigestCredentials(
        username=params["username"],
        realm=params["realm"],
        nonce=params["nonce"],
        uri=params["uri"],
        response=params["response"].lower(),
        qop=params.get("qop"),
        nc=params.get("nc"),
        cnonce=params.get("cnonce"),
        algorithm=(params.get("algorithm") or "MD5").upper(),
    )


def expected_response(creds: DigestCredentials, ha1: str, method: str) -> str | None:
    """The response a client knowing HA1 would send, or None for unsupported parameters."""
    if creds.algorithm == "MD5-SESS":
        if not creds.cnonce:
            return None
        ha1 = _md5(f"{ha1}:{creds.nonce}:{creds.cnonce}")
    elif creds.algorithm != "MD5":
        return None
    ha2 = _md5(f"{method}:{creds.uri}")
    if creds.qop is None:
        return _md5(f"{ha1}:{creds.nonce}:{ha2}")
    if creds.qop != "auth" or not creds.nc or not creds.cnonce:
        return None
    return _md5(f"{ha1}:{creds.nonce}:{creds.nc}:{creds.cnonce}:{creds.qop}:{ha2}")


def verify(creds: DigestCredentials, ha1: str | None, method: str) -> bool:
    """True when the response matches; never for an account with no HA1 (Digest off)."""
    if not ha1:
        return False
    expected = expected_response(creds, ha1, method)
    return expected is not None and hmac.compare_digest(expected, creds.response)


def nonce_count(creds: DigestCredentials) -> int:
    """The request's nc as a number; 0 without qop (such a nonce serves one request)."""
    if creds.qop is None or not creds.nc:
        return 0
    try:
        return int(creds.nc, 16)
    except ValueError:
        return -1
