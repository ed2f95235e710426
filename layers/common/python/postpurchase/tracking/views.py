"""`GET /v1/orders/{order_id}/tracking`: every parcel with its status, ETA and timeline."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ..errors import NotFound
from ..services import tracking_store
from .carriers.base import tracking_url
from .eta import visible_eta


def tracking_document(merchant_id: str, order_id: str, now: datetime) -> dict[str, Any]:
    shipments = tracking_store().order_shipments(merchant_id, order_id)
    if shipments is None:
        raise NotFound(f"order {order_id} not found", field="order_id")
    parcels = []
    for tracked in shipments:
        state, shipment = tracked.tracking, tracked.shipment
        eta = visible_eta(state, now)
        parcels.append({
            "shipment_id": shipment.shipment_id,
            "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number,
            "tracking_url": shipment.tracking_url or tracking_url(shipment.carrier, shipment.tracking_number),
            "status": state.status.value,
            "sub_status": state.sub_status,
            "status_changed_at": _iso(state.status_changed_at),
            "delivered_at": _iso(state.delivered_at),
            "signed_by": state.signed_by,
            "eta": None if eta is None else {
                "kind": eta.kind, "estimate": _iso(eta.eta), "original": _iso(eta.original_eta),
                "is_late": eta.is_late,
                "changes": [{"at": _iso(c.at), "from": _iso(c.from_eta), "to": _iso(c.to_eta), "reason": c.reason.value}
                            for c in state.eta_changes],
            },
            "items": [item.model_dump() for item in shipment.items],
            "timeline": [{"time": _iso(e.occurred_at), "status": e.status.value, "sub_status": e.sub_status,
                          "place": e.location, "description": e.description}
                         for e in tracked.timeline],
            "last_checked_at": _iso(state.last_checked_at),
        })
    return {"order_id": order_id, "shipments": parcels}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
