"""Passwords: argon2id hashes (argon2-cffi defaults: RFC 9106 low-memory profile,
t=3, m=64 MiB, p=4) and the Digest HA1 kept beside them. Never stores a password."""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_LENGTH = 10


class WeakPassword(ValueError):
    """A password the policy refuses."""


def check_policy(password: str) -> None:
    """Refuse passwords shorter than MIN_LENGTH characters, or Digest-incompatible ones."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"The password must have at least {MIN_LENGTH} characters.")
    if not password.isascii():
        raise WeakPassword(
            "Use ASCII characters only: ODK Collect sends Digest credentials as ASCII."
        )


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def digest_ha1(username: str, realm: str, password: str) -> str:
    """HA1 = MD5(username:realm:password), what HTTP Digest needs instead of the password."""
    return hashlib.md5(
        f"{username}:{realm}:{password}".encode("ascii"), usedforsecurity=False
    ).hexdigest()
