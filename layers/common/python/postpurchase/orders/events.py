"""Internal events on the order-events queue: what every storefront's input becomes."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .models import Identifier, Money, Order, OrderSource, Shipment, Sku


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Annotated[str, Field(min_length=1, max_length=200)]
    merchant_id: Identifier
    source: OrderSource
    received_at: datetime
    # The storefront API version the payload was written in (Shopify's X-Shopify-API-Version).
    source_api_version: Annotated[str, Field(max_length=32)] | None = None


class OrderPlaced(_Event):
    type: Literal["OrderPlaced"] = "OrderPlaced"
    order: Order


class ShipmentCreated(_Event):
    type: Literal["ShipmentCreated"] = "ShipmentCreated"
    order_id: Identifier
    shipment: Shipment


class OrderCancelled(_Event):
    type: Literal["OrderCancelled"] = "OrderCancelled"
    order_id: Identifier
    cancelled_at: datetime
    reason: Annotated[str, Field(max_length=200)] | None = None


class StorefrontReturnLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    # The storefront's line item id, when it named the line (Shopify returns carry no SKU).
    line_id: Annotated[str, Field(max_length=64)] | None = None


StorefrontReturnAction = Literal["requested", "approved", "declined", "cancelled", "closed", "refunded"]


class StorefrontReturnChanged(_Event):
    """The merchant acted on a return in their storefront's admin (Shopify returns/*, refunds/create).

    `external_return_id` is the storefront's return id (our RMA is `{source}-{id}`); a refund
    made without a return in the storefront has none and is matched to an open RMA by SKU."""

    type: Literal["StorefrontReturnChanged"] = "StorefrontReturnChanged"
    # None when the storefront names only its return (Shopify's returns/decline): the RMA is
    # then found through the storefront return id.
    order_id: Identifier | None
    external_return_id: Identifier | None = None
    action: StorefrontReturnAction
    occurred_at: datetime
    lines: list[StorefrontReturnLine] = []
    # returns.policy.ReturnReason value, mapped from the storefront's reason (requested only)
    reason: Annotated[str, Field(max_length=40)] | None = None
    # the customer's note (requested) or the merchant's decline reason (declined)
    note: Annotated[str, Field(max_length=1000)] | None = None
    refund_amount: Money | None = None  # refunded only
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None


class CustomerRedactRequested(_Event):
    """Erase a customer's data (Shopify customers/redact): their id, the email (guest orders are
    under an id made from it) and orders the storefront names; storage/privacy.py decides what goes."""

    type: Literal["CustomerRedactRequested"] = "CustomerRedactRequested"
    customer_id: Identifier | None = None
    email: Annotated[str, Field(max_length=320)] | None = None
    order_ids: list[Identifier] = Field(default=[], max_length=10_000)


class CustomerDataRequested(_Event):
    """A customer asked for their data (Shopify customers/data_request): recorded for the operator."""

    type: Literal["CustomerDataRequested"] = "CustomerDataRequested"
    request_id: Identifier
    customer_id: Identifier | None = None
    email: Annotated[str, Field(max_length=320)] | None = None
    order_ids: list[Identifier] = Field(default=[], max_length=10_000)


class ShopRedactRequested(_Event):
    """Erase every customer of the merchant (Shopify shop/redact, 48 h after uninstall): one page of
    the merchant's customers per message, each becoming a CustomerRedactRequested, then the next page."""

    type: Literal["ShopRedactRequested"] = "ShopRedactRequested"
    after_customer: Identifier | None = None  # the page starts after this customer id
    page: Annotated[int, Field(ge=0)] = 0


PrivacyEvent = CustomerRedactRequested | CustomerDataRequested | ShopRedactRequested
OrderEvent = Annotated[Union[OrderPlaced, ShipmentCreated, OrderCancelled, StorefrontReturnChanged,
                             CustomerRedactRequested, CustomerDataRequested, ShopRedactRequested],
                       Field(discriminator="type")]
order_event_adapter: TypeAdapter[OrderEvent] = TypeAdapter(OrderEvent)


def parse_order_event(body: str) -> (OrderPlaced | ShipmentCreated | OrderCancelled | StorefrontReturnChanged
                                     | PrivacyEvent):
    return order_event_adapter.validate_json(body)
