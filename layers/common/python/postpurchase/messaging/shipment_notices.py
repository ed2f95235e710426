"""The email request for a parcel notice: what the customer is told about one shipment."""
from __future__ import annotations

from datetime import datetime

from ..orders.models import Order, Shipment
from ..tracking.carriers.base import tracking_url
from ..tracking.eta import visible_eta
from ..tracking.model import TrackingEvent
from ..tracking.state import NoticeKind, ShipmentTracking
from .requests import EmailRequest, ShipmentNotice, TimelineEntry


def shipment_notice_request(*, merchant_id: str, order: Order, shipment: Shipment, tracking: ShipmentTracking,
                            timeline: list[TrackingEvent], kind: NoticeKind, order_page_url: str,
                            now: datetime) -> EmailRequest:
    latest = timeline[-1] if timeline else None
    eta = visible_eta(tracking, now)
    return EmailRequest.about_order(
        order,
        order_page_url=order_page_url,
        now=now,
        kind="shipment_notice",
        variant=kind.value,
        merchant_id=merchant_id,
        ref=shipment.shipment_id,
        shipment=ShipmentNotice(
            shipment_id=shipment.shipment_id, carrier=shipment.carrier, tracking_number=shipment.tracking_number,
            tracking_url=shipment.tracking_url or tracking_url(shipment.carrier, shipment.tracking_number),
            status=tracking.status.value,
            latest=TimelineEntry(occurred_at=latest.occurred_at, status=latest.status.value,
                                 description=latest.description, location=latest.location) if latest else None,
            eta=eta.eta if eta else None, original_eta=tracking.original_eta,
            eta_is_late=bool(eta and eta.is_late) or kind == NoticeKind.DELAYED,
            delivered_at=tracking.delivered_at, signed_by=tracking.signed_by,
            items=[item.model_dump() for item in shipment.items],
        ),
    )
