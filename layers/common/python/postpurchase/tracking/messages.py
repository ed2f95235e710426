"""What travels on the tracking queue: work for the tracking worker, one shipment at a time."""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ..orders.models import Identifier
from .model import TrackingUpdate


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    merchant_id: Identifier


class TrackShipment(_Message):
    """A new shipment: register it with the merchant's tracking provider and start polling."""

    type: Literal["TrackShipment"] = "TrackShipment"
    order_id: Identifier
    shipment_id: Identifier


class PollShipment(_Message):
    """The poller found this shipment due; `due` is the poll time it was found under."""

    type: Literal["PollShipment"] = "PollShipment"
    order_id: Identifier
    shipment_id: Identifier
    due: str


class CarrierUpdate(_Message):
    """A verified provider webhook, to be matched to a shipment by tracking number."""

    type: Literal["CarrierUpdate"] = "CarrierUpdate"
    update: TrackingUpdate


class NoticeCheck(_Message):
    """After a status change settles (debounce), send the one notice the shipment now deserves."""

    type: Literal["NoticeCheck"] = "NoticeCheck"
    order_id: Identifier
    shipment_id: Identifier


TrackingMessage = Annotated[Union[TrackShipment, PollShipment, CarrierUpdate, NoticeCheck],
                            Field(discriminator="type")]
tracking_message_adapter: TypeAdapter[TrackingMessage] = TypeAdapter(TrackingMessage)
