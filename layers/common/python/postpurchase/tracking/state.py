"""What we know about one shipment's tracking, as stored beside the shipment.

A frozen value: every rule (timeline.apply, eta.update_eta, schedule.reschedule, ...) takes a
state and returns a new one. All datetimes are time-zone aware; nothing here reads a clock.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

from .model import FINAL_STATUSES, TrackingStatus

# An item in DynamoDB is at most 400 KB: keep only the most recent ETA changes.
MAX_ETA_CHANGES = 50


class EtaChangeReason(StrEnum):
    CARRIER_UPDATE = "carrier_update"  # the carrier moved its estimate, nothing wrong in sight
    DELAY_EXCEPTION = "delay_exception"  # moved while the parcel is in exception / after a failed attempt
    STALLED = "stalled"  # moved while the parcel had no scan for the stall period (schedule.is_stalled)


class NoticeKind(StrEnum):
    """Customer notices about a parcel (notices.py decides which one is due)."""

    SHIPPED = "shipped"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELAYED = "delayed"
    ATTEMPT_FAILED = "attempt_failed"
    READY_FOR_PICKUP = "ready_for_pickup"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"


class EtaChange(BaseModel):
    """One move of the carrier's estimate (recorded from the second estimate on)."""

    model_config = ConfigDict(frozen=True)

    at: AwareDatetime  # when we learned it
    from_eta: AwareDatetime | None
    to_eta: AwareDatetime | None
    reason: EtaChangeReason

    @property
    def is_later(self) -> bool:
        return self.from_eta is not None and self.to_eta is not None and self.to_eta > self.from_eta


class ShipmentTracking(BaseModel):
    """The shipment's tracking state. The timeline itself (list[TrackingEvent]) is stored apart."""

    model_config = ConfigDict(frozen=True)

    carrier: Annotated[str, Field(max_length=64)] | None = None
    tracking_number: Annotated[str, Field(max_length=64)] | None = None  # also seeds the poll jitter
    created_at: AwareDatetime | None = None  # when tracking began (the shipment's creation)

    status: TrackingStatus = TrackingStatus.PENDING
    sub_status: str | None = None
    status_changed_at: AwareDatetime | None = None
    last_event_at: AwareDatetime | None = None  # the latest carrier event's time
    last_checked_at: AwareDatetime | None = None  # the last time a carrier answer (poll or webhook) was applied

    original_eta: AwareDatetime | None = None  # the first estimate we ever got; never overwritten
    current_eta: AwareDatetime | None = None
    eta_changes: list[EtaChange] = []  # oldest first, at most MAX_ETA_CHANGES

    delivered_at: AwareDatetime | None = None
    signed_by: str | None = None

    webhook_active: bool = False  # a provider webhook feeds us: polling is only a safety net
    next_poll_at: AwareDatetime | None = None  # None = never poll again
    poll_failures: Annotated[int, Field(ge=0)] = 0  # consecutive failed polls

    notices_sent: frozenset[NoticeKind] = frozenset()  # notices already requested, each at most once

    @field_serializer("notices_sent")
    def _sorted_notices(self, value: frozenset[NoticeKind]) -> list[str]:
        return sorted(kind.value for kind in value)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def with_notice_sent(self, kind: NoticeKind) -> ShipmentTracking:
        return self.model_copy(update={"notices_sent": self.notices_sent | {kind}})

    def quiet_since(self) -> datetime | None:
        """Since when nothing has happened: the latest of tracking start, last scan, last status change."""
        marks = [mark for mark in (self.created_at, self.last_event_at, self.status_changed_at) if mark is not None]
        return max(marks) if marks else None
