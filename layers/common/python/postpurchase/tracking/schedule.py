"""When to ask the carrier again, when to give up, when a parcel counts as stalled.

Pure rules: `now` is always an argument. The cadence follows what can happen next:
a parcel out for delivery changes within the hour, one in transit a few times a day, a label
nobody has scanned yet may never move. A provider webhook makes polling a safety net only.
A per-parcel, deterministic jitter (from the tracking number) keeps a fleet of parcels created
in the same minute from polling in lockstep, without any randomness in tests or replays.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from .model import FINAL_STATUSES, TrackingStatus
from .state import ShipmentTracking

S = TrackingStatus

# --- constants (one place) ---------------------------------------------------------------------

# The first poll after we start tracking: soon, to register the tracker with the provider and
# learn the first status, but not in the same second as the shipment's creation (labels often
# reach the carrier's system a few minutes after they are printed).
FIRST_POLL_AFTER = timedelta(minutes=5)

# Out for delivery: the next scan (delivered / attempt failed) comes within hours and the
# customer is waiting for it today.
OUT_FOR_DELIVERY_EVERY = timedelta(minutes=30)
# In transit: scans come a few times a day; poll faster once the estimate is within a day.
IN_TRANSIT_EVERY = timedelta(hours=4)
IN_TRANSIT_NEAR_ETA_EVERY = timedelta(hours=2)
NEAR_ETA = timedelta(hours=24)
# After a failed attempt the carrier re-attempts next business day or moves it to a pickup point.
ATTEMPT_FAILED_EVERY = timedelta(hours=2)
# Exceptions resolve (or turn into a return) over hours to days.
EXCEPTION_EVERY = timedelta(hours=3)
# Waiting at a pickup point for the customer: only "picked up" or "returned" can follow.
AVAILABLE_FOR_PICKUP_EVERY = timedelta(hours=6)
# A return to sender takes days to weeks.
RETURNING_TO_SENDER_EVERY = timedelta(hours=12)

# Nothing scanned yet (pending / info_received): most labels are scanned within a day or two, so
# back off as the silence grows — (quiet for less than, poll every).
PRE_TRANSIT_BACKOFF: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=1), timedelta(hours=6)),
    (timedelta(days=3), timedelta(hours=12)),
)
PRE_TRANSIT_SLOWEST = timedelta(hours=24)
# A tracker never scanned for this long is dead (the label was never used): expire it, stop polling.
# Carriers and providers (AfterShip, EasyPost) use the same 30-day horizon.
EXPIRE_AFTER = timedelta(days=30)

# A moving parcel silent for a week or two is lost or forgotten by the carrier; keep looking,
# but no more than this often (a scan may still come; "expired" only applies before any scan).
LONG_QUIET: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=14), timedelta(hours=24)),
    (timedelta(days=7), timedelta(hours=12)),
)

# With a provider webhook feeding us, a poll only catches a lost webhook: twice a day is enough.
WEBHOOK_SAFETY_NET = timedelta(hours=12)

# Failed polls (provider down, rate limited): double the wait each time, from 15 min up to 12 h,
# never sooner than the status's own cadence.
FAILURE_BACKOFF_BASE = timedelta(minutes=15)
FAILURE_BACKOFF_CAP = timedelta(hours=12)

# Jitter: up to 10 % of the interval added, fixed per tracking number.
JITTER_FRACTION = 0.10

# No scan for this long while info_received / in_transit: the parcel is stalled (3 days spans a weekend).
STALL_AFTER = timedelta(days=3)
STALLABLE = frozenset({S.INFO_RECEIVED, S.IN_TRANSIT})

_PRE_TRANSIT = frozenset({S.PENDING, S.INFO_RECEIVED})
_STATUS_EVERY: dict[TrackingStatus, timedelta] = {
    S.OUT_FOR_DELIVERY: OUT_FOR_DELIVERY_EVERY,
    S.ATTEMPT_FAILED: ATTEMPT_FAILED_EVERY,
    S.EXCEPTION: EXCEPTION_EVERY,
    S.AVAILABLE_FOR_PICKUP: AVAILABLE_FOR_PICKUP_EVERY,
    S.RETURNING_TO_SENDER: RETURNING_TO_SENDER_EVERY,
}


# --- rules -------------------------------------------------------------------------------------


def jitter(tracking_number: str | None, interval: timedelta) -> timedelta:
    """A stable offset in [0, JITTER_FRACTION × interval) derived from the tracking number."""
    key = (tracking_number or "").strip().upper().encode()
    unit = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64  # in [0, 1)
    return timedelta(microseconds=int(interval / timedelta(microseconds=1) * JITTER_FRACTION * unit))


def should_expire(state: ShipmentTracking, now: datetime) -> bool:
    """Never scanned (pending / info_received) and silent for EXPIRE_AFTER since tracking began or the last event."""
    if state.status not in _PRE_TRANSIT:
        return False
    since = state.quiet_since()
    return since is not None and now - since >= EXPIRE_AFTER


def is_stalled(state: ShipmentTracking, now: datetime, *, stall_after: timedelta = STALL_AFTER) -> bool:
    """info_received / in_transit and no carrier event for `stall_after` (falls back to the status change time)."""
    if state.status not in STALLABLE:
        return False
    since = state.last_event_at or state.status_changed_at
    return since is not None and now - since >= stall_after


def poll_interval(state: ShipmentTracking, now: datetime, *, webhook_active: bool) -> timedelta | None:
    """The wait before the next poll, without jitter; None when we should never poll again."""
    if state.status in FINAL_STATUSES or should_expire(state, now):
        return None
    since = state.quiet_since()
    quiet = now - since if since is not None else timedelta(0)

    if state.status in _PRE_TRANSIT:
        every = next((each for below, each in PRE_TRANSIT_BACKOFF if quiet < below), PRE_TRANSIT_SLOWEST)
    elif state.status == S.IN_TRANSIT:
        near = state.current_eta is not None and state.current_eta - now <= NEAR_ETA
        every = IN_TRANSIT_NEAR_ETA_EVERY if near else IN_TRANSIT_EVERY
    else:
        every = _STATUS_EVERY[state.status]
    if state.status not in _PRE_TRANSIT:
        silent = now - state.last_event_at if state.last_event_at is not None else quiet
        every = max(every, next((each for above, each in LONG_QUIET if silent >= above), every))

    if webhook_active:
        every = max(every, WEBHOOK_SAFETY_NET)
    if state.poll_failures > 0:
        exponent = min(state.poll_failures - 1, 16)  # 15 min × 2^16 is far past the cap already
        every = max(every, min(FAILURE_BACKOFF_CAP, FAILURE_BACKOFF_BASE * 2**exponent))
    return every


def next_poll_at(state: ShipmentTracking, now: datetime, *, webhook_active: bool) -> datetime | None:
    """When to poll next (now + cadence + stable jitter); None after a final status or once expiry is due."""
    every = poll_interval(state, now, webhook_active=webhook_active)
    if every is None:
        return None
    return now + every + jitter(state.tracking_number, every)


def reschedule(state: ShipmentTracking, now: datetime) -> ShipmentTracking:
    """Sets next_poll_at from the state's own webhook flag; marks a never-scanned tracker expired when due."""
    if should_expire(state, now):
        return state.model_copy(update={"status": S.EXPIRED, "sub_status": None, "status_changed_at": now,
                                        "next_poll_at": None})
    return state.model_copy(update={"next_poll_at": next_poll_at(state, now, webhook_active=state.webhook_active)})


def record_poll_failure(state: ShipmentTracking, now: datetime,
                        retry_after: timedelta | None = None) -> ShipmentTracking:
    """A poll got no answer: count it and back off (a successful poll resets the count, see timeline.apply).

    `retry_after` is the wait the provider asked for (429/503 Retry-After): the next poll comes
    no sooner, even when our own backoff would be shorter.
    """
    failed = reschedule(state.model_copy(update={"poll_failures": state.poll_failures + 1}), now)
    if retry_after is not None and retry_after > timedelta(0) and failed.next_poll_at is not None \
            and failed.next_poll_at < now + retry_after:
        failed = failed.model_copy(update={"next_poll_at": now + retry_after})
    return failed


def start(carrier: str, tracking_number: str, *, created_at: datetime, now: datetime,
          webhook_active: bool = False) -> ShipmentTracking:
    """The state of a shipment we just began tracking: pending, first poll in FIRST_POLL_AFTER."""
    return ShipmentTracking(carrier=carrier, tracking_number=tracking_number, created_at=created_at,
                            webhook_active=webhook_active, next_poll_at=now + FIRST_POLL_AFTER)
