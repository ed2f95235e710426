"""Internal events on the order-events queue: what every storefront's input becomes."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .models import Identifier, Order, OrderSource, Shipment


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Annotated[str, Field(min_length=1, max_length=200)]
    merchant_id: Identifier
    source: OrderSource
    received_at: datetime


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


OrderEvent = Annotated[Union[OrderPlaced, ShipmentCreated, OrderCancelled], Field(discriminator="type")]
order_event_adapter: TypeAdapter[OrderEvent] = TypeAdapter(OrderEvent)


def parse_order_event(body: str) -> OrderPlaced | ShipmentCreated | OrderCancelled:
    return order_event_adapter.validate_json(body)
