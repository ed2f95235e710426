"""What travels on the outbound-email queue: one request for one email to one customer."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..orders.models import Email, Identifier, Order

MessageKind = Literal["order_confirmation", "shipment_notice", "return_update"]
ConfirmationVariant = Literal["plain", "welcome"]
# A shipment notice's variant is the notice kind (postpurchase.tracking.state.NoticeKind).
ShipmentNoticeVariant = Literal["shipped", "out_for_delivery", "delivered", "delayed", "attempt_failed",
                                "ready_for_pickup", "exception", "returned_to_sender"]
# One return notice per step that matters to the customer (postpurchase.returns.notices).
ReturnUpdateVariant = Literal["requested", "approved", "rejected", "received", "refunded", "credit_issued",
                              "exchange_shipped"]


class MerchantBranding(BaseModel):
    """What an email needs to look like the merchant's own."""

    model_config = ConfigDict(frozen=True)

    merchant_id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=200)]
    from_email: Email
    reply_to: Email | None = None
    support_email: Email | None = None
    logo_url: str | None = None
    brand_color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] = "#1f6feb"
    default_locale: str = "en"
    website_url: str | None = None


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    occurred_at: datetime
    status: str  # postpurchase.tracking.model.TrackingStatus value
    description: str = ""  # the carrier's own words
    location: str | None = None


class ShipmentNotice(BaseModel):
    """What a tracking notice says about one parcel (the order itself is EmailRequest.order)."""

    model_config = ConfigDict(frozen=True)

    shipment_id: Identifier
    carrier: str
    tracking_number: str
    tracking_url: str | None = None
    status: str  # TrackingStatus value
    latest: TimelineEntry | None = None
    eta: datetime | None = None  # current estimate, when still meaningful
    original_eta: datetime | None = None
    eta_is_late: bool = False
    delivered_at: datetime | None = None
    signed_by: str | None = None
    items: list[dict] = []  # [{"sku", "quantity"}] in this parcel; titles come from the order


class ReturnNoticeLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    quantity: int  # units asked to return
    reason: str  # postpurchase.returns.policy.ReturnReason value
    resolution: str  # Resolution value the customer asked for
    accepted_quantity: int | None = None  # after inspection


class ReturnNotice(BaseModel):
    """What a return notice says about one RMA (the order itself is EmailRequest.order).

    Everything is data; the sentences come from the templates. Fields that do not apply to a
    variant are None / empty."""

    model_config = ConfigDict(frozen=True)

    rma_id: Identifier
    status: str  # postpurchase.returns.rma.RmaStatus value
    lines: list[ReturnNoticeLine]
    requested_at: datetime
    # approved: how to send the parcel back, and by when
    ship_by: datetime | None = None
    label_provided: bool = False
    carrier: str | None = None
    tracking_number: str | None = None
    label_url: str | None = None
    drop_off_code: str | None = None
    drop_off_options: list[str] = []  # postpurchase.returns.policy.DropOffOption values
    conditions: list[str] = []  # Condition values the items must meet
    processing_days: int | None = None  # from receipt to decision
    refund_days: int | None = None  # from approval to money back
    # rejected
    rejection_reason: str | None = None  # the merchant's own words
    # received / resolved
    inspection_outcome: str | None = None  # accepted | partially_accepted | rejected
    amount: Decimal | None = None  # refund or store-credit amount, in the order's currency
    credit_code: str | None = None  # store-credit or gift-card code, when the merchant sent one
    exchange_tracking_number: str | None = None
    exchange_carrier: str | None = None


class EmailRequest(BaseModel):
    """A request to send one message; (ledger partition, kind, ref) is its identity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: MessageKind
    variant: ConfirmationVariant | ShipmentNoticeVariant | ReturnUpdateVariant = "plain"
    merchant_id: Identifier
    ref: Identifier
    recipient: Email
    locale: str | None = None  # the customer's; rendering falls back to the merchant's default
    timezone: str | None = None
    order: Order
    order_page_url: str
    requested_at: datetime
    shipment: ShipmentNotice | None = None
    return_notice: ReturnNotice | None = None

    @property
    def message_key(self) -> str:
        # One email per (order, confirmation) and per (shipment, notice kind).
        if self.kind == "shipment_notice":
            return f"shipment_{self.variant}#{self.ref}"
        if self.kind == "return_update":
            return f"return_{self.variant}#{self.ref}"
        return f"{self.kind}#{self.ref}"
