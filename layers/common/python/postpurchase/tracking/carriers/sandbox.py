"""An in-process carrier for the local runtime, demos and tests: no HTTP, no keys.

Each parcel gets a realistic, deterministic timeline generated from its tracking number (the
seed) and its registration time (the origin); `fetch` shows the scans whose time has come. The
scenario comes from the tracking-number prefix:

    SBX-OK-      label -> picked up -> 2-3 hubs -> out for delivery -> delivered (~2-4 days)
    SBX-DELAY-   a weather delay at a hub moves the ETA later, then transit resumes
    SBX-STALL-   no scans for 5 days after the first hub, then it moves again
    SBX-FAIL-    delivery attempt fails, delivered the next day
    SBX-PICKUP-  ends available for pickup at a local counter
    SBX-RTS-     delivery exception -> returning to sender -> returned
    SBX-EXPIRE-  never scanned; expires after 30 days
    anything else: as SBX-OK-

register() may run in one Lambda and fetch() in another, so the registration time travels in
the tracker id ("sbx_<unix seconds>"): fetch is a pure function of (tracking number, tracker id,
now). Scans fall in local business hours (fixed UTC offsets; DST is ignored, it is a sandbox).
"""
from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone

from postpurchase.errors import InvalidInput
from postpurchase.tracking.carriers.base import make_update, normalise_carrier, tracking_url
from postpurchase.tracking.model import TrackingEvent, TrackingStatus, TrackingUpdate

S = TrackingStatus
_TRACKER_ID = re.compile(r"^sbx_(\d{1,12})$")
# Local hours in which scans happen: doorstep work (pickup, delivery) in business hours; sort
# facilities run long shifts.
DOORSTEP_HOURS = (8, 19)
FACILITY_HOURS = (5, 23)
_EXPIRE_AFTER = timedelta(days=30)  # AfterShip expires trackings silent for 30 days
_STALL = timedelta(days=5)


@dataclass(frozen=True)
class Place:
    city: str
    state: str
    country: str
    utc_offset: int  # hours, standard time

    @property
    def label(self) -> str:
        return f"{self.city}, {self.state}, {self.country}"

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(timezone(timedelta(hours=self.utc_offset)))


_ORIGINS = (
    Place("Los Angeles", "CA", "US", -8), Place("Seattle", "WA", "US", -8), Place("Denver", "CO", "US", -7),
    Place("Chicago", "IL", "US", -6), Place("Atlanta", "GA", "US", -5), Place("Newark", "NJ", "US", -5),
)
_HUBS = (
    Place("Memphis", "TN", "US", -6), Place("Louisville", "KY", "US", -5), Place("Indianapolis", "IN", "US", -5),
    Place("Dallas", "TX", "US", -6), Place("Salt Lake City", "UT", "US", -7), Place("Columbus", "OH", "US", -5),
    Place("Kansas City", "MO", "US", -6), Place("Phoenix", "AZ", "US", -7),
)
_DESTINATIONS = (
    Place("Brooklyn", "NY", "US", -5), Place("Boston", "MA", "US", -5), Place("Austin", "TX", "US", -6),
    Place("Portland", "OR", "US", -8), Place("Miami", "FL", "US", -5), Place("Minneapolis", "MN", "US", -6),
    Place("Charlotte", "NC", "US", -5), Place("San Diego", "CA", "US", -8),
)


class _Keep:
    """Sentinel: this scan does not revise the ETA."""


_KEEP = _Keep()


@dataclass(frozen=True)
class Scan:
    at: datetime  # UTC
    status: TrackingStatus
    sub_status: str | None
    description: str
    place: Place
    eta: datetime | None | _Keep = _KEEP  # the ETA the carrier shows from this scan on


