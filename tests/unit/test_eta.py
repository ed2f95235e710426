"""Estimated delivery: first promise, moves, what the customer sees (postpurchase.tracking.eta)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postpurchase.tracking.eta import HIDDEN_ETA, slip, update_eta, visible_eta
from postpurchase.tracking.model import FINAL_STATUSES, TrackingStatus
from postpurchase.tracking.state import MAX_ETA_CHANGES, EtaChangeReason, ShipmentTracking

S = TrackingStatus
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def moving(**extra) -> ShipmentTracking:
    base = {"status": S.IN_TRANSIT, "last_event_at": T0, "status_changed_at": T0}
    return ShipmentTracking(**{**base, **extra})


def test_first_estimate_sets_original_and_current_without_a_change():
    state = update_eta(moving(), day(3), S.IN_TRANSIT, T0)
    assert state.original_eta == state.current_eta == day(3)
    assert state.eta_changes == []


def test_a_move_is_recorded_and_the_original_kept():
    state = update_eta(moving(), day(3), S.IN_TRANSIT, T0)
    state = update_eta(state, day(4), S.IN_TRANSIT, day(1))
    assert state.original_eta == day(3) and state.current_eta == day(4)
    [change] = state.eta_changes
    assert (change.at, change.from_eta, change.to_eta, change.reason) == (day(1), day(3), day(4),
                                                                          EtaChangeReason.CARRIER_UPDATE)
    assert change.is_later
    earlier = update_eta(state, day(2), S.IN_TRANSIT, day(1))
    assert earlier.original_eta == day(3) and not earlier.eta_changes[-1].is_later


def test_same_estimate_or_none_changes_nothing():
    state = update_eta(moving(), day(3), S.IN_TRANSIT, T0)
    assert update_eta(state, day(3), S.IN_TRANSIT, day(1)) == state
    assert update_eta(state, None, S.IN_TRANSIT, day(1)) == state


@pytest.mark.parametrize(("status", "now", "reason"), [
    (S.EXCEPTION, day(1), EtaChangeReason.DELAY_EXCEPTION),
    (S.ATTEMPT_FAILED, day(1), EtaChangeReason.DELAY_EXCEPTION),
    (S.IN_TRANSIT, day(4), EtaChangeReason.STALLED),  # no scan since T0
    (S.IN_TRANSIT, day(1), EtaChangeReason.CARRIER_UPDATE),
])
def test_reason_of_a_move(status, now, reason):
    state = moving(current_eta=day(3), original_eta=day(3))
    assert update_eta(state, day(6), status, now).eta_changes[-1].reason == reason


@pytest.mark.parametrize("final", sorted(FINAL_STATUSES))
def test_estimate_frozen_once_final(final):
    state = moving(current_eta=day(3), original_eta=day(3))
    assert update_eta(state, day(5), final, day(4)) == state
    assert update_eta(state.model_copy(update={"status": final}), day(5), S.IN_TRANSIT, day(4)).current_eta == day(3)


def test_bare_estimate_read_as_utc():
    state = update_eta(moving(), datetime(2024, 5, 4, 12, 0), S.IN_TRANSIT, T0)
    assert state.current_eta == datetime(2024, 5, 4, 12, 0, tzinfo=timezone.utc)


def test_history_is_bounded():
    state = moving()
    for n in range(MAX_ETA_CHANGES + 10):
        state = update_eta(state, day(3 + n), S.IN_TRANSIT, T0)
    assert len(state.eta_changes) == MAX_ETA_CHANGES
    assert state.eta_changes[-1].to_eta == day(3 + MAX_ETA_CHANGES + 9)
    assert state.original_eta == day(3)


estimates = st.none() | st.integers(0, 20 * 24).map(lambda hours: T0 + timedelta(hours=hours))


@given(st.lists(estimates, max_size=15))
def test_original_is_the_first_estimate_and_changes_chain(sequence):
    state = moving()
    for index, estimate in enumerate(sequence):
        state = update_eta(state, estimate, S.IN_TRANSIT, T0 + timedelta(hours=index))
    given_estimates = [estimate for estimate in sequence if estimate is not None]
    assert state.original_eta == (given_estimates[0] if given_estimates else None)
    assert state.current_eta == (given_estimates[-1] if given_estimates else None)
    moves = sum(1 for a, b in zip(given_estimates, given_estimates[1:]) if a != b)
    assert len(state.eta_changes) == moves
    for a, b in zip(state.eta_changes, state.eta_changes[1:]):
        assert a.to_eta == b.from_eta
    if state.eta_changes:
        assert state.eta_changes[0].from_eta == state.original_eta
        assert state.eta_changes[-1].to_eta == state.current_eta


# --- visible_eta ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(HIDDEN_ETA))
def test_hidden_when_meaningless(status):
    assert visible_eta(moving(status=status, current_eta=day(3), original_eta=day(3)), day(1)) is None


def test_hidden_when_unknown_but_today_when_out_for_delivery():
    assert visible_eta(moving(), day(1)) is None
    view = visible_eta(moving(status=S.OUT_FOR_DELIVERY), day(1))
    assert view is not None and view.kind == "today" and view.eta is None and not view.is_late


def test_on_time_estimate():
    view = visible_eta(moving(current_eta=day(3), original_eta=day(3)), day(1))
    assert view.kind == "estimate" and view.eta == day(3)
    assert not view.is_late and view.overdue_by == timedelta(0) and view.vs_original == timedelta(0)


def test_late_and_moved_estimate():
    state = moving(current_eta=day(4), original_eta=day(3))
    view = visible_eta(state, day(4.5))
    assert view.is_late and view.overdue_by == timedelta(days=0.5)
    assert view.vs_original == timedelta(days=1)
    assert slip(state) == timedelta(days=1)
    assert visible_eta(state.model_copy(update={"status": S.DELIVERED}), day(5)) is None


@given(st.sampled_from(list(TrackingStatus)), estimates, estimates, st.integers(0, 30 * 24))
def test_visible_eta_is_consistent(status, original, current, hours):
    now = T0 + timedelta(hours=hours)
    view = visible_eta(moving(status=status, original_eta=original, current_eta=current), now)
    if status in HIDDEN_ETA or (current is None and status != S.OUT_FOR_DELIVERY):
        assert view is None
        return
    assert view.eta == current
    assert view.is_late == (current is not None and now > current)
    assert view.overdue_by >= timedelta(0)
    assert view.vs_original == (current - original if current and original else None)
