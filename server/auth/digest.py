"""HTTP Digest (RFC 7616, MD5, qop=auth), as ODK Collect's okhttp-digest speaks it. Pure.

Nonces are random per challenge and stateless to check: a hex timestamp and 64 random bits,
signed with HMAC-SHA256 of the secret key, so any gunicorn worker can check them and no two
clients share one. A nonce older than NONCE_SECONDS is answered with stale=true, which Collect
retries silently (odk-protocol.md section 4). Each (user, nonce, nc) is accepted once (the
database remembers them for NONCE_SECONDS): a captured request sent again is a replay,
answered like a stale nonce, and one user's uses never spend another's. The ``uri`` checked
is the whole request-URI, query string included (Collect sends the path with its query).
``opaque`` is random: nothing public is derived from the secret key but the nonces' MACs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes, urlsplit

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


def _nonce_mac(secret: str, stamp: str, salt: str) -> str:
    message = f"digest-nonce:{stamp}.{salt}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def make_nonce(secret: str, now: float) -> str:
    """A nonce for one challenge: issue time, 64 random bits, and their MAC."""
    stamp, salt = f"{int(now):x}", secrets.token_hex(8)
    return f"{stamp}.{salt}.{_nonce_mac(secret, stamp, salt)}"


def nonce_state(secret: str, nonce: str, now: float) -> str:
    """'ok', 'stale' (well signed but old) or 'bad'."""
    parts = nonce.split(".")
    if len(parts) != 3:
        return "bad"
    stamp, salt, mac = parts
    try:
        issued = int(stamp, 16)
    except ValueError:
        return "bad"
    if not hmac.compare_digest(mac, _nonce_mac(secret, stamp, salt)):
        return "bad"
    return "ok" if 0 <= now - issued <= NONCE_SECONDS else "stale"


def challenge(realm: str, secret: str, now: float, stale: bool = False) -> str:
    """The WWW-Authenticate header value for a 401 (a fresh nonce, a random opaque that
    Collect echoes and nothing checks)."""
    value = (
        f'Digest realm="{realm}", qop="auth", algorithm=MD5, '
        f'nonce="{make_nonce(secret, now)}", opaque="{secrets.token_hex(16)}", domain="/"'
    )
    return value + (", stale=true" if stale else "")


def uri_matches(sent: str, path: str, query: str) -> bool:
    """True when the credentials' ``uri`` names this very request: its path (WSGI's
    PATH_INFO, percent-decoded, as latin-1 text) and its raw query string, both whole."""
    parts = urlsplit(sent)  # an absolute URI (RFC 7616 allows it) keeps its path and query
    try:
        sent_path = unquote_to_bytes(parts.path).decode("latin-1")
    except ValueError:
        return False
    return sent_path == path and parts.query == query


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