class _Route:
    """Appends scans while walking a cursor forward in time; never moves backwards."""

    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng = rng
        self.t = start
        self.scans: list[Scan] = []

    def wait(self, min_hours: float, max_hours: float, place: Place,
             hours: tuple[int, int] = FACILITY_HOURS) -> None:
        self.t += timedelta(minutes=self.rng.randint(int(min_hours * 60), int(max_hours * 60)))
        self.t = self._within(self.t, place, hours)

    def next_morning(self, place: Place) -> None:
        """08:00-09:30 local the next (non-Sunday) day: when delivery vans leave."""
        day = place.local(self.t).date() + timedelta(days=1)
        if day.weekday() == 6:
            day += timedelta(days=1)
        self.t = _at_local(day, DOORSTEP_HOURS[0], self.rng.randint(0, 90), place)

    def scan(self, status: TrackingStatus, sub_status: str | None, description: str, place: Place,
             eta: datetime | None | _Keep = _KEEP) -> None:
        self.scans.append(Scan(self.t, status, sub_status, description, place, eta))

    def set_eta(self, index: int, eta: datetime | None) -> None:
        self.scans[index] = replace(self.scans[index], eta=eta)

    def _within(self, moment: datetime, place: Place, hours: tuple[int, int]) -> datetime:
        """`moment`, or the next opening time if it falls outside `hours` (only moves forward)."""
        opens, closes = hours
        local = place.local(moment)
        if local.hour < opens:
            return _at_local(local.date(), opens, self.rng.randint(0, 50), place)
        if local.hour >= closes:
            return _at_local(local.date() + timedelta(days=1), opens, self.rng.randint(0, 50), place)
        return moment


def _at_local(day: date, hour: int, minutes: int, place: Place) -> datetime:
    local = datetime.combine(day, time(hour), tzinfo=timezone(timedelta(hours=place.utc_offset)))
    return (local + timedelta(minutes=minutes)).astimezone(timezone.utc)


def _end_of_day(moment: datetime, place: Place, days_later: int = 0) -> datetime:
    """20:00 local on the day of `moment` (+ days): how carriers phrase an ETA ("by end of day")."""
    return _at_local(place.local(moment).date() + timedelta(days=days_later), 20, 0, place)


# --- scenario pieces --------------------------------------------------------------------------

def _first_mile(r: _Route, origin: Place) -> None:
    r.scan(S.INFO_RECEIVED, "label_created", "Shipping label created, carrier awaiting item", origin)
    r.wait(2, 6, origin, DOORSTEP_HOURS)
    r.scan(S.IN_TRANSIT, "picked_up", "Picked up by carrier", origin)
    r.wait(1, 3, origin)
    r.scan(S.IN_TRANSIT, "arrived_at_facility", f"Arrived at {origin.city} origin facility", origin)
    r.wait(1, 3, origin)
    r.scan(S.IN_TRANSIT, "departed_facility", f"Departed {origin.city} origin facility", origin)


def _hub(r: _Route, hub: Place, *, depart: bool = True) -> None:
    r.wait(4, 10, hub)
    r.scan(S.IN_TRANSIT, "arrived_at_facility", f"Arrived at {hub.city} sort facility", hub)
    if depart:
        r.wait(1, 3, hub)
        r.scan(S.IN_TRANSIT, "departed_facility", f"Departed {hub.city} sort facility", hub)


def _last_mile(r: _Route, dest: Place) -> None:
    r.wait(3, 8, dest)
    r.scan(S.IN_TRANSIT, "arrived_at_destination_facility", f"Arrived at {dest.city} delivery facility", dest)


def _out_for_delivery(r: _Route, dest: Place) -> None:
    r.next_morning(dest)
    r.scan(S.OUT_FOR_DELIVERY, None, "Out for delivery", dest)


def _deliver(r: _Route, dest: Place) -> None:
    r.wait(2, 7, dest, DOORSTEP_HOURS)
    r.scan(S.DELIVERED, None, "Delivered, left at front door", dest)


# --- scenarios: each appends its scans to the route ------------------------------------------------

@dataclass(frozen=True)
class _Trip:
    origin: Place
    hubs: tuple[Place, ...]
    dest: Place


def _normal(r: _Route, trip: _Trip) -> None:
    _first_mile(r, trip.origin)
    for hub in trip.hubs:
        _hub(r, hub)
    _last_mile(r, trip.dest)
    _out_for_delivery(r, trip.dest)
    _deliver(r, trip.dest)
    r.set_eta(0, _end_of_day(r.t, trip.dest))


