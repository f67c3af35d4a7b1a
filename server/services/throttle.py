"""Limits on wrong passwords and keys that a third party cannot turn against the real user,
shared by every worker through the database and applied alike to the web login, the session
API, Basic and Digest (issue 11).

- One account from one address (a "pair"): the first ``free_failures`` wrong passwords cost
  nothing; each further one makes that pair wait, ``first_wait`` doubling up to
  ``longest_wait``. An attempt during the wait is refused unchecked (429), and a right
  password clears the count; otherwise it is kept for a day, so pausing buys no free tries.
  Failures sent from another address count against that address, so nobody elsewhere can
  lock the real user out; the same holds for unknown accounts, which so behave exactly like
  known ones.
- One address: failures of every kind (wrong passwords, unknown accounts, unknown app-user
  keys) are counted in a window. Past a generous cap, a *failure* from it is answered 429
  instead of 401 or 403; a right password or a live key still gets in, so the offices and
  phones behind one carrier address keep working.
- A known key that was revoked or replaced never counts (a revoked phone left on auto-send).

Every failure and every refusal is audited with the source address, never the password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.models.actors import LoginThrottle
from server.models.types import utcnow
from server.services import audit

FORGET = timedelta(days=1)  # rows untouched this long are dropped


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    free_failures: int = 5
    first_wait: timedelta = timedelta(seconds=30)
    longest_wait: timedelta = timedelta(minutes=15)
    address_failures: int = 100
    address_window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class PairState:
    """Where one account stands at one address: ``wait_until`` set while it must wait;
    ``has_failures`` when a right password has a count to clear."""

    wait_until: datetime | None
    has_failures: bool


def _pair_key(email: str, address: str | None) -> str:
    return f"pair:{email.strip().lower()[:320]}|{address or '-'}"


def _address_key(address: str | None) -> str:
    return f"addr:{address or '-'}"


def pair_state(
    session: Session, email: str, address: str | None, now: datetime | None = None
) -> PairState:
    """Read-only: whether this account may try a password from this address now."""
    now = now or utcnow()
    row = session.get(LoginThrottle, _pair_key(email, address))
    if row is None:
        return PairState(None, False)
    waiting = row.locked_until is not None and row.locked_until > now
    return PairState(row.locked_until if waiting else None, row.failures > 0)


def refuse_waiting(
    session: Session,
    actor_id: int | None,
    email: str,
    address: str | None,
    via: str,
    until: datetime,
) -> None:
    """Audit an attempt refused unchecked because its pair is waiting."""
    details = {"email": email.strip().lower()[:320], "address": address, "via": via}
    audit.record(
        session, actor_id, "user.session.throttled", None, None, {**details, "until": str(until)}
    )


def record_failure(
    session: Session,
    actor_id: int | None,
    email: str,
    address: str | None,
    via: str,
    limits: ThrottleLimits,
    now: datetime | None = None,
) -> datetime | None:
    """Count and audit a wrong password (or an unknown account). Returns until when the
    caller is to be answered 429 (its pair must now wait, or its address is past the cap)."""
    now = now or utcnow()
    _forget_old(session, now)
    pair = _row(session, _pair_key(email, address), now)
    quiet_since = pair.locked_until or pair.window_start
    # Forgiven only after a day of quiet (when _forget_old drops the row anyway): forgiving
    # sooner would give a patient guesser its free failures back each time it pauses.
    if pair.failures and quiet_since + FORGET < now:
        pair.failures, pair.locked_until = 0, None
    pair.failures += 1
    pair.window_start = now
    if pair.failures >= limits.free_failures:
        doublings = min(pair.failures - limits.free_failures, 20)
        pair.locked_until = now + min(limits.first_wait * 2**doublings, limits.longest_wait)
    capped = _count_address(session, address, limits, now)
    details = {"email": email.strip().lower()[:320], "address": address, "via": via}
    audit.record(session, actor_id, "user.session.failed", None, None, details)
    session.flush()
    return pair.locked_until if pair.locked_until and pair.locked_until > now else capped


def record_success(session: Session, email: str, address: str | None) -> None:
    """A right password clears its pair's count (the address's count stays)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == _pair_key(email, address)))


def record_unknown_key(
    session: Session, address: str | None, limits: ThrottleLimits, now: datetime | None = None
) -> datetime | None:
    """Count and audit a well-formed app-user key that was never ours (a guess). Returns until
    when the address is past the cap (answer 429)."""
    now = now or utcnow()
    capped = _count_address(session, address, limits, now)
    audit.record(
        session, None, "field_key.refused", None, None, {"address": address, "why": "unknown"}
    )
    session.flush()
    return capped


def record_retired_key(session: Session, actor_id: int, address: str | None) -> None:
    """Audit a revoked or replaced key still being sent; it is never counted as a guess."""
    audit.record(
        session,
        None,
        "field_key.refused",
        "actor",
        actor_id,
        {"address": address, "why": "retired"},
    )


def _count_address(
    session: Session, address: str | None, limits: ThrottleLimits, now: datetime
) -> datetime | None:
    row = _row(session, _address_key(address), now)
    if row.window_start + limits.address_window < now:
        row.failures, row.window_start = 0, now
    row.failures += 1
    if row.failures >= limits.address_failures:
        row.locked_until = row.window_start + limits.address_window
        return row.locked_until
    return None


def _row(session: Session, key: str, now: datetime) -> LoginThrottle:
    """The row of ``key``, made if missing (two workers may make it at once: no error)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(LoginThrottle)
        .values(key=key, failures=0, window_start=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)


def _forget_old(session: Session, now: datetime) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.window_start < now - FORGET))
