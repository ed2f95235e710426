"""SandboxCarrier: deterministic, realistic timelines, revealed as simulated time passes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postpurchase.clock import SimulatedClock
from postpurchase.errors import InvalidInput
from postpurchase.tracking.carriers.base import CarrierClient
from postpurchase.tracking.carriers.sandbox import (
    DOORSTEP_HOURS,
    SandboxCarrier,
    scenario_of,
    timeline,
    tracker_id,
)
from postpurchase.tracking.model import FINAL_STATUSES, TrackingStatus as S

START = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)
FAR_FUTURE = START + timedelta(days=90)
DOORSTEP = {S.OUT_FOR_DELIVERY, S.DELIVERED, S.ATTEMPT_FAILED, S.AVAILABLE_FOR_PICKUP}

# scenario -> the status it ends in
ENDINGS = {
    "SBX-OK-1001": S.DELIVERED,
    "SBX-DELAY-1001": S.DELIVERED,
    "SBX-STALL-1001": S.DELIVERED,
    "SBX-FAIL-1001": S.DELIVERED,
    "SBX-PICKUP-1001": S.AVAILABLE_FOR_PICKUP,
    "SBX-RTS-1001": S.RETURNED,
    "SBX-EXPIRE-1001": S.EXPIRED,
    "1Z999AA10123456784": S.DELIVERED,  # any other number: the normal journey
}


def statuses(scans) -> list[S]:
    return [scan.status for scan in scans]


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


def test_is_a_carrier_client(clock):
    assert isinstance(SandboxCarrier(clock.now), CarrierClient)


@pytest.mark.parametrize("number, ending", ENDINGS.items())
def test_every_timeline_is_ordered_and_ends_plausibly(number, ending):
    scans = timeline(number, START)
    times = [scan.at for scan in scans]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert scans[0].at == START and scans[0].status is S.INFO_RECEIVED
    assert scans[-1].status is ending
    # a final status only ever closes the timeline
    assert all(scan.status not in FINAL_STATUSES for scan in scans[:-1])
    assert all(scan.place.label.endswith(", US") for scan in scans)


@pytest.mark.parametrize("number", ENDINGS)
def test_doorstep_scans_happen_in_business_hours(number):
    opens, closes = DOORSTEP_HOURS
    for scan in timeline(number, START):
        if scan.status in DOORSTEP:
            assert opens <= scan.place.local(scan.at).hour < closes, scan


def test_scenario_from_prefix():
    assert scenario_of("sbx-delay-42") == "SBX-DELAY-"
    assert scenario_of("SBX-RTS-1") == "SBX-RTS-"
    assert scenario_of("9400111206213859143125") == "SBX-OK-"


def test_normal_journey_shape():
    scans = timeline("SBX-OK-1001", START)
    kinds = statuses(scans)
    assert kinds[1:3] == [S.IN_TRANSIT, S.IN_TRANSIT] and scans[1].sub_status == "picked_up"
    hubs = {scan.place.city for scan in scans if scan.sub_status == "arrived_at_facility"} - {scans[0].place.city}
    assert 2 <= len(hubs) <= 3
    assert kinds[-2:] == [S.OUT_FOR_DELIVERY, S.DELIVERED]
    assert S.EXCEPTION not in kinds and S.ATTEMPT_FAILED not in kinds


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10**6),
       st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(timezone.utc)))
def test_normal_journeys_take_about_two_to_four_days(n, start):
    scans = timeline(f"SBX-OK-{n}", start)
    took = scans[-1].at - start
    assert timedelta(days=1) <= took <= timedelta(days=5)
    assert scans[-1].status is S.DELIVERED


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(str.strip), st.sampled_from(list(ENDINGS)))
def test_any_tracking_number_gives_a_valid_timeline(suffix, prefix_source):
    prefix = scenario_of(prefix_source)
    scans = timeline(prefix + suffix, START)
    times = [scan.at for scan in scans]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_delay_moves_the_eta_later(clock):
    number = "SBX-DELAY-1001"
    scans = timeline(number, START)
    delay = next(scan for scan in scans if scan.status is S.EXCEPTION)
    assert delay.sub_status == "weather_delay"
    carrier = SandboxCarrier(clock.now)
    tracker = carrier.register("sandbox", number).provider_tracker_id
    clock.set(delay.at - timedelta(minutes=1))
    before = carrier.fetch("sandbox", number, tracker)
    clock.set(delay.at)
    during = carrier.fetch("sandbox", number, tracker)
    assert before.estimated_delivery is not None and during.estimated_delivery is not None
    assert during.estimated_delivery > before.estimated_delivery
    assert during.status is S.EXCEPTION and during.sub_status == "weather_delay"
    # transit resumes afterwards and the parcel arrives by the revised date
    assert scans[scans.index(delay) + 1].status is S.IN_TRANSIT
    clock.set(FAR_FUTURE)
    done = carrier.fetch("sandbox", number, tracker)
    assert done.status is S.DELIVERED and done.estimated_delivery == during.estimated_delivery
    assert done.events[-1].occurred_at <= done.estimated_delivery


def test_stall_has_five_silent_days_after_transit_starts():
    scans = timeline("SBX-STALL-1001", START)
    gaps = [(b.at - a.at, a) for a, b in zip(scans, scans[1:])]
    longest, before = max(gaps, key=lambda gap: gap[0])
    assert longest >= timedelta(days=5)
    assert before.status is S.IN_TRANSIT
    assert statuses(scans)[-1] is S.DELIVERED


def test_failed_attempt_then_delivered_the_next_day(clock):
    number = "SBX-FAIL-1001"
    scans = timeline(number, START)
    attempt = next(scan for scan in scans if scan.status is S.ATTEMPT_FAILED)
    delivered = scans[-1]
    assert delivered.status is S.DELIVERED
    assert attempt.place.local(delivered.at).date() > attempt.place.local(attempt.at).date()
    carrier = SandboxCarrier(clock.now)
    tracker = carrier.register("sandbox", number).provider_tracker_id
    clock.set(attempt.at - timedelta(seconds=1))
    before = carrier.fetch("sandbox", number, tracker)
    clock.set(attempt.at)
    after = carrier.fetch("sandbox", number, tracker)
    assert after.status is S.ATTEMPT_FAILED
    assert after.estimated_delivery > before.estimated_delivery


def test_pickup_ends_available_for_pickup():
    scans = timeline("SBX-PICKUP-1001", START)
    assert scans[-1].status is S.AVAILABLE_FOR_PICKUP
    assert S.DELIVERED not in statuses(scans) and S.OUT_FOR_DELIVERY not in statuses(scans)


def test_return_to_sender_sequence():
    kinds = statuses(timeline("SBX-RTS-1001", START))
    exception = kinds.index(S.EXCEPTION)
    returning = kinds.index(S.RETURNING_TO_SENDER)
    assert exception < returning < kinds.index(S.RETURNED) == len(kinds) - 1
    assert S.DELIVERED not in kinds


def test_expire_is_never_scanned():
    scans = timeline("SBX-EXPIRE-1001", START)
    assert statuses(scans) == [S.INFO_RECEIVED, S.EXPIRED]
    assert scans[1].at - scans[0].at >= timedelta(days=30)


# --- register / fetch ---------------------------------------------------------------------------

def test_register_records_the_start_in_the_tracker_id(clock):
    update = SandboxCarrier(clock.now).register("sandbox", "SBX-OK-1001")
    assert update.provider == "sandbox"
    assert update.provider_tracker_id == tracker_id(START) == f"sbx_{int(START.timestamp())}"
    assert update.status is S.INFO_RECEIVED  # the label event is at registration time
    assert [event.status for event in update.events] == [S.INFO_RECEIVED]
    assert update.estimated_delivery is not None and update.estimated_delivery > START


def test_register_is_idempotent_in_an_instance(clock):
    carrier = SandboxCarrier(clock.now)
    first = carrier.register("sandbox", "SBX-OK-1001")
    clock.advance(timedelta(hours=3))
    assert carrier.register("sandbox", "SBX-OK-1001").provider_tracker_id == first.provider_tracker_id


def test_fetch_is_a_pure_function_of_number_tracker_and_now(clock):
    tracker = SandboxCarrier(clock.now).register("sandbox", "SBX-DELAY-7").provider_tracker_id
    clock.advance(timedelta(days=2, hours=5))
    # another process (Lambda) that never saw register()
    a = SandboxCarrier(clock.now).fetch("sandbox", "SBX-DELAY-7", tracker)
    b = SandboxCarrier(clock.now).fetch("sandbox", "SBX-DELAY-7", tracker)
    assert a == b
    assert a.events and a.provider_tracker_id == tracker


@pytest.mark.parametrize("number", ENDINGS)
def test_fetch_only_shows_what_has_happened(clock, number):
    carrier = SandboxCarrier(clock.now)
    tracker = carrier.register("sandbox", number).provider_tracker_id
    seen = 0
    for _ in range(60):
        clock.advance(timedelta(hours=13))
        update = carrier.fetch("sandbox", number, tracker)
        assert all(event.occurred_at <= clock.now() for event in update.events)
        assert len(update.events) >= seen
        seen = len(update.events)
        assert update.status is update.events[-1].status
        assert update.sub_status == update.events[-1].sub_status
    assert seen == len(timeline(number, START))
    ids = [event.carrier_event_id for event in update.events]
    assert len(set(ids)) == len(ids)
    assert len({event.identity() for event in update.events}) == len(ids)


def test_fetch_of_an_unknown_parcel_is_pending(clock):
    update = SandboxCarrier(clock.now).fetch("sandbox", "SBX-OK-NEVER", None)
    assert update.status is S.PENDING and update.events == [] and update.provider_tracker_id is None


def test_fetch_without_id_uses_this_instance_registration(clock):
    carrier = SandboxCarrier(clock.now)
    carrier.register("sandbox", "SBX-OK-1001")
    clock.advance(timedelta(days=10))
    assert carrier.fetch("sandbox", "SBX-OK-1001", None).status is S.DELIVERED


def test_fetch_rejects_a_foreign_tracker_id(clock):
    with pytest.raises(InvalidInput):
        SandboxCarrier(clock.now).fetch("sandbox", "SBX-OK-1001", "trk_123")


def test_carrier_slug_is_normalised(clock):
    update = SandboxCarrier(clock.now).register("FedEx", "SBX-OK-1001")
    assert update.carrier == "fedex"
    assert update.tracking_url and "SBX-OK-1001" in update.tracking_url


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["SBX-DELAY-", "SBX-FAIL-"]),
       st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(timezone.utc)))
def test_eta_revisions_only_move_later(n, prefix, start):
    etas = [scan.eta for scan in timeline(f"{prefix}{n}", start) if isinstance(scan.eta, datetime)]
    assert len(etas) == 2 and etas[1] > etas[0] > start
