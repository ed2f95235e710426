"""Which customer notice is due (postpurchase.tracking.notices)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postpurchase.tracking.model import TrackingEvent, TrackingStatus, TrackingUpdate
from postpurchase.tracking.notices import (DELAY_THRESHOLD, OFD_FRESH, SIGNIFICANCE, STATUS_NOTICE, notices_due,
                                           pick_notice)
from postpurchase.tracking.schedule import start
from postpurchase.tracking.state import NoticeKind, ShipmentTracking
from postpurchase.tracking.timeline import apply

S = TrackingStatus
N = NoticeKind
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
TN = "1Z999AA10123456784"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ev(hours: float, status: S) -> TrackingEvent:
    return TrackingEvent(occurred_at=at(hours), status=status)


def upd(status: S, events=(), **extra) -> TrackingUpdate:
    return TrackingUpdate(carrier="ups", tracking_number=TN, provider="sandbox", status=status, events=list(events),
                          **extra)


def tracking(status: S, **extra) -> ShipmentTracking:
    base = {"tracking_number": TN, "created_at": T0, "status": status, "status_changed_at": at(1),
            "last_event_at": at(1)}
    return ShipmentTracking(**{**base, **extra})


def test_significance_covers_every_kind_once():
    assert sorted(SIGNIFICANCE) == sorted(NoticeKind)


def test_shipped_when_the_carrier_first_knows_the_parcel():
    before = start("ups", TN, created_at=T0, now=T0)
    after = apply(before, upd(S.INFO_RECEIVED, [ev(1, S.INFO_RECEIVED)]), [], at(2)).state
    assert notices_due(before, after, at(2)) == [N.SHIPPED]
    assert notices_due(before, before, at(2)) == []
    assert pick_notice(after.with_notice_sent(N.SHIPPED), at(2)) is None
    # after any other notice, "shipped" would only confuse
    back_on_track = tracking(S.IN_TRANSIT, notices_sent=frozenset({N.EXCEPTION}))
    assert pick_notice(back_on_track, at(2)) is None


def test_a_burst_yields_only_the_most_significant_current_notice():
    before = apply(start("ups", TN, created_at=T0, now=T0), upd(S.IN_TRANSIT, [ev(1, S.IN_TRANSIT)]), [], at(2))
    before_state = before.state.with_notice_sent(N.SHIPPED)
    burst = upd(S.DELIVERED, [ev(5, S.OUT_FOR_DELIVERY), ev(7, S.DELIVERED)])
    after = apply(before_state, burst, before.timeline, at(8)).state
    assert notices_due(before_state, after, at(8)) == [N.DELIVERED]
    # and from nothing at all: no "shipped", no "out for delivery", just "delivered"
    first = start("ups", TN, created_at=T0, now=T0)
    everything = upd(S.DELIVERED, [ev(1, S.INFO_RECEIVED), ev(3, S.IN_TRANSIT), ev(5, S.OUT_FOR_DELIVERY),
                                   ev(7, S.DELIVERED)])
    assert notices_due(first, apply(first, everything, [], at(8)).state, at(8)) == [N.DELIVERED]


def test_webhooks_over_two_minutes_make_one_email_about_the_latest_state():
    state = start("ups", TN, created_at=T0, now=T0).with_notice_sent(N.SHIPPED)
    timeline: list[TrackingEvent] = []
    due_any = []
    for minute, status in ((0, S.IN_TRANSIT), (1, S.OUT_FOR_DELIVERY), (2, S.DELIVERED)):
        now = at(5) + timedelta(minutes=minute)
        result = apply(state, upd(status, [TrackingEvent(occurred_at=now, status=status)], source="webhook"),
                       timeline, now)
        due_any += notices_due(state, result.state, now)
        state, timeline = result.state, result.timeline
    assert due_any == [N.OUT_FOR_DELIVERY, N.DELIVERED]  # each would schedule a check...
    assert pick_notice(state, at(5) + timedelta(minutes=4)) == N.DELIVERED  # ...each check sends the latest
    assert pick_notice(state.with_notice_sent(N.DELIVERED), at(6)) is None


@pytest.mark.parametrize(("status", "kind"), sorted((s, k) for s, k in STATUS_NOTICE.items() if k != N.SHIPPED))
def test_each_status_notice_at_most_once(status, kind):
    state = tracking(status, notices_sent=frozenset({N.SHIPPED}))
    assert pick_notice(state, at(2)) == kind
    assert pick_notice(state.with_notice_sent(kind), at(2)) is None


def test_no_notice_for_pending_or_expired():
    assert pick_notice(tracking(S.PENDING), at(2)) is None
    assert pick_notice(tracking(S.EXPIRED), at(2)) is None


def test_returned_after_returning_is_the_same_notice():
    returning = tracking(S.RETURNING_TO_SENDER, notices_sent=frozenset({N.SHIPPED}))
    assert pick_notice(returning, at(2)) == N.RETURNED_TO_SENDER
    returned = returning.model_copy(update={"status": S.RETURNED}).with_notice_sent(N.RETURNED_TO_SENDER)
    assert notices_due(returning.with_notice_sent(N.RETURNED_TO_SENDER), returned, at(3)) == []


def test_out_for_delivery_learnt_too_late_is_not_sent():
    state = tracking(S.OUT_FOR_DELIVERY, notices_sent=frozenset({N.SHIPPED}))
    assert pick_notice(state, at(1) + OFD_FRESH) == N.OUT_FOR_DELIVERY
    assert pick_notice(state, at(1) + OFD_FRESH + timedelta(minutes=1)) is None


# --- delayed ----------------------------------------------------------------------------------


def shipped(**extra) -> ShipmentTracking:
    base = {"notices_sent": frozenset({N.SHIPPED}), "original_eta": at(72), "current_eta": at(72)}
    return tracking(S.IN_TRANSIT, **{**base, **extra})


def test_delayed_when_the_estimate_slips_a_day():
    assert pick_notice(shipped(), at(2)) is None
    half_day = shipped(current_eta=at(72) + timedelta(hours=12))
    assert pick_notice(half_day, at(2)) is None
    a_day = shipped(current_eta=at(72) + DELAY_THRESHOLD)
    assert pick_notice(a_day, at(2)) == N.DELAYED
    assert pick_notice(a_day.with_notice_sent(N.DELAYED), at(2)) is None


def test_delayed_when_stalled_or_overdue():
    assert pick_notice(shipped(), at(1) + timedelta(days=3)) == N.DELAYED  # no scan for three days
    overdue = shipped(last_event_at=at(90))
    assert pick_notice(overdue, at(72) + timedelta(hours=23)) is None
    assert pick_notice(overdue, at(72) + timedelta(days=1)) == N.DELAYED


def test_delayed_only_while_on_the_way():
    for status in (S.OUT_FOR_DELIVERY, S.EXCEPTION, S.DELIVERED, S.AVAILABLE_FOR_PICKUP, S.PENDING):
        state = shipped(current_eta=at(200)).model_copy(update={"status": status})
        assert pick_notice(state, at(2)) != N.DELAYED


def test_shipped_before_delayed_then_delayed_reported_until_sent():
    state = tracking(S.IN_TRANSIT, original_eta=at(24), current_eta=at(72))
    assert pick_notice(state, at(2)) == N.SHIPPED
    sent = state.with_notice_sent(N.SHIPPED)
    assert notices_due(sent, sent, at(2)) == [N.DELAYED]  # time or an earlier change made it due
    assert notices_due(sent, sent.with_notice_sent(N.DELAYED), at(2)) == []


def test_a_status_notice_already_due_is_not_reported_again():
    state = tracking(S.OUT_FOR_DELIVERY, notices_sent=frozenset({N.SHIPPED}))
    assert notices_due(tracking(S.IN_TRANSIT, notices_sent=frozenset({N.SHIPPED})), state, at(2)) == [
        N.OUT_FOR_DELIVERY]
    assert notices_due(state, state, at(2)) == []


# --- at most one notice per kind, over any sequence -------------------------------------------

statuses = st.sampled_from(list(TrackingStatus))


@st.composite
def updates(draw) -> TrackingUpdate:
    events = draw(st.lists(st.builds(TrackingEvent, occurred_at=st.integers(0, 24 * 12).map(at), status=statuses),
                           max_size=4))
    return upd(draw(statuses), events, estimated_delivery=draw(st.none() | st.integers(0, 24 * 15).map(at)),
               source=draw(st.sampled_from(["poll", "webhook"])))


@settings(max_examples=300)
@given(st.lists(st.tuples(updates(), st.integers(1, 24 * 60 * 4), st.booleans()), min_size=1, max_size=10))
def test_at_most_one_notice_per_kind_across_any_updates(steps):
    state, timeline, now = start("ups", TN, created_at=T0, now=T0), [], T0
    sent: Counter[NoticeKind] = Counter()
    for update, gap_minutes, via_check in steps:
        now += timedelta(minutes=gap_minutes)
        result = apply(state, update, timeline, now)
        due = notices_due(state, result.state, now)
        assert len(due) <= 1
        current = result.state
        # half the time the notice is sent at once, half the time by a later check
        kind = (due[0] if due else None) if not via_check else pick_notice(current, now + timedelta(minutes=2))
        if kind is not None:
            assert kind not in current.notices_sent
            if kind != N.DELAYED:
                assert STATUS_NOTICE.get(current.status) == kind  # about where the parcel is now
            sent[kind] += 1
            current = current.with_notice_sent(kind)
        state, timeline = current, result.timeline
    assert all(count == 1 for count in sent.values())
    assert set(sent) == set(state.notices_sent)


def test_notices_sent_round_trips_through_json():
    state = tracking(S.DELIVERED, notices_sent=frozenset({N.SHIPPED, N.DELIVERED}))
    dumped = state.model_dump(mode="json")
    assert dumped["notices_sent"] == ["delivered", "shipped"]
    assert ShipmentTracking.model_validate(dumped) == state
