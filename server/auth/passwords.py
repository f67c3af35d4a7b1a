"""Passwords: argon2id hashes (argon2-cffi defaults: RFC 9106 low-memory profile,
t=3, m=64 MiB, p=4) and the Digest HA1 kept beside them. Never stores a password.

An unknown account is verified against a dummy hash made with the same parameters, so that
refusing it takes as long as refusing a wrong password (no timing tells which accounts exist).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading

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


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password nobody knows, made once per process (not at import)."""
    return _HASHER.hash(secrets.token_urlsafe(24))


_counted = threading.Lock()
_verified = [0]


def verifications() -> int:
    """How many argon2 verifications this process has run: what tests observe to know that an
    unknown account costs a verification too."""
    return _verified[0]


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``. With no hash (an unknown account) it
    verifies against the dummy hash, taking the same time, and returns False."""
    target = stored_hash or _dummy_hash()
    with _counted:
        _verified[0] += 1
    try:
        return _HASHER.verify(target, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def digest_ha1(username: str, realm: str, password: str) -> str:
    """HA1 = MD5(username:realm:password), what HTTP Digest needs instead of the password."""
    return hashlib.md5(
        f"{username}:{realm}:{password}".encode("ascii"), usedforsecurity=False
    ).hexdigest()
