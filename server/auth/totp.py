"""Time-based one-time codes (RFC 6238: 30-second steps, 6 digits, SHA-1, what every
authenticator app reads from an otpauth:// QR code) with pyotp, recovery codes, and the
encryption of the TOTP secret at rest (Fernet, with a key derived from SECRET_KEY by HKDF).
Pure: time and randomness come in as arguments or from ``secrets``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ISSUER = "Đồng Hành"
STEP_SECONDS = 30
WINDOW = 1  # a code of the step before or after is accepted too (a phone's clock drifts)
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read from paper


def new_secret() -> str:
    """A random base32 secret of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: datetime, after_step: int = 0) -> int | None:
    """The time step whose code ``code`` is (within WINDOW steps of ``now``), or None.

    A step not after ``after_step`` is refused: each code is accepted once."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        expected = totp.generate_otp(step)
        if step > after_step and hmac.compare_digest(expected, code):
            return step
    return None


def code_at(secret: str, now: datetime) -> str:
    """The code an authenticator app shows at ``now`` (tests and the CLI use it)."""
    return pyotp.TOTP(secret).at(now)


def new_recovery_codes() -> list[str]:
    """RECOVERY_CODES random codes like ``k7pq-4xrt-m2za`` (about 64 bits each)."""
    return [
        "-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(3))
        for _ in range(RECOVERY_CODES)
    ]


def recovery_sha256(code: str) -> str:
    """How a recovery code is stored and looked up (spaces, dashes and case ignored)."""
    normal = "".join(c for c in code.lower() if c.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"donghanh totp secret"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret_key: str, secret: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def decrypt_secret(secret_key: str, encrypted: str) -> str | None:
    """The secret, or None when SECRET_KEY has changed since it was stored."""
    try:
        return _fernet(secret_key).decrypt(encrypted.encode()).decode()
    except InvalidToken:
        return None
