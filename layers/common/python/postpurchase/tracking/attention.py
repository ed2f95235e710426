"""Shipments needing the shop's attention (the console's shipments view): which, and why (pure).

A shipment of an order (not a return parcel) needs attention while its tracking is stalled (no
scan for the stall period, schedule.is_stalled), in exception, after a failed delivery attempt,
or on its way back to / returned to the sender. The tracking worker writes its place in the
merchant-wide list as sparse gsi1 keys on the shipment item with every save
(`gsi1pk = M#{m}#ATTN`, `gsi1sk = {since}#{o}#{s}`, newest first) and removes them when the
parcel recovers or is delivered, so the view is one Query of gsi1.
"""
from __future__ import annotations

from datetime import datetime, timezone

from .model import TrackingStatus
from .schedule import is_stalled
from .state import ShipmentTracking

REASONS = ("stalled", "exception", "attempt_failed", "returned_to_sender")

_BY_STATUS = {
    TrackingStatus.EXCEPTION: "exception",
    TrackingStatus.ATTEMPT_FAILED: "attempt_failed",
    TrackingStatus.RETURNING_TO_SENDER: "returned_to_sender",
    TrackingStatus.RETURNED: "returned_to_sender",
}


def reason(tracking: ShipmentTracking, now: datetime) -> str | None:
    """Why the shipment needs attention at `now`, or None."""
    by_status = _BY_STATUS.get(tracking.status)
    if by_status is not None:
        return by_status
    return "stalled" if is_stalled(tracking, now) else None


def since(tracking: ShipmentTracking, now: datetime) -> datetime:
    """Since when: the status change for a status, the last scan for a stall."""
    if tracking.status in _BY_STATUS:
        return tracking.status_changed_at or tracking.last_event_at or now
    return tracking.last_event_at or tracking.status_changed_at or now


def sort_key(tracking: ShipmentTracking, now: datetime, order_id: str, shipment_id: str) -> str:
    at = since(tracking, now).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{at}#{order_id}#{shipment_id}"
