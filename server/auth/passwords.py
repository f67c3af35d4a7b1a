"""Passwords: argon2id hashes (argon2-cffi defaults: RFC 9106 low-memory profile,
t=3, m=64 MiB, p=4), the Digest HA1 kept beside them for accounts that use Digest, and the
one password policy (length, and zxcvbn's estimate, as Central's lib/util/crypto.js).
Never stores a password."""

from __future__ import annotations

import hashlib

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


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def digest_ha1(username: str, realm: str, password: str) -> str:
    """HA1 = MD5(username:realm:password), what HTTP Digest needs instead of the password.

    A password equivalent: kept only for accounts that use Digest (User.uses_digest)."""
    return hashlib.md5(
        f"{username}:{realm}:{password}".encode("ascii"), usedforsecurity=False
    ).hexdigest()
