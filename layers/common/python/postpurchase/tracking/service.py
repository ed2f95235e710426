"""The tracking worker's use cases: start tracking, poll, take a webhook, send a notice.

Each loads the shipment with its timeline (one Query), applies the pure rules (timeline,
eta, schedule, notices) and saves with a revision check. Notices are not sent from here: a
status change schedules a NoticeCheck after a debounce, and the check sends the one notice
the shipment then deserves, so a burst of scans makes one email.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, Protocol

from ..analytics import counters
from ..analytics.counters import Tally
from ..errors import InvalidInput, RetryLater
from . import notices, schedule, timeline
from .carriers.base import CarrierClient
from .carriers.http import CarrierRequestError
from .messages import CarrierUpdate, NoticeCheck, PollShipment, TrackShipment
from .model import TrackingStatus, TrackingUpdate
from .state import NoticeKind, ShipmentTracking

Outcome = Literal["tracking_started", "already_tracking", "updated", "unchanged", "not_due", "poll_failed",
                  "unknown_shipment", "unknown_tracking_number", "notice_requested", "nothing_due"]


class TrackedLike(Protocol):
    merchant_id: str
    order_id: str
    tracking: ShipmentTracking
    revision: int
    provider: str | None
    provider_tracker_id: str | None

    @property
    def shipment(self): ...

    @property
    def timeline(self): ...


class TrackingStore(Protocol):
    def load(self, merchant_id: str, order_id: str, shipment_id: str) -> TrackedLike | None: ...

    def save(self, current: TrackedLike, tracking: ShipmentTracking, new_events: list, now: datetime, *,
             provider: str | None = None, provider_tracker_id: str | None = None) -> None: ...

    def shipments_for_tracking_number(self, merchant_id: str, tracking_number: str) -> list[tuple[str, str]]: ...


class Effects(Protocol):
    """What a use case asks of the world besides the store (queues, the order, email)."""

    def schedule_notice_check(self, check: NoticeCheck) -> None: ...

    def delivered(self, tracked: TrackedLike, delivered_at: datetime) -> None: ...

    def request_notice(self, tracked: TrackedLike, kind: NoticeKind, now: datetime) -> None: ...

    def return_parcel_moved(self, tracked: TrackedLike, state: ShipmentTracking, now: datetime) -> None: ...

    def count(self, tally: Tally, now: datetime) -> None:
        """Add a fact to the merchant's analytics counters, once per fact (analytics/recording.py)."""
        ...


# What a carrier call may fail with, all handled as a failed poll (counted, backed off, retried by
# the schedule): unavailable or rate limited (RetryLater), refused (CarrierRequestError), or an
# answer that is JSON but not a tracker (InvalidInput from the adapter's parser). None of them may
# fail the message: a redelivery would hit the provider again at once, and ten of them end in the DLQ.
CARRIER_FAILURES = (RetryLater, CarrierRequestError, InvalidInput)


def _retry_after(error: Exception) -> timedelta | None:
    seconds = getattr(error, "retry_after", None)
    return timedelta(seconds=seconds) if seconds else None


def start_tracking(message: TrackShipment, *, store: TrackingStore, carrier: CarrierClient, effects: Effects,
                   now: datetime) -> Outcome:
    tracked = store.load(message.merchant_id, message.order_id, message.shipment_id)
    if tracked is None:
        raise RetryLater(f"shipment {message.shipment_id} is not stored yet")
    shipment = tracked.shipment
    if shipment.rma_id is None:  # again on a redelivery: counted once per parcel
        effects.count(counters.parcel_shipped(tracked.merchant_id, tracked.order_id, shipment.shipment_id,
                                              shipment.carrier, shipment.created_at), now)
    if tracked.provider is not None:
        return "already_tracking"  # a redelivered TrackShipment
    # A webhook (or the storefront's status) may have come first: keep what it taught us.
    state = tracked.tracking if tracked.revision else schedule.start(
        shipment.carrier, shipment.tracking_number, created_at=shipment.created_at, now=now)
    try:
        update = carrier.register(shipment.carrier, shipment.tracking_number)
    except CARRIER_FAILURES as error:
        # The provider is unavailable: keep the shipment on the poll schedule; polling registers it.
        store.save(tracked, schedule.record_poll_failure(state, now, _retry_after(error)), [], now,
                   provider=carrier.provider)
        return "poll_failed"
    _apply(tracked, state, update, store=store, effects=effects, now=now, provider=carrier.provider)
    return "tracking_started"


