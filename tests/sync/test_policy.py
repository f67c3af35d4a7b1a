"""The retry policy as a table: what each outcome means after attempt n."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from sync.policy import Dead, Delivered, Outcome, Retry, backoff_seconds, classify

T0 = datetime(2026, 11, 22, tzinfo=UTC)
DAYS14 = timedelta(days=14)


@pytest.mark.parametrize(
    ("outcome", "kind"),
    [
        (Outcome(200), Delivered),
        (Outcome(201), Delivered),
        (Outcome(204), Delivered),
        (Outcome(408), Retry),
        (Outcome(429), Retry),
        (Outcome(500), Retry),
        (Outcome(502), Retry),
        (Outcome(503), Retry),
        (Outcome(504), Retry),
        (Outcome(None, error="timeout"), Retry),
        (Outcome(None, error="connection"), Retry),
        (Outcome(400), Dead),
        (Outcome(401), Dead),
        (Outcome(404), Dead),
        (Outcome(422), Dead),
    ],
)
def test_outcomes_are_classified(outcome, kind):
    assert isinstance(classify(outcome, 1, T0, T0, DAYS14, random.Random(1)), kind)


def test_dead_keeps_the_registers_answer():
    decision = classify(
        Outcome(400, body_excerpt="ward code missing"), 1, T0, T0, DAYS14, random.Random(1)
    )
    assert "400" in decision.why
    assert "ward code missing" in decision.why


def test_retry_after_is_honoured_when_longer_than_the_backoff():
    decision = classify(Outcome(503, retry_after_seconds=600), 1, T0, T0, DAYS14, random.Random(1))
    assert decision.at >= T0 + timedelta(seconds=600)


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(7)
    ceilings = [max(backoff_seconds(n, rng) for _ in range(200)) for n in (1, 4, 8, 30)]
    assert ceilings[0] <= 5
    assert 20 < ceilings[1] <= 40
    assert ceilings[2] <= 640
    assert ceilings[3] <= 3600
    samples = {round(backoff_seconds(6, rng), 3) for _ in range(20)}
    assert len(samples) > 10  # jittered, not lockstep


def test_retries_continue_for_fourteen_days_then_the_delivery_is_dead():
    rng = random.Random(3)
    day13 = T0 + timedelta(days=13)
    assert isinstance(classify(Outcome(503), 300, T0, day13, DAYS14, rng), Retry)
    day14 = T0 + timedelta(days=14, minutes=1)
    decision = classify(Outcome(503), 301, T0, day14, DAYS14, rng)
    assert isinstance(decision, Dead)
    assert "14 days" in decision.why


def test_deferral_does_not_count_as_a_failure():
    decision = classify(
        Outcome(None, retry_after_seconds=60, error="defer"), 1, T0, T0, DAYS14, random.Random(1)
    )
    assert isinstance(decision, Retry)
    assert decision.counts_as_failure is False