def _delay(r: _Route, trip: _Trip) -> None:
    first, rest = trip.hubs[0], trip.hubs[1:]
    _first_mile(r, trip.origin)
    _hub(r, first, depart=False)
    r.wait(1, 3, first)
    r.scan(S.EXCEPTION, "weather_delay",
           "Delayed: severe weather in the area. Your package will be delivered as soon as possible", first)
    delayed_index = len(r.scans) - 1
    r.wait(26, 40, first)  # at least a day lost, so the delivery date really moves
    r.scan(S.IN_TRANSIT, "departed_facility", f"Departed {first.city} sort facility", first)
    for hub in rest:
        _hub(r, hub)
    _last_mile(r, trip.dest)
    _out_for_delivery(r, trip.dest)
    _deliver(r, trip.dest)
    revised = _end_of_day(r.t, trip.dest)
    # The promise made at label time: one or two days earlier, but never before tomorrow.
    original = max(revised - timedelta(days=r.rng.randint(1, 2)),
                   _end_of_day(r.scans[0].at, trip.dest, days_later=1))
    if original >= revised:
        original = revised - timedelta(days=1)
    r.set_eta(0, original)
    r.set_eta(delayed_index, revised)


def _stall(r: _Route, trip: _Trip) -> None:
    first, rest = trip.hubs[0], trip.hubs[1:]
    _first_mile(r, trip.origin)
    _hub(r, first)
    r.set_eta(0, _end_of_day(r.scans[0].at, trip.dest, days_later=3))  # goes stale during the stall
    r.t += _STALL
    resumed_index = len(r.scans)  # the next scan ends the silence
    for hub in rest:
        _hub(r, hub)
    _last_mile(r, trip.dest)
    _out_for_delivery(r, trip.dest)
    _deliver(r, trip.dest)
    r.set_eta(resumed_index, _end_of_day(r.t, trip.dest))


def _failed_attempt(r: _Route, trip: _Trip) -> None:
    _first_mile(r, trip.origin)
    for hub in trip.hubs:
        _hub(r, hub)
    _last_mile(r, trip.dest)
    _out_for_delivery(r, trip.dest)
    r.wait(2, 6, trip.dest, DOORSTEP_HOURS)
    r.scan(S.ATTEMPT_FAILED, "recipient_unavailable",
           "Delivery attempted: no authorized recipient available. Notice left", trip.dest)
    attempt_index = len(r.scans) - 1
    r.set_eta(0, _end_of_day(r.t, trip.dest))
    _out_for_delivery(r, trip.dest)
    _deliver(r, trip.dest)
    r.set_eta(attempt_index, _end_of_day(r.t, trip.dest))


def _pickup(r: _Route, trip: _Trip) -> None:
    _first_mile(r, trip.origin)
    for hub in trip.hubs:
        _hub(r, hub)
    _last_mile(r, trip.dest)
    r.wait(2, 5, trip.dest, DOORSTEP_HOURS)
    r.scan(S.AVAILABLE_FOR_PICKUP, None,
           f"Available for pickup at the {trip.dest.city} customer counter. Bring photo ID", trip.dest)
    r.set_eta(0, _end_of_day(r.t, trip.dest))


def _return_to_sender(r: _Route, trip: _Trip) -> None:
    _first_mile(r, trip.origin)
    for hub in trip.hubs:
        _hub(r, hub)
    _last_mile(r, trip.dest)
    _out_for_delivery(r, trip.dest)
    r.set_eta(0, _end_of_day(r.t, trip.dest))
    r.wait(2, 6, trip.dest, DOORSTEP_HOURS)
    r.scan(S.EXCEPTION, "incorrect_address",
           "Delivery exception: the address is incomplete or incorrect", trip.dest, eta=None)
    r.wait(18, 30, trip.dest)
    r.scan(S.RETURNING_TO_SENDER, "returning_to_sender", "Returning to sender: undeliverable as addressed",
           trip.dest)
    back = trip.hubs[-1]
    r.wait(4, 10, back)
    r.scan(S.RETURNING_TO_SENDER, "returning_to_sender", f"Return in transit: arrived at {back.city} sort facility",
           back)
    r.wait(20, 40, trip.origin, DOORSTEP_HOURS)
    r.scan(S.RETURNED, "returned_to_sender", "Returned to sender: delivered to the shipper", trip.origin)


