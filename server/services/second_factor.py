"""The second factor of web users: a time-based one-time code (TOTP) with single-use
recovery codes. Enrolment (a secret shown once, confirmed by a code), the code asked after
the password (web log-in and POST /v1/sessions), disabling (password and code), and the
rule that an administrator must be enrolled before doing anything else. Audited throughout,
never with a secret or a code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from server.auth import passwords, tokens, totp
from server.auth.permissions import Principal, require
from server.errors import (
    AlreadyEnrolled,
    AuthenticationFailed,
    CodeRequired,
    CodesLocked,
    NotEnrolled,
    Problem,
)
from server.models.actors import User, WebSession
from server.models.credentials import RecoveryCode, TotpFactor
from server.models.types import utcnow
from server.services import audit

MAX_FAILURES = 5  # wrong codes in a row before codes are refused for LOCK
LOCK = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str  # shown on the enrolment page until confirmed, never after
    uri: str  # otpauth://, for the QR code


def is_enrolled(session: Session, actor_id: int | None) -> bool:
    if actor_id is None:
        return False
    factor = session.get(TotpFactor, actor_id)
    return factor is not None and factor.confirmed_at is not None


def must_enrol(session: Session, principal: Principal) -> bool:
    """True for an administrator (a site-wide admin role) with no one-time code yet."""
    is_admin = ("admin", None) in principal.roles
    return is_admin and not is_enrolled(session, principal.actor_id)


def begin_enrolment(session: Session, actor_id: int, secret_key: str) -> Enrolment:
    """A new secret for the user to scan (replacing one not yet confirmed). Raises
    AlreadyEnrolled."""
    factor = session.get(TotpFactor, actor_id)
    if factor is not None and factor.confirmed_at is not None:
        raise AlreadyEnrolled()
    secret = totp.new_secret()
    if factor is None:
        factor = TotpFactor(actor_id=actor_id, secret_encrypted="")
        session.add(factor)
    factor.secret_encrypted = totp.encrypt_secret(secret_key, secret)
    factor.created_at, factor.last_step, factor.failures = utcnow(), 0, 0
    session.flush()
    audit.record(session, actor_id, "user.totp.begin", "actor", actor_id)
    email = session.get(User, actor_id).email
    return Enrolment(secret, totp.provisioning_uri(secret, email))


def pending_enrolment(session: Session, actor_id: int, secret_key: str) -> Enrolment | None:
    """The secret being set up (shown again until it is confirmed), or None."""
    factor = session.get(TotpFactor, actor_id)
    if factor is None or factor.confirmed_at is not None:
        return None
    secret = totp.decrypt_secret(secret_key, factor.secret_encrypted)
    if secret is None:
        return None
    email = session.get(User, actor_id).email
    return Enrolment(secret, totp.provisioning_uri(secret, email))


def confirm_enrolment(
    session: Session, actor_id: int, code: str, secret_key: str, now: datetime | None = None
) -> list[str] | None:
    """Turn the code on when ``code`` matches the secret being set up; returns the new
    recovery codes (shown once), or None for a wrong code. Audited."""
    now = now or utcnow()
    factor = session.get(TotpFactor, actor_id)
    if factor is None or factor.confirmed_at is not None:
        raise NotEnrolled("Start the set-up again: there is no code being set up.")
    secret = totp.decrypt_secret(secret_key, factor.secret_encrypted)
    step = totp.matching_step(secret, code, now) if secret else None
    if step is None:
        return None
    factor.confirmed_at, factor.last_step = now, step
    codes = _new_recovery_codes(session, actor_id)
    audit.record(session, actor_id, "user.totp.enable", "actor", actor_id)
    return codes


def _new_recovery_codes(session: Session, actor_id: int) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.actor_id == actor_id))
    codes = totp.new_recovery_codes()
    session.add_all(
        RecoveryCode(actor_id=actor_id, code_sha256=totp.recovery_sha256(c)) for c in codes
    )
    session.flush()
    return codes


def check_code(
    session: Session, actor_id: int, code: str, secret_key: str, now: datetime | None = None
) -> str:
    """ "ok" when ``code`` is the account's current one-time code (each accepted once) or an
    unused recovery code (spent now); "wrong"; or "locked" while MAX_FAILURES wrong codes in
    a row keep codes refused (this one included). Returned, not raised, so that the count
    is committed."""
    now = now or utcnow()
    factor = session.get(TotpFactor, actor_id)
    if factor is None or factor.confirmed_at is None:
        raise NotEnrolled()
    if factor.locked_until is not None and factor.locked_until > now:
        return "locked"
    secret = totp.decrypt_secret(secret_key, factor.secret_encrypted)
    step = totp.matching_step(secret, code, now, factor.last_step) if secret else None
    if step is not None:
        fresh = session.execute(  # once, even for two requests in the same step
            update(TotpFactor)
            .where(TotpFactor.actor_id == actor_id, TotpFactor.last_step < step)
            .values(last_step=step, failures=0, locked_until=None)
            .returning(TotpFactor.actor_id)
            .execution_options(synchronize_session=False)
        ).first()
        session.refresh(factor)
        return "ok" if fresh is not None else "wrong"
    spent = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.actor_id == actor_id,
            RecoveryCode.code_sha256 == totp.recovery_sha256(code or ""),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .returning(RecoveryCode.id)
    ).first()
    if spent is not None:
        factor.failures, factor.locked_until = 0, None
        audit.record(session, actor_id, "user.totp.recovery_used", "actor", actor_id)
        return "ok"
    factor.failures += 1
    locked = factor.failures >= MAX_FAILURES
    if locked:
        factor.failures, factor.locked_until = 0, now + LOCK
    session.flush()
    return "locked" if locked else "wrong"


def recovery_codes_left(session: Session, actor_id: int) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.actor_id == actor_id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def gate(session: Session, found) -> str | None:
    """What a web request on this cookie session must do first: "code" (type the one-time
    code), "enrol" (an administrator without one), or None."""
    if is_pending(session, found.id):
        return "code"
    return "enrol" if must_enrol(session, found.principal) else None


def hold_for_code(session: Session, token: str) -> bool:
    """Mark a just-opened cookie session as waiting for the one-time code when its account
    has one; True if it was held."""
    row = session.scalar(
        select(WebSession).where(WebSession.token_sha256 == tokens.token_sha256(token))
    )
    if row is None or not is_enrolled(session, row.actor_id):
        return False
    row.factor_pending = True
    session.flush()
    return True


def is_pending(session: Session, web_session_id: int) -> bool:
    row = session.get(WebSession, web_session_id)  # in the identity map after the look-up
    return row is not None and row.factor_pending


def complete_login(
    session: Session, web_session_id: int, code: str, secret_key: str, now: datetime | None = None
) -> str:
    """Open a held cookie session when ``code`` is right: check_code's answer, audited. A
    session whose codes got locked is ended (the password must be given again)."""
    row = session.get(WebSession, web_session_id)
    if row is None or not row.factor_pending:
        return "ok" if row is not None else "locked"
    outcome = check_code(session, row.actor_id, code, secret_key, now)
    action = {"ok": "user.session.code", "wrong": "user.session.code_failed"}
    audit.record(
        session,
        row.actor_id,
        action.get(outcome, "user.session.code_locked"),
        "actor",
        row.actor_id,
    )
    if outcome == "ok":
        row.factor_pending = False
    elif outcome == "locked":
        session.delete(row)
    session.flush()
    return outcome


def check_bearer(session: Session, token: str, code: str | None, secret_key: str) -> Problem | None:
    """For POST /v1/sessions: None when the new bearer session may stand (no code on the
    account, or the right one sent); otherwise the session is ended and the Problem to
    answer (after the commit) is returned."""
    row = session.scalar(
        select(WebSession).where(WebSession.token_sha256 == tokens.token_sha256(token))
    )
    if row is None or not is_enrolled(session, row.actor_id):
        return None
    if not code:
        problem: Problem | None = CodeRequired()
    else:
        outcome = check_code(session, row.actor_id, code, secret_key)
        problem = {
            "ok": None,
            "wrong": AuthenticationFailed("The one-time code is wrong."),
            "locked": CodesLocked(),
        }[outcome]
    if problem is not None:
        session.delete(row)
        audit.record(session, row.actor_id, "user.session.code_failed", "actor", row.actor_id)
    session.flush()
    return problem


def disable(
    session: Session,
    principal: Principal,
    password: str,
    code: str,
    secret_key: str,
    now: datetime | None = None,
) -> str:
    """Turn the caller's one-time code off, with their password and a code (or a recovery
    code): "ok", "wrong" (either) or "locked" (check_code). Audited."""
    user = session.get(User, principal.actor_id)
    if user is None or not is_enrolled(session, user.actor_id):
        raise NotEnrolled()
    if not passwords.verify_password(user.password_hash, password or ""):
        code = ""  # a wrong password counts as a wrong code, and spends no code
    outcome = check_code(session, user.actor_id, code, secret_key, now)
    if outcome != "ok":
        return outcome
    session.execute(delete(RecoveryCode).where(RecoveryCode.actor_id == user.actor_id))
    session.execute(delete(TotpFactor).where(TotpFactor.actor_id == user.actor_id))
    audit.record(session, user.actor_id, "user.totp.disable", "actor", user.actor_id)
    return "ok"


def remove(
    session: Session, principal: Principal, email: str | None = None, actor_id: int | None = None
) -> None:
    """Take a user's one-time code away (by ``email`` or ``actor_id``: a lost phone and lost
    recovery codes), ending their sessions, so that they set up a new one at their next
    log-in. Administrators only; audited."""
    require(principal, "user.update")
    where = User.actor_id == actor_id if email is None else User.email == email.strip().lower()
    user = session.scalar(select(User).where(where))
    if user is None or not is_enrolled(session, user.actor_id):
        raise NotEnrolled("This account has no one-time code.")
    session.execute(delete(RecoveryCode).where(RecoveryCode.actor_id == user.actor_id))
    session.execute(delete(TotpFactor).where(TotpFactor.actor_id == user.actor_id))
    session.execute(delete(WebSession).where(WebSession.actor_id == user.actor_id))
    audit.record(session, principal.actor_id, "user.totp.remove", "actor", user.actor_id)
