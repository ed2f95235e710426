"""What `GET /v1/orders/{order_id}` returns: the order with its shipments, from one Query."""
from __future__ import annotations

from typing import Any

from ..errors import NotFound
from ..services import order_store


def order_document(merchant_id: str, order_id: str) -> dict[str, Any]:
    view = order_store().order_view(merchant_id, order_id)
    if view is None:
        # Another merchant's order answers exactly like a missing one.
        raise NotFound(f"order {order_id} not found", field="order_id")
    document = view.order.model_dump(mode="json")
    document.update(
        status=view.status,
        first_order=view.is_first_order,
        cancelled_at=view.cancelled_at.isoformat() if view.cancelled_at else None,
        shipments=[dict(stored.shipment.model_dump(mode="json"), status=stored.status) for stored in view.shipments],
        notifications=[{"message": message.message_key.split("#", 1)[0], "state": message.state,
                        "sent_at": message.sent_at.isoformat() if message.sent_at else None}
                       for message in view.messages],
    )
    return document