def _expire(r: _Route, trip: _Trip) -> None:
    r.scan(S.INFO_RECEIVED, "label_created", "Shipping label created, carrier awaiting item", trip.origin,
           eta=_end_of_day(r.t, trip.dest, days_later=3))
    r.t += _EXPIRE_AFTER
    r.scan(S.EXPIRED, "expired", "No scans received from the carrier for 30 days; tracking has expired",
           trip.origin, eta=None)


SCENARIOS: dict[str, Callable[[_Route, _Trip], None]] = {
    "SBX-OK-": _normal,
    "SBX-DELAY-": _delay,
    "SBX-STALL-": _stall,
    "SBX-FAIL-": _failed_attempt,
    "SBX-PICKUP-": _pickup,
    "SBX-RTS-": _return_to_sender,
    "SBX-EXPIRE-": _expire,
}


def scenario_of(tracking_number: str) -> str:
    upper = tracking_number.strip().upper()
    return next((prefix for prefix in SCENARIOS if upper.startswith(prefix)), "SBX-OK-")


def timeline(tracking_number: str, start: datetime) -> list[Scan]:
    """Every scan this parcel will ever get, in time order: pure in (tracking number, start)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    # Seed from a stable digest: hash() is salted per process and would break Lambda-to-Lambda.
    seed = int.from_bytes(hashlib.sha256(tracking_number.strip().encode()).digest()[:8], "big")
    rng = random.Random(seed)
    trip = _Trip(origin=rng.choice(_ORIGINS), hubs=tuple(rng.sample(_HUBS, rng.choice((2, 3)))),
                 dest=rng.choice(_DESTINATIONS))
    route = _Route(rng, start.astimezone(timezone.utc))
    SCENARIOS[scenario_of(tracking_number)](route, trip)
    return route.scans


def tracker_id(start: datetime) -> str:
    return f"sbx_{int(start.timestamp())}"


def start_of(provider_tracker_id: str) -> datetime:
    match = _TRACKER_ID.match(provider_tracker_id or "")
    if match is None:
        raise InvalidInput("not a sandbox tracker id", field="provider_tracker_id")
    return datetime.fromtimestamp(int(match.group(1)), tz=timezone.utc)


class SandboxCarrier:
    provider = "sandbox"

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._starts: dict[str, datetime] = {}  # only a cache: the tracker id is the truth

    def register(self, carrier: str, tracking_number: str) -> TrackingUpdate:
        start = self._starts.get(tracking_number)
        if start is None:
            # Whole seconds, so the id round-trips exactly.
            start = datetime.fromtimestamp(int(self._now().timestamp()), tz=timezone.utc)
            self._starts[tracking_number] = start
        return self._update(carrier, tracking_number, start)

    def fetch(self, carrier: str, tracking_number: str, provider_tracker_id: str | None) -> TrackingUpdate:
        start = start_of(provider_tracker_id) if provider_tracker_id else self._starts.get(tracking_number)
        if start is None:
            # Never registered anywhere we can see: the carrier knows nothing about it yet.
            return make_update(carrier=normalise_carrier(carrier or "sandbox"), tracking_number=tracking_number,
                               provider="sandbox", status=S.PENDING,
                               tracking_url=tracking_url(carrier, tracking_number))
        return self._update(carrier, tracking_number, start)

    def _update(self, carrier: str, tracking_number: str, start: datetime) -> TrackingUpdate:
        now = self._now()
        visible = [(i, scan) for i, scan in enumerate(timeline(tracking_number, start)) if scan.at <= now]
        events = [
            TrackingEvent(
                occurred_at=scan.at,
                status=scan.status,
                sub_status=scan.sub_status,
                description=scan.description,
                location=scan.place.label,
                carrier_code=scan.sub_status or scan.status.value,
                carrier_event_id=f"{tracking_number}-{i:02d}",
            )
            for i, scan in visible
        ]
        eta: datetime | None = None
        for _, scan in visible:
            if not isinstance(scan.eta, _Keep):
                eta = scan.eta
        last = events[-1] if events else None
        return make_update(
            carrier=normalise_carrier(carrier or "sandbox"),
            tracking_number=tracking_number,
            provider="sandbox",
            provider_tracker_id=tracker_id(start),
            status=last.status if last else S.PENDING,
            sub_status=last.sub_status if last else None,
            events=events,
            estimated_delivery=eta,
            tracking_url=tracking_url(carrier, tracking_number),
        )
