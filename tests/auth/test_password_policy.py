"""The one password policy (auth/passwords.check_policy): at least 10 characters, at most 72,
and not easy to guess by zxcvbn's estimate (common passwords, repeats, the user's own email),
ASCII only for accounts that use Digest. Used by every way a password is set."""

from __future__ import annotations

import pytest

from server.auth.passwords import (
    PasswordNotAscii,
    PasswordTooLong,
    PasswordTooShort,
    WeakPassword,
    check_policy,
)


@pytest.mark.parametrize(
    ("password", "refused"),
    [
        ("short", PasswordTooShort),
        ("x" * 73, PasswordTooLong),
        ("aaaaaaaaaa", WeakPassword),  # ten a's: long enough, guessed at once
        ("password123", WeakPassword),
        ("qwertyuiop", WeakPassword),  # a keyboard walk
        ("iloveyou12", WeakPassword),
        ("1234567890", WeakPassword),
        ("lan.nguyen@example.org", WeakPassword),  # the account's own email
    ],
)
def test_the_policy_refuses_short_long_and_guessable_passwords(password, refused):
    with pytest.raises(refused) as caught:
        check_policy(password, "lan.nguyen@example.org")
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "password", ["correct horse battery", "Mây trắng bay qua đồi", "Tr4ng-Thu-Mu@2026-xanh"]
)
def test_the_policy_accepts_long_unusual_passwords(password):
    check_policy(password, "lan.nguyen@example.org")


def test_errors_carry_central_codes():
    codes = {}
    for password in ("short", "x" * 73, "password123"):
        with pytest.raises(WeakPassword) as caught:
            check_policy(password)
        codes[password[:5]] = caught.value.code
    assert codes == {"short": "400.21", "xxxxx": "400.38", "passw": "400.44"}


def test_diacritics_are_refused_only_for_accounts_that_use_digest():
    check_policy("Mây trắng bay qua đồi", digest=False)
    with pytest.raises(PasswordNotAscii):
        check_policy("Mây trắng bay qua đồi", digest=True)


def test_digest_refuses_an_account_without_ha1():
    """An account with Digest off has no HA1: no response verifies against it, not even the
    one computed from the text "None" or an empty HA1."""
    from dataclasses import replace

    from server.auth import digest

    creds = digest.DigestCredentials(
        "u@x.org", "donghanh", "n", "/v1/x", "", None, None, None, "MD5"
    )
    for missing in (None, ""):
        forged = replace(creds, response=digest.expected_response(creds, str(missing), "GET"))
        assert digest.verify(forged, missing, "GET") is False
