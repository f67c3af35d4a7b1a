"""App-user tokens: 64 characters of [A-Za-z0-9!$] (Central's alphabet), kept only as sha256."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9!$]{64}$")


def new_token() -> str:
    """48 random bytes, base64 with '/' -> '!' and '+' -> '$' (URL-safe in Collect's settings)."""
    raw = base64.b64encode(secrets.token_bytes(48)).decode("ascii")
    return raw.replace("/", "!").replace("+", "$")


def is_well_formed(token: str) -> bool:
    return bool(TOKEN_PATTERN.match(token))


def token_sha256(token: str) -> str:
    """The stored form of a token. A fast hash is enough: tokens carry 384 random bits."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()
