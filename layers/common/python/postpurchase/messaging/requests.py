"""What travels on the outbound-email queue: one request for one email to one customer."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..orders.models import Email, Identifier, Order

MessageKind = Literal["order_confirmation"]
ConfirmationVariant = Literal["plain", "welcome"]


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


class EmailRequest(BaseModel):
    """A request to send one message; (ledger partition, kind, ref) is its identity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: MessageKind
    variant: ConfirmationVariant = "plain"
    merchant_id: Identifier
    ref: Identifier
    recipient: Email
    locale: str | None = None  # the customer's; rendering falls back to the merchant's default
    timezone: str | None = None
    order: Order
    order_page_url: str
    requested_at: datetime

    @property
    def message_key(self) -> str:
        return f"{self.kind}#{self.ref}"
