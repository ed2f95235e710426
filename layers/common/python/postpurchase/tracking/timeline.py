"""A shipment's timeline and status: merging carrier answers that arrive late, twice or out of order.

Merging
-------
`merge` is a set union on `TrackingEvent.identity()`, sorted by (occurred_at, status order, identity).
When two events share an identity (the carrier re-sent an event id with corrected text), the same one
is kept whatever the arrival order (the greatest by the sort key, then by content), so the timeline is
a function of the set of events received: idempotent, commutative, associative.

Status
------
Each status has a phase rank:

    pending 0 < info_received 1 < in_transit 2 = exception 2 = attempt_failed 2 = available_for_pickup 2
      < out_for_delivery 3 < returning_to_sender 4 < delivered 5 = returned 5 = expired 5

Only a *current* update may change the status: its newest event is not older than the newest we
already had (an update without events is current). A late update (all its events older than our
latest) changes nothing: neither its events, which are not the latest, nor its overall status, which
is stale. The *candidate* status of a current update is the status of the latest event of the merged
timeline when this update brought that event — or the provider's overall status when it is at least
as advanced (rank >=) as the latest event's (or there is no event at all).

The candidate replaces the status only if `can_transition(status, candidate)`:

- final statuses (delivered, returned, expired) are sticky: nothing follows them;
- expired only follows pending / info_received (a tracker that was never scanned);
- returning_to_sender is followed only by returned (a "delivered" candidate then reads as returned:
  delivered back to the sender);
- returned, returning_to_sender and delivered follow any other non-final status;
- the side states (exception, attempt_failed, available_for_pickup) follow any other non-final status
  (out_for_delivery -> attempt_failed is the common case);
- from a side state: in_transit or out_for_delivery (exception -> in_transit, attempt_failed ->
  out_for_delivery), but never back to pending / info_received;
- along the main line (pending, info_received, in_transit, out_for_delivery) only forward, by rank: a
  later event of a lower phase (a re-printed label's info_received after in_transit, a depot scan after
  out_for_delivery) does not regress the status.

Ties in time: events with the same occurred_at are ordered by STATUS_ORDER (the usual order of a
parcel's life), so "out for delivery" and "delivered" stamped in the same minute end on delivered.

Recycled tracking numbers: carriers reuse tracking numbers after some months. Events dated more than
RECYCLE_WINDOW (30 days) before the shipment was created belong to an earlier parcel and are ignored
(returned in `Applied.ignored_events`). When every event of an update is ignored, the whole answer
describes that earlier parcel: its overall status and estimate are ignored too.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .eta import update_eta
from .model import FINAL_STATUSES, TrackingEvent, TrackingStatus, TrackingUpdate
from .schedule import reschedule
from .state import ShipmentTracking

S = TrackingStatus

RECYCLE_WINDOW = timedelta(days=30)

PHASE: dict[TrackingStatus, int] = {
    S.PENDING: 0,
    S.INFO_RECEIVED: 1,
    S.IN_TRANSIT: 2,
    S.EXCEPTION: 2,
    S.ATTEMPT_FAILED: 2,
    S.AVAILABLE_FOR_PICKUP: 2,
    S.OUT_FOR_DELIVERY: 3,
    S.RETURNING_TO_SENDER: 4,
    S.DELIVERED: 5,
    S.RETURNED: 5,
    S.EXPIRED: 5,
}
MAIN_LINE = frozenset({S.PENDING, S.INFO_RECEIVED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY})
SIDE_STATES = frozenset({S.EXCEPTION, S.ATTEMPT_FAILED, S.AVAILABLE_FOR_PICKUP})

# Tiebreak for events stamped at the same instant: a parcel's usual order of life.
STATUS_ORDER: dict[TrackingStatus, int] = {status: index for index, status in enumerate((
    S.PENDING, S.INFO_RECEIVED, S.IN_TRANSIT, S.EXCEPTION, S.OUT_FOR_DELIVERY, S.ATTEMPT_FAILED,
    S.AVAILABLE_FOR_PICKUP, S.RETURNING_TO_SENDER, S.RETURNED, S.DELIVERED, S.EXPIRED))}


@dataclass(frozen=True)
class MergeResult:
    timeline: list[TrackingEvent]  # the whole timeline, oldest first
    added: list[TrackingEvent]  # events of `timeline` whose identity was not in `existing`, oldest first


@dataclass(frozen=True)
class Applied:
    state: ShipmentTracking
    added_events: list[TrackingEvent]
    status_changed: bool
    previous_status: TrackingStatus
    timeline: list[TrackingEvent] = field(default_factory=list)  # the merged timeline to store
    ignored_events: list[TrackingEvent] = field(default_factory=list)  # recycled-number events


def _sort_key(event: TrackingEvent) -> tuple[datetime, int, str]:
    return event.occurred_at, STATUS_ORDER[event.status], event.identity()


def _canonical_key(event: TrackingEvent) -> tuple[datetime, int, str, str]:
    return *_sort_key(event), event.model_dump_json()


def merge(existing: list[TrackingEvent], incoming: list[TrackingEvent]) -> MergeResult:
    """Union of both timelines deduplicated on identity(), sorted oldest first."""
    chosen: dict[str, TrackingEvent] = {}
    for event in (*existing, *incoming):
        key = event.identity()
        held = chosen.get(key)
        if held is None or _canonical_key(event) > _canonical_key(held):
            chosen[key] = event
    timeline = sorted(chosen.values(), key=_sort_key)
    known = {event.identity() for event in existing}
    return MergeResult(timeline=timeline, added=[event for event in timeline if event.identity() not in known])


def can_transition(current: TrackingStatus, candidate: TrackingStatus) -> bool:
    """Whether `candidate` may replace `current` (see the module docstring); False when equal."""
    if candidate == current or current in FINAL_STATUSES:
        return False
    if candidate == S.EXPIRED:
        return current in (S.PENDING, S.INFO_RECEIVED)
    if current == S.RETURNING_TO_SENDER:
        return candidate == S.RETURNED
    if candidate in (S.DELIVERED, S.RETURNED, S.RETURNING_TO_SENDER) or candidate in SIDE_STATES:
        return True
    # candidate on the main line
    if current in SIDE_STATES:
        return candidate in (S.IN_TRANSIT, S.OUT_FOR_DELIVERY)
    return PHASE[candidate] > PHASE[current]


def _latest(events: Iterable[TrackingEvent]) -> datetime | None:
    return max((event.occurred_at for event in events), default=None)


def apply(state: ShipmentTracking, update: TrackingUpdate, existing: list[TrackingEvent], now: datetime, *,
          shipment_created_at: datetime | None = None) -> Applied:
    """Merges a carrier answer into the timeline and derives the new state (status, ETA, next poll).

    `existing` is the stored timeline; `shipment_created_at` (default: state.created_at) bounds the
    recycled-number filter. Raises ValueError if the answer is about another tracking number.
    """
    if state.tracking_number and _norm(state.tracking_number) != _norm(update.tracking_number):
        raise ValueError(f"update for {update.tracking_number!r} applied to {state.tracking_number!r}")
    created_at = shipment_created_at or state.created_at
    cutoff = created_at - RECYCLE_WINDOW if created_at is not None else None
    kept = [event for event in update.events if cutoff is None or event.occurred_at >= cutoff]
    ignored = [event for event in update.events if cutoff is not None and event.occurred_at < cutoff]
    recycled_only = bool(update.events) and not kept

    merged = merge(existing, kept)
    known_latest = max((mark for mark in (_latest(existing), state.last_event_at) if mark is not None), default=None)
    update_latest = _latest(kept)
    current = not recycled_only and (update_latest is None or known_latest is None or update_latest >= known_latest)

    # The candidate: the latest event's status when this update brought it, or the provider's overall
    # status when at least as advanced as the latest event. A late update proposes nothing.
    latest = merged.timeline[-1] if merged.timeline else None
    candidate: TrackingStatus | None = None
    candidate_sub: str | None = None
    candidate_at = now
    if current and latest is not None and latest.identity() in {event.identity() for event in merged.added}:
        candidate, candidate_sub, candidate_at = latest.status, latest.sub_status, latest.occurred_at
    if current and (latest is None or PHASE[update.status] >= PHASE[latest.status]):
        if update.status != candidate:
            candidate_at, candidate_sub = now, None
        candidate, candidate_sub = update.status, update.sub_status or candidate_sub

    if state.status == S.RETURNING_TO_SENDER and candidate == S.DELIVERED:
        candidate = S.RETURNED  # "delivered" on the way back is delivered to the sender
    status = state.status
    changes: dict[str, object] = {"last_checked_at": now}
    if candidate is not None and can_transition(state.status, candidate):
        status = candidate
        changes.update(status=candidate, sub_status=candidate_sub,
                       status_changed_at=max(candidate_at, state.status_changed_at or candidate_at))
        if candidate == S.DELIVERED and state.delivered_at is None:
            delivered = [event.occurred_at for event in merged.timeline if event.status == S.DELIVERED]
            changes["delivered_at"] = delivered[-1] if delivered else candidate_at
    elif candidate == state.status and candidate_sub is not None:
        changes["sub_status"] = candidate_sub

    last_event_at = max((mark for mark in (_latest(merged.timeline), state.last_event_at) if mark is not None),
                        default=None)
    changes["last_event_at"] = last_event_at
    if state.carrier is None:
        changes["carrier"] = update.carrier
    if state.tracking_number is None:
        changes["tracking_number"] = update.tracking_number
    if state.created_at is None and created_at is not None:
        changes["created_at"] = created_at
    if update.signed_by and current:
        changes["signed_by"] = update.signed_by
    if update.source == "webhook":
        changes["webhook_active"] = True
    else:
        changes["poll_failures"] = 0

    new_state = state.model_copy(update=changes)
    if current:
        new_state = update_eta(new_state, update.estimated_delivery, status, now)
    new_state = reschedule(new_state, now)
    return Applied(state=new_state, added_events=merged.added, status_changed=new_state.status != state.status,
                   previous_status=state.status, timeline=merged.timeline, ignored_events=ignored)


def _norm(tracking_number: str) -> str:
    return "".join(tracking_number.split()).upper()
