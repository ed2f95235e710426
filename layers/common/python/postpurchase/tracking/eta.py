"""The estimated delivery: remembering the first promise, recording each move, showing it honestly.

- `original_eta` is the first estimate we ever got and is never overwritten: "delayed" is measured
  against it (notices.py), however many times the carrier moves the estimate.
- `current_eta` follows the carrier. Each move after the first estimate is kept as an EtaChange.
- An answer without an estimate keeps the last one (carriers often drop the estimate mid-route).
- Once the parcel is delivered / returned / expired the estimate is frozen: it no longer means anything
  to the customer, and the last one shows whether delivery kept the promise.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from .model import FINAL_STATUSES, TrackingStatus
from .schedule import is_stalled
from .state import MAX_ETA_CHANGES, EtaChange, EtaChangeReason, ShipmentTracking

S = TrackingStatus

# The estimate means nothing (hidden) in these statuses: a parcel in exception has no reliable date,
# one waiting at a pickup point has arrived, and the final ones are over.
HIDDEN_ETA = frozenset({S.EXCEPTION, S.AVAILABLE_FOR_PICKUP, S.RETURNING_TO_SENDER}) | FINAL_STATUSES
_DELAY_STATUSES = frozenset({S.EXCEPTION, S.ATTEMPT_FAILED})


class EtaView(BaseModel):
    """The estimate as a customer should see it."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["estimate", "today"]  # "today" when out for delivery
    eta: AwareDatetime | None  # the current estimate (may be None only for "today")
    original_eta: AwareDatetime | None
    is_late: bool  # now is past the current estimate and the parcel is not delivered
    overdue_by: timedelta  # now - eta when late, else zero
    vs_original: timedelta | None  # eta - original_eta: positive = later than first promised


def update_eta(state: ShipmentTracking, new_estimate: datetime | None, status: TrackingStatus,
               now: datetime) -> ShipmentTracking:
    """Takes the carrier's estimate (None = it gave none) for a parcel now in `status`."""
    if new_estimate is None or status in FINAL_STATUSES or state.status in FINAL_STATUSES:
        return state
    if new_estimate.tzinfo is None:  # TrackingUpdate does not insist on a zone: read a bare estimate as UTC
        new_estimate = new_estimate.replace(tzinfo=timezone.utc)
    update: dict[str, object] = {}
    if state.original_eta is None:
        update["original_eta"] = new_estimate
    if state.current_eta is None:
        update["current_eta"] = new_estimate
    elif new_estimate != state.current_eta:
        if status in _DELAY_STATUSES:
            reason = EtaChangeReason.DELAY_EXCEPTION
        elif is_stalled(state.model_copy(update={"status": status}), now):
            reason = EtaChangeReason.STALLED
        else:
            reason = EtaChangeReason.CARRIER_UPDATE
        change = EtaChange(at=now, from_eta=state.current_eta, to_eta=new_estimate, reason=reason)
        update["current_eta"] = new_estimate
        update["eta_changes"] = [*state.eta_changes, change][-MAX_ETA_CHANGES:]
    return state.model_copy(update=update) if update else state


def slip(state: ShipmentTracking) -> timedelta | None:
    """How much later than first promised the current estimate is (negative = earlier); None without both."""
    if state.original_eta is None or state.current_eta is None:
        return None
    return state.current_eta - state.original_eta


def visible_eta(state: ShipmentTracking, now: datetime) -> EtaView | None:
    """The estimate to show, or None when it is no longer meaningful (see HIDDEN_ETA) or unknown."""
    if state.status in HIDDEN_ETA:
        return None
    if state.status != S.OUT_FOR_DELIVERY and state.current_eta is None:
        return None
    eta = state.current_eta
    late = eta is not None and now > eta
    return EtaView(kind="today" if state.status == S.OUT_FOR_DELIVERY else "estimate", eta=eta,
                   original_eta=state.original_eta, is_late=late,
                   overdue_by=now - eta if late and eta is not None else timedelta(0), vs_original=slip(state))