def poll(message: PollShipment, *, store: TrackingStore, carrier: CarrierClient, effects: Effects,
         now: datetime) -> Outcome:
    tracked = store.load(message.merchant_id, message.order_id, message.shipment_id)
    if tracked is None:
        return "unknown_shipment"
    due = tracked.tracking.next_poll_at
    if due is None or due.isoformat() > message.due:
        return "not_due"  # polled since the poller saw it (or tracking ended): nothing to do
    shipment = tracked.shipment
    try:
        if tracked.provider_tracker_id is None and carrier.provider != "sandbox":
            update = carrier.register(shipment.carrier, shipment.tracking_number)
        else:
            update = carrier.fetch(shipment.carrier, shipment.tracking_number, tracked.provider_tracker_id)
    except CARRIER_FAILURES as error:
        store.save(tracked, schedule.record_poll_failure(tracked.tracking, now, _retry_after(error)), [], now)
        return "poll_failed"
    return _apply(tracked, tracked.tracking, update, store=store, effects=effects, now=now,
                  provider=carrier.provider)


def receive_update(message: CarrierUpdate, *, store: TrackingStore, effects: Effects, now: datetime) -> Outcome:
    matches = store.shipments_for_tracking_number(message.merchant_id, message.update.tracking_number)
    if not matches:
        return "unknown_tracking_number"  # a code this merchant never shipped with us
    order_id, shipment_id = matches[0]  # newest first: a recycled code belongs to the latest parcel
    tracked = store.load(message.merchant_id, order_id, shipment_id)
    if tracked is None:
        return "unknown_shipment"
    # provider=None: a webhook's provider and tracker id must not replace the ones we poll with.
    return _apply(tracked, tracked.tracking, message.update, store=store, effects=effects, now=now, provider=None)


def check_notice(message: NoticeCheck, *, store: TrackingStore, effects: Effects, now: datetime) -> Outcome:
    tracked = store.load(message.merchant_id, message.order_id, message.shipment_id)
    if tracked is None:
        return "unknown_shipment"
    kind = notices.pick_notice(tracked.tracking, now)
    if kind is None:
        return "nothing_due"
    # Request first, record second: a crash between the two re-requests, and the send ledger
    # keeps it to one email; the other order could lose the notice.
    effects.request_notice(tracked, kind, now)
    store.save(tracked, tracked.tracking.with_notice_sent(kind), [], now)
    return "notice_requested"


def _apply(tracked: TrackedLike, state: ShipmentTracking, update: TrackingUpdate, *, store: TrackingStore,
           effects: Effects, now: datetime, provider: str | None) -> Outcome:
    applied = timeline.apply(state, update, tracked.timeline, now, shipment_created_at=tracked.shipment.created_at)
    new_state = schedule.reschedule(applied.state, now)
    # Effects before the save: if one fails, the message is retried against the old state and
    # sees the same change again. Both are idempotent (the notice check picks from the stored
    # state and the ledger keeps one email; delivery is recorded if absent). Saved first, a
    # failed effect would be lost: the retry would find nothing changed.
    if tracked.shipment.rma_id is not None:
        # A return parcel: its progress moves the RMA (in transit, received); the customer hears
        # about that from the returns capability, not as a delivery of their order.
        if new_state.status != tracked.tracking.status:
            effects.return_parcel_moved(tracked, new_state, now)
    else:
        if notices.notices_due(tracked.tracking, new_state, now):
            effects.schedule_notice_check(NoticeCheck(merchant_id=tracked.merchant_id, order_id=tracked.order_id,
                                                      shipment_id=tracked.shipment.shipment_id))
        if new_state.status == TrackingStatus.DELIVERED and tracked.tracking.status != TrackingStatus.DELIVERED:
            effects.delivered(tracked, new_state.delivered_at or now)
        for tally in parcel_tallies(tracked, new_state, now):
            effects.count(tally, now)
    store.save(tracked, new_state, applied.added_events, now, provider=provider,
               provider_tracker_id=update.provider_tracker_id if provider else None)
    return "updated" if applied.added_events or applied.status_changed else "unchanged"




# Statuses that count a parcel as having met a delivery problem (the exception rate).
PROBLEM_STATUSES = frozenset({TrackingStatus.EXCEPTION, TrackingStatus.RETURNING_TO_SENDER, TrackingStatus.RETURNED})


def parcel_tallies(tracked: TrackedLike, new_state: ShipmentTracking, now: datetime) -> list[Tally]:
    """What a status change adds to the analytics: a delivery (days, on time against the FIRST
    estimate), or a first delivery problem."""
    old, shipment = tracked.tracking, tracked.shipment
    ids = (tracked.merchant_id, tracked.order_id, shipment.shipment_id, shipment.carrier)
    found = []
    if new_state.status == TrackingStatus.DELIVERED and old.status != TrackingStatus.DELIVERED:
        found.append(counters.parcel_delivered(*ids, shipped_at=shipment.created_at,
                                               delivered_at=new_state.delivered_at or now,
                                               first_eta=new_state.original_eta))
    if new_state.status in PROBLEM_STATUSES and old.status not in PROBLEM_STATUSES:
        found.append(counters.parcel_exception(*ids, new_state.status_changed_at or now))
    return found
