"""Passwords: argon2id hashes (argon2-cffi defaults: RFC 9106 low-memory profile,
t=3, m=64 MiB, p=4), the Digest HA1 kept beside them for accounts that use Digest, and the
one password policy (length, and zxcvbn's estimate, as Central's lib/util/crypto.js).
Never stores a password.

An unknown account is verified against a dummy hash made with the same parameters, so that
refusing it takes as long as refusing a wrong password (no timing tells which accounts exist).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading

import zxcvbn
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import (
    PasswordNotAscii,
    PasswordTooLong,
    PasswordTooShort,
    WeakPassword,
)

_HASHER = PasswordHasher()
MIN_LENGTH = 10  # Central's
MAX_LENGTH = 72  # Central's (bcrypt's limit there); zxcvbn reads no more than this
MIN_SCORE = 3  # zxcvbn scores 0-4; Central refuses 2 and below


def check_policy(password: str, email: str = "", digest: bool = False) -> None:
    """Refuse a password shorter than MIN_LENGTH or longer than MAX_LENGTH, one that zxcvbn
    finds easy to guess (common passwords, keyboard walks, repeats, dates, the user's own
    email), or, for an account that uses Digest, one that is not ASCII.

    Raises WeakPassword (or one of its subclasses).
    """
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise PasswordTooShort()
    if len(password) > MAX_LENGTH:
        raise PasswordTooLong()
    if digest and not password.isascii():
        raise PasswordNotAscii()
    hints = [email, *email.replace("@", ".").split(".")] if email else []
    result = zxcvbn.zxcvbn(password, user_inputs=[h for h in hints if h])
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        why = feedback.get("warning") or next(iter(feedback.get("suggestions") or []), "")
        raise WeakPassword(f"The supplied password is too weak. {why}".strip(), warning=why or None)


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
    """HA1 = MD5(username:realm:password), what HTTP Digest needs instead of the password.

    A password equivalent: kept only for accounts that use Digest (User.uses_digest)."""
    return hashlib.md5(
        f"{username}:{realm}:{password}".encode("ascii"), usedforsecurity=False
    ).hexdigest()
