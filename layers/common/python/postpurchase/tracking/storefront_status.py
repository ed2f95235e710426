"""A storefront's own word on a parcel (Shopify's fulfilment shipment_status) as a tracking update."""
from __future__ import annotations

from datetime import datetime

from ..orders.models import Shipment
from .model import TrackingEvent, TrackingUpdate
from .status_maps import map_shopify


def storefront_update(shipment: Shipment, received_at: datetime) -> TrackingUpdate | None:
    if not shipment.carrier_status:
        return None
    status, sub_status = map_shopify(shipment.carrier_status)
    at = shipment.carrier_status_at or received_at
    return TrackingUpdate(
        carrier=shipment.carrier, tracking_number=shipment.tracking_number, provider="shopify", status=status,
        sub_status=sub_status, source="webhook", tracking_url=shipment.tracking_url,
        events=[TrackingEvent(occurred_at=at, status=status, sub_status=sub_status,
                              carrier_code=shipment.carrier_status,
                              carrier_event_id=f"shopify:{shipment.shipment_id}:{shipment.carrier_status}")],
    )
