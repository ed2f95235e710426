"""The per-merchant token bucket's rule (security/rate_limit.py): pure, `now` passed in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from postpurchase.security.rate_limit import TokenBucket, epoch_ms

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def run(bucket: TokenBucket, times: list[datetime], tat: int | None = None) -> tuple[list[bool], int | None]:
    allowed = []
    for when in times:
        decision = bucket.take(tat, when)
        allowed.append(decision.allowed)
        tat = decision.tat_ms
    return allowed, tat


def test_a_fresh_bucket_allows_a_full_burst_at_once_then_refuses():
    bucket = TokenBucket(rate_per_second=10, burst=5)

    allowed, _ = run(bucket, [NOW] * 6)

    assert allowed == [True] * 5 + [False]


def test_remaining_counts_down_and_a_refusal_says_when_to_retry():
    bucket = TokenBucket(rate_per_second=2, burst=3)  # one token every 500 ms
    tat = None
    remaining = []
    for _ in range(3):
        decision = bucket.take(tat, NOW)
        remaining.append(decision.remaining)
        tat = decision.tat_ms

    refused = bucket.take(tat, NOW)

    assert remaining == [2, 1, 0]
    assert (refused.allowed, refused.remaining, refused.tat_ms) == (False, 0, tat)  # a refusal spends nothing
    assert refused.retry_after_seconds == 1  # 500 ms until the next token, rounded up to a whole second


def test_retry_after_rounds_the_wait_up_to_whole_seconds():
    bucket = TokenBucket(rate_per_second=0.25, burst=1)  # one token every 4 s
    first = bucket.take(None, NOW)

    refused = bucket.take(first.tat_ms, NOW + timedelta(milliseconds=500))

    assert first.allowed and not refused.allowed
    assert refused.retry_after_seconds == 4  # 3.5 s left


def test_tokens_come_back_at_the_rate():
    bucket = TokenBucket(rate_per_second=10, burst=5)
    _, tat = run(bucket, [NOW] * 5)

    assert not bucket.take(tat, NOW + timedelta(milliseconds=99)).allowed
    later = NOW + timedelta(milliseconds=300)  # three tokens back
    allowed, _ = run(bucket, [later] * 4, tat)

    assert allowed == [True, True, True, False]


def test_a_long_idle_bucket_holds_no_more_than_the_burst():
    bucket = TokenBucket(rate_per_second=10, burst=5)
    _, tat = run(bucket, [NOW] * 5)

    allowed, _ = run(bucket, [NOW + timedelta(hours=3)] * 7, tat)

    assert allowed == [True] * 5 + [False] * 2


def test_a_steady_client_at_the_rate_is_never_refused():
    bucket = TokenBucket(rate_per_second=10, burst=2)
    times = [NOW + timedelta(milliseconds=100 * i) for i in range(200)]

    allowed, _ = run(bucket, times)

    assert all(allowed)


def test_over_a_long_run_the_allowed_count_is_rate_times_time_plus_burst():
    bucket = TokenBucket(rate_per_second=5, burst=10)
    times = [NOW + timedelta(milliseconds=10 * i) for i in range(1000)]  # 100 requests a second for 10 s

    allowed, _ = run(bucket, times)

    # The burst, then one token every 200 ms: 49 are back by the last request, at 9.99 s.
    assert sum(allowed) == 10 + 49


def test_branch_is_refill_when_the_bucket_is_full_again_else_spend():
    now_ms = epoch_ms(NOW)

    assert TokenBucket.branch(None, now_ms) == "refill"
    assert TokenBucket.branch(now_ms, now_ms) == "refill"
    assert TokenBucket.branch(now_ms - 1, now_ms) == "refill"
    assert TokenBucket.branch(now_ms + 1, now_ms) == "spend"


def test_allow_until_is_the_last_stored_value_that_still_has_a_token():
    bucket = TokenBucket(rate_per_second=10, burst=5)
    now_ms = epoch_ms(NOW)
    limit = bucket.allow_until_ms(now_ms)

    assert bucket.take(limit, NOW).allowed
    assert not bucket.take(limit + 1, NOW).allowed


@pytest.mark.parametrize("rate, burst", [(0, 5), (-1, 5), (10, 0)])
def test_a_bucket_needs_a_positive_rate_and_burst(rate, burst):
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        TokenBucket(10, 5).take(None, datetime(2026, 11, 20, 10, 0))


def test_describe_names_rate_and_burst():
    assert TokenBucket(20, 40).describe() == "20 requests a second, bursts of 40"
    assert TokenBucket(0.5, 3).describe() == "0.5 requests a second, bursts of 3"
