"""HMAC-SHA256 over the exact body bytes, sent as `X-Donghanh-Signature: sha256=<hex>`."""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Donghanh-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a register does with the header (used by the tests' loopback register)."""
    return hmac.compare_digest(sign(secret, body), header or "")
