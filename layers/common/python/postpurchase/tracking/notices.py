"""Which customer notice a shipment's tracking calls for, at most once per kind.

Rules
-----
- A notice is about the parcel's *current* state: at most one status notice is a candidate, the one
  of the current status (STATUS_NOTICE). When an update carries several statuses at once
  (in_transit -> out_for_delivery -> delivered) only the notice of where the parcel is now (delivered)
  is due; the skipped ones can never become due later, since the status does not go back.
- Each kind at most once per shipment: kinds in `notices_sent` are never due again. Whoever sends a
  notice records it with `ShipmentTracking.with_notice_sent` (the fulfilment flow may record SHIPPED
  itself when it already told the customer).
- shipped: when the carrier first knows the parcel (info_received / in_transit) and no notice at all
  was sent yet — after any other notice "shipped" would only confuse.
- out_for_delivery: only while fresh (OFD_FRESH); learning it a day late, the parcel is likely delivered.
- delayed: while info_received / in_transit, when the estimate slipped by DELAY_THRESHOLD or more
  against the first one, the parcel is stalled (schedule.is_stalled), or the estimate is overdue by
  OVERDUE_AFTER. In the other statuses their own notice says more (exception, attempt failed, ...).
- When two kinds are due together (only possible as shipped + delayed), SIGNIFICANCE picks one: shipped
  first, so the customer first learns the parcel left; delayed follows at a later check.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from .eta import slip
from .model import TrackingStatus
from .schedule import is_stalled
from .state import NoticeKind, ShipmentTracking

S = TrackingStatus
N = NoticeKind

# The estimate moved later than the first one by at least a day. A day, not hours: carriers move
# delivery windows within a day ("by 10:30" -> "by end of day"), which is not a delay to a customer;
# a date-only estimate moved by one date is exactly one day.
DELAY_THRESHOLD = timedelta(days=1)
# Past the current estimate by a day with no new estimate: date-only estimates (midnight) cover the whole day.
OVERDUE_AFTER = timedelta(days=1)
# An out-for-delivery notice learnt more than this after the scan is news no more.
OFD_FRESH = timedelta(hours=12)

STATUS_NOTICE: dict[TrackingStatus, NoticeKind] = {
    S.INFO_RECEIVED: N.SHIPPED,
    S.IN_TRANSIT: N.SHIPPED,
    S.OUT_FOR_DELIVERY: N.OUT_FOR_DELIVERY,
    S.DELIVERED: N.DELIVERED,
    S.ATTEMPT_FAILED: N.ATTEMPT_FAILED,
    S.AVAILABLE_FOR_PICKUP: N.READY_FOR_PICKUP,
    S.EXCEPTION: N.EXCEPTION,
    S.RETURNING_TO_SENDER: N.RETURNED_TO_SENDER,
    S.RETURNED: N.RETURNED_TO_SENDER,
}
# Most significant first.
SIGNIFICANCE: tuple[NoticeKind, ...] = (
    N.DELIVERED, N.RETURNED_TO_SENDER, N.READY_FOR_PICKUP, N.ATTEMPT_FAILED, N.OUT_FOR_DELIVERY,
    N.EXCEPTION, N.SHIPPED, N.DELAYED)
DELAY_STATUSES = frozenset({S.INFO_RECEIVED, S.IN_TRANSIT})


def is_delayed(state: ShipmentTracking, now: datetime) -> bool:
    """Still on its way (info_received / in_transit) and behind the first promise, stalled, or overdue."""
    if state.status not in DELAY_STATUSES:
        return False
    moved = slip(state)
    if moved is not None and moved >= DELAY_THRESHOLD:
        return True
    if state.current_eta is not None and now - state.current_eta >= OVERDUE_AFTER:
        return True
    return is_stalled(state, now)


def _due(state: ShipmentTracking, now: datetime) -> set[NoticeKind]:
    due: set[NoticeKind] = set()
    kind = STATUS_NOTICE.get(state.status)
    if kind == N.SHIPPED:
        if not state.notices_sent:
            due.add(kind)
    elif kind == N.OUT_FOR_DELIVERY:
        fresh = state.status_changed_at is None or now - state.status_changed_at <= OFD_FRESH
        if fresh and kind not in state.notices_sent:
            due.add(kind)
    elif kind is not None and kind not in state.notices_sent:
        due.add(kind)
    if N.DELAYED not in state.notices_sent and is_delayed(state, now):
        due.add(N.DELAYED)
    return due


def pick_notice(current: ShipmentTracking, now: datetime) -> NoticeKind | None:
    """The one notice to send now about this shipment, or None (used by the delayed notice check)."""
    due = _due(current, now)
    return next((kind for kind in SIGNIFICANCE if kind in due), None)


def notices_due(previous: ShipmentTracking, current: ShipmentTracking, now: datetime) -> list[NoticeKind]:
    """The notice the change previous -> current calls for: [] or [the most significant one].

    A status notice that was already due before this change (still unsent: its check is on its way)
    is not reported again; a delayed notice is reported whenever due, since time alone makes it due
    (a parcel becomes stalled between two identical polls).
    """
    kind = pick_notice(current, now)
    if kind is None:
        return []
    if kind != N.DELAYED and kind == pick_notice(previous, now):
        return []
    return [kind]
