"""Timeline merge and status derivation (postpurchase.tracking.timeline)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postpurchase.tracking.model import FINAL_STATUSES, TrackingEvent, TrackingStatus, TrackingUpdate
from postpurchase.tracking.schedule import start
from postpurchase.tracking.state import ShipmentTracking
from postpurchase.tracking.timeline import RECYCLE_WINDOW, apply, can_transition, merge

S = TrackingStatus
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
TN = "1Z999AA10123456784"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ev(hours: float, status: S, **extra) -> TrackingEvent:
    return TrackingEvent(occurred_at=at(hours), status=status, **extra)


def upd(status: S, events: list[TrackingEvent] = (), **extra) -> TrackingUpdate:
    return TrackingUpdate(carrier="ups", tracking_number=TN, provider="sandbox", status=status,
                          events=list(events), **extra)


def fresh() -> ShipmentTracking:
    return start("ups", TN, created_at=T0, now=T0)


def run(state: ShipmentTracking, updates: list[TrackingUpdate], *, now: datetime | None = None,
        timeline: list[TrackingEvent] | None = None):
    timeline = list(timeline or [])
    result = None
    for index, update in enumerate(updates):
        result = apply(state, update, timeline, now or at(200 + index))
        state, timeline = result.state, result.timeline
    return result


# --- strategies -------------------------------------------------------------------------------

statuses = st.sampled_from(list(TrackingStatus))
events = st.builds(
    TrackingEvent,
    occurred_at=st.integers(0, 60 * 24 * 10).map(lambda minutes: T0 + timedelta(minutes=minutes)),
    status=statuses,
    location=st.sampled_from([None, "Memphis, TN, US", "Louisville, KY, US"]),
    carrier_event_id=st.one_of(st.none(), st.sampled_from(["e1", "e2", "e3", "e4"])),
    description=st.sampled_from(["", "Arrived at facility", "Departed facility"]),
)


@st.composite
def updates(draw) -> TrackingUpdate:
    return TrackingUpdate(
        carrier="ups", tracking_number=TN, provider="sandbox",
        status=draw(statuses),
        events=draw(st.lists(events, max_size=5)),
        estimated_delivery=draw(st.none() | st.integers(0, 60 * 24 * 15).map(lambda m: T0 + timedelta(minutes=m))),
        source=draw(st.sampled_from(["poll", "webhook"])),
    )


# --- merge ------------------------------------------------------------------------------------


def test_merge_dedupes_repeated_scans_and_sorts():
    a, b = ev(2, S.IN_TRANSIT, location="Memphis"), ev(1, S.INFO_RECEIVED)
    respelt = ev(2, S.IN_TRANSIT, location="memphis ")  # same scan, other spelling: same identity
    result = merge([a], [b, a, respelt])
    assert [event.identity() for event in result.timeline] == [b.identity(), a.identity()]
    assert result.added == [b]
    assert result.timeline == merge([respelt], [a, b]).timeline  # the same copy kept whatever the order


def test_merge_same_carrier_event_id_keeps_one_whatever_the_order():
    first = ev(2, S.IN_TRANSIT, carrier_event_id="x1", description="Arrived")
    corrected = ev(2, S.IN_TRANSIT, carrier_event_id="x1", description="Arrived at Memphis hub")
    assert merge([first], [corrected]).timeline == merge([corrected], [first]).timeline
    assert len(merge([first], [corrected]).timeline) == 1
    assert merge([first], [corrected]).added == []


def test_merge_equal_times_end_on_the_later_life_stage():
    timeline = merge([], [ev(5, S.DELIVERED), ev(5, S.OUT_FOR_DELIVERY)]).timeline
    assert [event.status for event in timeline] == [S.OUT_FOR_DELIVERY, S.DELIVERED]


@given(st.lists(events, max_size=12))
def test_merge_is_idempotent(items):
    once = merge([], items)
    assert merge(once.timeline, items).added == []
    assert merge(once.timeline, once.timeline).timeline == once.timeline
    assert merge(once.timeline, once.timeline).added == []


@given(st.lists(events, max_size=8), st.lists(events, max_size=8))
def test_merge_is_commutative(a, b):
    assert merge(a, b).timeline == merge(b, a).timeline


@given(st.lists(events, max_size=12).flatmap(
    lambda items: st.tuples(st.just(items), st.permutations(items), st.lists(st.integers(0, 12), max_size=4))))
def test_merge_is_independent_of_arrival_order_and_batching(case):
    items, shuffled, cuts = case
    expected = merge([], items).timeline
    bounds = sorted({0, len(shuffled), *[min(cut, len(shuffled)) for cut in cuts]})
    timeline: list[TrackingEvent] = []
    for lo, hi in zip(bounds, bounds[1:]):
        timeline = merge(timeline, shuffled[lo:hi]).timeline
    assert timeline == expected


@given(st.lists(events, max_size=8), st.lists(events, max_size=8))
def test_merge_keeps_every_identity_once_sorted_and_reports_only_new_ones(a, b):
    result = merge(a, b)
    identities = [event.identity() for event in result.timeline]
    assert len(identities) == len(set(identities))
    assert set(identities) == {event.identity() for event in (*a, *b)}
    times = [event.occurred_at for event in result.timeline]
    assert times == sorted(times)
    known = {event.identity() for event in a}
    assert {event.identity() for event in result.added} == set(identities) - known


# --- status rules ----------------------------------------------------------------------------


def test_status_follows_latest_event():
    result = apply(fresh(), upd(S.IN_TRANSIT, [ev(1, S.INFO_RECEIVED), ev(3, S.IN_TRANSIT)]), [], at(4))
    assert result.state.status == S.IN_TRANSIT
    assert result.status_changed and result.previous_status == S.PENDING
    assert result.state.status_changed_at == at(3)
    assert result.state.last_event_at == at(3)
    assert len(result.added_events) == 2


def test_provider_status_wins_when_at_least_as_advanced():
    result = apply(fresh(), upd(S.DELIVERED, [ev(1, S.IN_TRANSIT)], signed_by="J DOE"), [], at(4))
    assert result.state.status == S.DELIVERED
    assert result.state.delivered_at == at(4)
    assert result.state.signed_by == "J DOE"
    # less advanced: the event wins
    result = apply(fresh(), upd(S.INFO_RECEIVED, [ev(1, S.IN_TRANSIT)]), [], at(4))
    assert result.state.status == S.IN_TRANSIT


def test_late_event_never_changes_status():
    first = run(fresh(), [upd(S.OUT_FOR_DELIVERY, [ev(1, S.IN_TRANSIT), ev(9, S.OUT_FOR_DELIVERY)])])
    late = apply(first.state, upd(S.EXCEPTION, [ev(5, S.EXCEPTION)]), first.timeline, at(10))
    assert late.state.status == S.OUT_FOR_DELIVERY
    assert not late.status_changed
    assert [event.status for event in late.added_events] == [S.EXCEPTION]  # kept in the timeline all the same


def test_later_event_of_lower_phase_does_not_regress():
    first = run(fresh(), [upd(S.IN_TRANSIT, [ev(1, S.IN_TRANSIT)])])
    reprint = apply(first.state, upd(S.INFO_RECEIVED, [ev(5, S.INFO_RECEIVED)]), first.timeline, at(6))
    assert reprint.state.status == S.IN_TRANSIT
    assert reprint.state.last_event_at == at(5)


def test_side_states_return_to_the_main_line():
    result = run(fresh(), [
        upd(S.OUT_FOR_DELIVERY, [ev(1, S.OUT_FOR_DELIVERY)]),
        upd(S.ATTEMPT_FAILED, [ev(2, S.ATTEMPT_FAILED)]),
        upd(S.OUT_FOR_DELIVERY, [ev(20, S.OUT_FOR_DELIVERY)]),
        upd(S.DELIVERED, [ev(22, S.DELIVERED)]),
    ])
    assert result.state.status == S.DELIVERED and result.state.delivered_at == at(22)
    back = run(fresh(), [upd(S.EXCEPTION, [ev(1, S.EXCEPTION)]), upd(S.IN_TRANSIT, [ev(2, S.IN_TRANSIT)])])
    assert back.state.status == S.IN_TRANSIT
    no_back = run(fresh(), [upd(S.EXCEPTION, [ev(1, S.EXCEPTION)]), upd(S.INFO_RECEIVED, [ev(2, S.INFO_RECEIVED)])])
    assert no_back.state.status == S.EXCEPTION


def test_returning_to_sender_then_returned_only():
    returning = run(fresh(), [upd(S.RETURNING_TO_SENDER, [ev(1, S.RETURNING_TO_SENDER)])])
    moving = apply(returning.state, upd(S.IN_TRANSIT, [ev(2, S.IN_TRANSIT)]), returning.timeline, at(3))
    assert moving.state.status == S.RETURNING_TO_SENDER
    back_home = apply(moving.state, upd(S.DELIVERED, [ev(4, S.DELIVERED)]), moving.timeline, at(5))
    assert back_home.state.status == S.RETURNED  # delivered to the sender
    assert back_home.state.delivered_at is None


@pytest.mark.parametrize("final", sorted(FINAL_STATUSES))
def test_final_statuses_are_sticky(final):
    for status in TrackingStatus:
        assert not can_transition(final, status)


def test_expired_only_before_any_scan():
    assert {status for status in TrackingStatus if can_transition(status, S.EXPIRED)} == {S.PENDING, S.INFO_RECEIVED}
    assert {status for status in TrackingStatus if can_transition(S.RETURNING_TO_SENDER, status)} == {S.RETURNED}


def test_ignores_events_of_a_recycled_tracking_number():
    created = T0
    old = TrackingEvent(occurred_at=created - RECYCLE_WINDOW - timedelta(days=1), status=S.DELIVERED)
    result = apply(ShipmentTracking(tracking_number=TN), upd(S.DELIVERED, [old], estimated_delivery=at(-800)),
                   [], at(1), shipment_created_at=created)
    assert result.ignored_events == [old]
    assert result.timeline == [] and result.added_events == []
    assert result.state.status == S.PENDING  # the overall "delivered" was about the earlier parcel
    assert result.state.current_eta is None
    assert result.state.created_at == created
    # mixed: the old events go, the new ones count
    mixed = apply(ShipmentTracking(tracking_number=TN), upd(S.IN_TRANSIT, [old, ev(1, S.IN_TRANSIT)]), [], at(2),
                  shipment_created_at=created)
    assert mixed.state.status == S.IN_TRANSIT and mixed.ignored_events == [old]
    # just inside the window (events before the shipment's own creation: label printed earlier)
    recent = TrackingEvent(occurred_at=created - RECYCLE_WINDOW + timedelta(hours=1), status=S.INFO_RECEIVED)
    assert apply(fresh(), upd(S.INFO_RECEIVED, [recent]), [], at(1)).ignored_events == []


def test_rejects_an_update_for_another_tracking_number():
    other = TrackingUpdate(carrier="ups", tracking_number="1ZOTHER", provider="sandbox", status=S.IN_TRANSIT)
    with pytest.raises(ValueError):
        apply(fresh(), other, [], at(1))
    spaced = TrackingUpdate(carrier="ups", tracking_number=" 1z999aa1 0123456784", provider="sandbox",
                            status=S.IN_TRANSIT)
    assert apply(fresh(), spaced, [], at(1)).state.status == S.IN_TRANSIT


def test_bookkeeping_webhook_flag_and_poll_failures():
    state = fresh().model_copy(update={"poll_failures": 3})
    by_webhook = apply(state, upd(S.IN_TRANSIT, source="webhook"), [], at(1)).state
    assert by_webhook.webhook_active and by_webhook.poll_failures == 3 and by_webhook.last_checked_at == at(1)
    by_poll = apply(by_webhook, upd(S.IN_TRANSIT), [], at(2)).state
    assert by_poll.webhook_active and by_poll.poll_failures == 0
    assert by_poll.next_poll_at is not None and by_poll.next_poll_at >= at(2) + timedelta(hours=12)


def test_sub_status_follows_same_status():
    first = run(fresh(), [upd(S.EXCEPTION, [ev(1, S.EXCEPTION, sub_status="weather")])])
    assert first.state.sub_status == "weather"
    second = apply(first.state, upd(S.EXCEPTION, [ev(2, S.EXCEPTION, sub_status="address_issue")]),
                   first.timeline, at(3))
    assert second.state.sub_status == "address_issue" and not second.status_changed


def test_never_scanned_tracker_expires_on_an_update_after_30_days():
    result = apply(fresh(), upd(S.PENDING), [], T0 + timedelta(days=31))
    assert result.state.status == S.EXPIRED and result.status_changed
    assert result.state.next_poll_at is None


# --- properties over any sequence of updates -------------------------------------------------

BAND = {S.PENDING: 0, S.INFO_RECEIVED: 1, S.IN_TRANSIT: 2, S.EXCEPTION: 2, S.ATTEMPT_FAILED: 2,
        S.AVAILABLE_FOR_PICKUP: 2, S.OUT_FOR_DELIVERY: 2, S.RETURNING_TO_SENDER: 3, S.DELIVERED: 4,
        S.RETURNED: 4, S.EXPIRED: 4}
MAIN = {S.PENDING: 0, S.INFO_RECEIVED: 1, S.IN_TRANSIT: 2, S.OUT_FOR_DELIVERY: 3}
SIDE = {S.EXCEPTION, S.ATTEMPT_FAILED, S.AVAILABLE_FOR_PICKUP}


def assert_forward(old: S, new: S) -> None:
    if new == old:
        return
    assert old not in FINAL_STATUSES, f"{old} is final, became {new}"
    assert BAND[new] > BAND[old] or BAND[new] == BAND[old] == 2, f"{old} -> {new}"
    if old == S.RETURNING_TO_SENDER:
        assert new == S.RETURNED
    if new == S.EXPIRED:
        assert old in (S.PENDING, S.INFO_RECEIVED)
    if old in MAIN and new in MAIN:
        assert MAIN[new] > MAIN[old]
    if old in SIDE and new in MAIN:
        assert new in (S.IN_TRANSIT, S.OUT_FOR_DELIVERY)


@settings(max_examples=300)
@given(st.lists(updates(), min_size=1, max_size=8), st.lists(st.integers(1, 60 * 24 * 6), min_size=8, max_size=8))
def test_status_never_regresses_and_finals_stay(sequence, gaps):
    state, timeline, now = fresh(), [], T0
    for update, gap in zip(sequence, gaps):
        now += timedelta(minutes=gap)
        result = apply(state, update, timeline, now)
        assert_forward(state.status, result.state.status)
        assert result.previous_status == state.status
        assert result.status_changed == (result.state.status != state.status)
        assert (result.state.next_poll_at is None) == (result.state.status in FINAL_STATUSES)
        if state.original_eta is not None:
            assert result.state.original_eta == state.original_eta
        state, timeline = result.state, result.timeline


@settings(max_examples=300)
@given(st.lists(updates(), min_size=1, max_size=5), updates())
def test_a_late_update_changes_nothing_in_status_or_eta(sequence, late):
    state, timeline = fresh(), []
    for index, update in enumerate(sequence):
        result = apply(state, update, timeline, at(300 + index))
        state, timeline = result.state, result.timeline
    if not timeline or not late.events:
        return
    newest = timeline[-1].occurred_at
    old_events = [event for event in late.events if event.occurred_at < newest]
    if not old_events:
        return
    result = apply(state, late.model_copy(update={"events": old_events}), timeline, at(400))
    assert result.state.status == state.status
    assert result.state.current_eta == state.current_eta


@settings(max_examples=200)
@given(st.lists(updates(), min_size=1, max_size=5))
def test_applying_the_same_update_twice_changes_nothing_more(sequence):
    state, timeline = fresh(), []
    for index, update in enumerate(sequence):
        once = apply(state, update, timeline, at(300 + index))
        twice = apply(once.state, update, once.timeline, at(300 + index))
        assert twice.added_events == []
        assert twice.timeline == once.timeline
        assert twice.state.status == once.state.status
        assert twice.state.current_eta == once.state.current_eta
        state, timeline = once.state, once.timeline


@given(st.lists(events, min_size=1, max_size=8).flatmap(lambda items: st.tuples(st.just(items), st.permutations(items))))
def test_timeline_stored_is_the_same_whatever_the_webhook_order(case):
    items, shuffled = case
    forward = run(fresh(), [upd(S.PENDING, [item]) for item in items])
    backward = run(fresh(), [upd(S.PENDING, [item]) for item in shuffled])
    assert forward.timeline == backward.timeline
    assert forward.state.last_event_at == backward.state.last_event_at
