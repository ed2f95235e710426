"""Poll cadence, expiry, stall (postpurchase.tracking.schedule)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postpurchase.tracking import schedule
from postpurchase.tracking.model import FINAL_STATUSES, TrackingStatus, TrackingUpdate
from postpurchase.tracking.schedule import (EXPIRE_AFTER, FAILURE_BACKOFF_CAP, JITTER_FRACTION, WEBHOOK_SAFETY_NET,
                                            is_stalled, jitter, next_poll_at, poll_interval, record_poll_failure,
                                            reschedule, should_expire, start)
from postpurchase.tracking.state import ShipmentTracking
from postpurchase.tracking.timeline import apply

S = TrackingStatus
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
TN = "1Z999AA10123456784"


def tracking(status: S = S.IN_TRANSIT, **extra) -> ShipmentTracking:
    base = {"tracking_number": TN, "created_at": T0, "status": status, "status_changed_at": T0, "last_event_at": T0}
    return ShipmentTracking(**{**base, **extra})


def interval(state: ShipmentTracking, now: datetime = T0 + H, *, webhook_active: bool = False) -> timedelta:
    return poll_interval(state, now, webhook_active=webhook_active)


@pytest.mark.parametrize("final", sorted(FINAL_STATUSES))
def test_never_after_a_final_status(final):
    assert next_poll_at(tracking(final), T0, webhook_active=False) is None
    assert reschedule(tracking(final), T0).next_poll_at is None


def test_cadence_by_status():
    assert interval(tracking(S.OUT_FOR_DELIVERY)) == timedelta(minutes=30)
    assert interval(tracking(S.IN_TRANSIT, current_eta=T0 + timedelta(days=4))) == 4 * H
    assert interval(tracking(S.IN_TRANSIT, current_eta=T0 + timedelta(hours=20))) == 2 * H
    assert interval(tracking(S.IN_TRANSIT, current_eta=T0 - timedelta(days=1))) == 2 * H  # overdue: watch closely
    assert interval(tracking(S.ATTEMPT_FAILED)) == 2 * H
    assert interval(tracking(S.EXCEPTION)) == 3 * H
    assert interval(tracking(S.AVAILABLE_FOR_PICKUP)) == 6 * H
    assert interval(tracking(S.RETURNING_TO_SENDER)) == 12 * H


@pytest.mark.parametrize("status", [S.PENDING, S.INFO_RECEIVED])
def test_unscanned_tracker_backs_off_then_expires(status):
    state = tracking(status, last_event_at=None, status_changed_at=None)
    assert interval(state, T0 + H) == 6 * H
    assert interval(state, T0 + timedelta(days=2)) == 12 * H
    assert interval(state, T0 + timedelta(days=10)) == 24 * H
    assert not should_expire(state, T0 + EXPIRE_AFTER - H)
    assert should_expire(state, T0 + EXPIRE_AFTER)
    assert next_poll_at(state, T0 + EXPIRE_AFTER, webhook_active=False) is None
    expired = reschedule(state, T0 + EXPIRE_AFTER)
    assert expired.status == S.EXPIRED and expired.next_poll_at is None
    assert expired.status_changed_at == T0 + EXPIRE_AFTER


def test_a_new_label_event_restarts_the_expiry_clock():
    state = tracking(S.INFO_RECEIVED, last_event_at=T0 + timedelta(days=20))
    assert not should_expire(state, T0 + timedelta(days=40))
    assert should_expire(state, T0 + timedelta(days=50))


def test_a_moving_parcel_never_expires_but_slows_down_when_silent():
    state = tracking(S.IN_TRANSIT)
    assert not should_expire(state, T0 + timedelta(days=100))
    assert interval(state, T0 + timedelta(days=8)) == 12 * H
    assert interval(state, T0 + timedelta(days=100)) == 24 * H
    assert next_poll_at(state, T0 + timedelta(days=100), webhook_active=False) is not None


def test_webhook_leaves_only_a_safety_net():
    assert interval(tracking(S.OUT_FOR_DELIVERY), webhook_active=True) == WEBHOOK_SAFETY_NET
    slow = tracking(S.PENDING, last_event_at=None, status_changed_at=None)
    assert interval(slow, T0 + timedelta(days=10), webhook_active=True) == 24 * H
    state = tracking(S.IN_TRANSIT, webhook_active=True)
    assert reschedule(state, T0).next_poll_at >= T0 + WEBHOOK_SAFETY_NET


def test_failures_back_off_exponentially_up_to_a_cap():
    waits = [interval(tracking(S.OUT_FOR_DELIVERY, poll_failures=n)) for n in range(0, 12)]
    assert waits[:6] == [timedelta(minutes=30), timedelta(minutes=30), timedelta(minutes=30), H, 2 * H, 4 * H]
    assert waits[-1] == FAILURE_BACKOFF_CAP
    assert all(a <= b for a, b in zip(waits, waits[1:]))
    assert interval(tracking(S.OUT_FOR_DELIVERY, poll_failures=10**6)) == FAILURE_BACKOFF_CAP


def test_record_poll_failure_and_successful_poll_reset():
    state = tracking(S.OUT_FOR_DELIVERY)
    for _ in range(4):
        state = record_poll_failure(state, T0)
    assert state.poll_failures == 4 and state.next_poll_at >= T0 + 2 * H
    answer = TrackingUpdate(carrier="ups", tracking_number=TN, provider="sandbox", status=S.OUT_FOR_DELIVERY)
    recovered = apply(state, answer, [], T0 + 3 * H).state
    assert recovered.poll_failures == 0
    assert recovered.next_poll_at < T0 + 3 * H + timedelta(minutes=34)


def test_start():
    state = start("ups", TN, created_at=T0, now=T0)
    assert state.status == S.PENDING and state.next_poll_at == T0 + schedule.FIRST_POLL_AFTER
    assert state.tracking_number == TN and state.created_at == T0


# --- jitter -----------------------------------------------------------------------------------


@given(st.text(min_size=1, max_size=30), st.integers(1, 48 * 3600))
def test_jitter_is_deterministic_and_bounded(number, seconds):
    every = timedelta(seconds=seconds)
    assert jitter(number, every) == jitter(number, every)
    assert timedelta(0) <= jitter(number, every) < every * JITTER_FRACTION + timedelta(microseconds=1)


def test_jitter_spreads_a_fleet():
    offsets = {jitter(f"1Z{n:016d}", 4 * H) for n in range(200)}
    assert len(offsets) > 190
    spread = max(offsets) - min(offsets)
    assert spread > 4 * H * JITTER_FRACTION * 0.8


# --- properties -------------------------------------------------------------------------------

states = st.builds(
    ShipmentTracking,
    tracking_number=st.text(alphabet="0123456789ABCDEFZ", min_size=3, max_size=20),
    created_at=st.just(T0),
    status=st.sampled_from(list(TrackingStatus)),
    last_event_at=st.none() | st.integers(0, 40 * 24).map(lambda h: T0 + timedelta(hours=h)),
    status_changed_at=st.none() | st.integers(0, 40 * 24).map(lambda h: T0 + timedelta(hours=h)),
    current_eta=st.none() | st.integers(0, 40 * 24).map(lambda h: T0 + timedelta(hours=h)),
    poll_failures=st.integers(0, 30),
    webhook_active=st.booleans(),
)


@given(states, st.integers(0, 80 * 24), st.booleans())
def test_next_poll_none_exactly_for_final_or_expired(state, hours, webhook_active):
    now = T0 + timedelta(hours=hours)
    when = next_poll_at(state, now, webhook_active=webhook_active)
    assert (when is None) == (state.status in FINAL_STATUSES or should_expire(state, now))
    if when is not None:
        every = poll_interval(state, now, webhook_active=webhook_active)
        assert timedelta(minutes=30) <= every <= timedelta(hours=24)
        assert now + every <= when <= now + every * (1 + JITTER_FRACTION)
        assert when == next_poll_at(state, now, webhook_active=webhook_active)
        if webhook_active:
            assert every >= WEBHOOK_SAFETY_NET
    rescheduled = reschedule(state, now)
    assert (rescheduled.next_poll_at is None) == (rescheduled.status in FINAL_STATUSES)


# --- stall ------------------------------------------------------------------------------------


def test_stalled_after_three_days_without_a_scan():
    assert not is_stalled(tracking(S.IN_TRANSIT), T0 + timedelta(days=2, hours=23))
    assert is_stalled(tracking(S.IN_TRANSIT), T0 + timedelta(days=3))
    assert is_stalled(tracking(S.INFO_RECEIVED), T0 + timedelta(days=3))
    assert is_stalled(tracking(S.IN_TRANSIT), T0 + timedelta(days=1), stall_after=timedelta(hours=12))
    for status in (S.PENDING, S.OUT_FOR_DELIVERY, S.EXCEPTION, S.DELIVERED, S.AVAILABLE_FOR_PICKUP):
        assert not is_stalled(tracking(status), T0 + timedelta(days=10))
    assert not is_stalled(ShipmentTracking(status=S.IN_TRANSIT), T0 + timedelta(days=10))  # nothing to go by
    assert is_stalled(tracking(S.IN_TRANSIT, last_event_at=None), T0 + timedelta(days=3))  # status time instead


def test_a_poll_failure_waits_at_least_the_providers_retry_after():
    state = tracking(S.OUT_FOR_DELIVERY)
    # Our first backoff is 30 min (the status's cadence); the provider asked for 2 h: 2 h wins.
    asked = record_poll_failure(state, T0, retry_after=2 * H)
    assert asked.next_poll_at == T0 + 2 * H and asked.poll_failures == 1
    # A Retry-After shorter than our own backoff changes nothing.
    assert record_poll_failure(state, T0, retry_after=timedelta(seconds=5)).next_poll_at \
        == record_poll_failure(state, T0).next_poll_at
    # A final status stays unpolled whatever the provider says.
    assert record_poll_failure(tracking(S.DELIVERED), T0, retry_after=H).next_poll_at is None
