"""Tracking vocabulary: our normalised statuses, one carrier scan, one carrier answer.

Every carrier's own words are mapped onto TrackingStatus (tables in status_maps.py); the
carrier's raw code and text are kept beside it so nothing the carrier said is lost.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class TrackingStatus(StrEnum):
    PENDING = "pending"
    INFO_RECEIVED = "info_received"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERED = "delivered"
    ATTEMPT_FAILED = "attempt_failed"
    EXCEPTION = "exception"
    RETURNING_TO_SENDER = "returning_to_sender"
    RETURNED = "returned"
    EXPIRED = "expired"


FINAL_STATUSES = frozenset({TrackingStatus.DELIVERED, TrackingStatus.RETURNED, TrackingStatus.EXPIRED})


class TrackingEvent(BaseModel):
    """One scan on the carrier's timeline."""

    model_config = ConfigDict(frozen=True)

    occurred_at: datetime
    status: TrackingStatus
    sub_status: Annotated[str, Field(max_length=80)] | None = None
    description: Annotated[str, Field(max_length=500)] = ""  # the carrier's own words
    location: Annotated[str, Field(max_length=200)] | None = None  # "Memphis, TN, US"
    carrier_code: Annotated[str, Field(max_length=80)] | None = None  # the carrier's raw status code
    carrier_event_id: Annotated[str, Field(max_length=200)] | None = None

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must include a time zone")
        return value

    def identity(self) -> str:
        """Dedupe key: the carrier's event id, else time + code + location (repeated scans)."""
        if self.carrier_event_id:
            basis = f"id|{self.carrier_event_id}"
        else:
            # UTC: the same scan sent with two offsets (poll vs webhook) is one scan.
            basis = "|".join(("scan", self.occurred_at.astimezone(timezone.utc).isoformat(),
                              self.carrier_code or self.status.value,
                              (self.location or "").strip().lower()))
        return hashlib.sha256(basis.encode()).hexdigest()[:16]


class TrackingUpdate(BaseModel):
    """What a carrier told us about one parcel, by poll or by webhook."""

    model_config = ConfigDict(frozen=True)

    carrier: Annotated[str, Field(min_length=1, max_length=64)]  # our carrier slug: "fedex", "ups", "sandbox"
    tracking_number: Annotated[str, Field(min_length=1, max_length=64)]
    provider: Literal["easypost", "aftership", "sandbox", "shopify"]
    provider_tracker_id: str | None = None  # EasyPost "trk_...", AfterShip tracking id
    status: TrackingStatus  # the provider's current overall status, mapped
    sub_status: str | None = None
    events: list[TrackingEvent] = []
    estimated_delivery: datetime | None = None
    tracking_url: str | None = None
    signed_by: str | None = None
    source: Literal["poll", "webhook"] = "poll"
