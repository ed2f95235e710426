"""A shipment as the storefront API accepts it (`POST /v1/orders/{order_id}/shipments`)."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from .models import Identifier, Shipment, ShipmentItem


class ShipmentIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    shipment_id: Identifier | None = None
    carrier: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\- ]+$")]
    tracking_number: Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")]
    tracking_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] | None = None
    items: list[ShipmentItem] = []

    def to_shipment(self, now: datetime) -> Shipment:
        # Without an id from the storefront, the same carrier + code is the same shipment,
        # so a retried request does not create a second parcel.
        shipment_id = self.shipment_id or "s-" + hashlib.sha256(
            f"{self.carrier.lower()}|{self.tracking_number.upper()}".encode()).hexdigest()[:16]
        return Shipment(shipment_id=shipment_id, carrier=self.carrier.lower(), tracking_number=self.tracking_number,
                        tracking_url=self.tracking_url, items=self.items, created_at=now)
