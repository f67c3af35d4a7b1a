"""What one attempt's outcome means: delivered, retry later (when), or dead (why). Pure.

2xx delivered. 408, 429, 5xx, timeouts and connection errors are retried with exponential
backoff and full jitter, honouring Retry-After, until the delivery is older than the maximum
age (14 days by default: a register down over a holiday loses nothing). Other 4xx are dead at
once, with the register's answer kept.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

BASE_SECONDS = 5.0
CAP_SECONDS = 3600.0
MAX_RETRY_AFTER_SECONDS = 86_400.0
RETRYABLE_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a target reported: an HTTP-like status, or an error kind when there was none."""

    status: int | None
    retry_after_seconds: float | None = None
    body_excerpt: str = ""
    error: str | None = None  # "timeout" | "connection" | "defer" | other text

    @property
    def retryable(self) -> bool:
        if self.status is None:
            return True
        return self.status in RETRYABLE_STATUSES


@dataclass(frozen=True, slots=True)
class Delivered:
    pass


@dataclass(frozen=True, slots=True)
class Retry:
    at: datetime
    counts_as_failure: bool = True


@dataclass(frozen=True, slots=True)
class Dead:
    why: str


def backoff_seconds(attempts: int, rng: random.Random) -> float:
    """Full jitter: uniform(0, min(cap, base * 2**(n-1))), at least one second."""
    ceiling = min(CAP_SECONDS, BASE_SECONDS * 2 ** max(0, attempts - 1))
    return max(1.0, rng.uniform(0, ceiling))


def classify(
    outcome: Outcome,
    attempts: int,
    first_attempt_at: datetime,
    now: datetime,
    max_age: timedelta,
    rng: random.Random,
) -> Delivered | Retry | Dead:
    """Decide after attempt number ``attempts`` (1 for the first)."""
    if outcome.error == "defer":  # not ready to send (attachments still arriving)
        return Retry(now + timedelta(seconds=outcome.retry_after_seconds or 60), False)
    if outcome.status is not None and 200 <= outcome.status < 300:
        return Delivered()
    if not outcome.retryable:
        return Dead(f"HTTP {outcome.status}: {outcome.body_excerpt}".strip())
    delay = backoff_seconds(attempts, rng)
    if outcome.retry_after_seconds is not None:
        delay = max(delay, min(outcome.retry_after_seconds, MAX_RETRY_AFTER_SECONDS))
    at = now + timedelta(seconds=delay)
    if at - first_attempt_at > max_age:
        return Dead(
            f"gave up after {attempts} attempts over {max_age.days} days: {_describe(outcome)}"
        )
    return Retry(at)


def _describe(outcome: Outcome) -> str:
    if outcome.status is not None:
        return f"HTTP {outcome.status} {outcome.body_excerpt}".strip()
    return outcome.error or "no answer"
