"""Handing a resolved return to the merchant: the ReturnResolved event and the signed webhook.

We never move money. When an RMA is resolved the merchant's systems learn it twice over: an
EventBridge event on our bus (for their AWS-side automation) and an HTTPS POST to the URL they
configured, signed like Stripe's webhooks so they can verify it:

    X-PostPurchase-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
    X-PostPurchase-Delivery:  <rma id>:<revision>   (the same on every retry: deduplicate on it)
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from ..orders.models import Order
from .messages import Origin
from .rma import ReturnRequest, RmaStatus

EVENT_SOURCE = "postpurchase.returns"
RETURN_RESOLVED = "ReturnResolved"
SIGNATURE_HEADER = "X-PostPurchase-Signature"
DELIVERY_HEADER = "X-PostPurchase-Delivery"
SIGNATURE_TOLERANCE_SECONDS = 300


def delivery_id(rma: ReturnRequest, revision: int) -> str:
    return f"{rma.rma_id}:{revision}"


def resolved_elsewhere(rma: ReturnRequest) -> bool:
    """The merchant already refunded in their storefront (the resolve step says so)."""
    step = next((t for t in reversed(rma.history) if t.command == "resolve"), None)
    return bool(step and step.data.get("recorded_elsewhere"))


def return_resolved(rma: ReturnRequest, order: Order, revision: int, origin: Origin) -> dict[str, Any]:
    """The event's detail (and the webhook's body): what was accepted and what is owed."""
    if rma.status is not RmaStatus.resolved and rma.resolution is None:
        raise ValueError(f"return {rma.rma_id} is not resolved")
    assert rma.resolution is not None
    resolved = next(t for t in reversed(rma.history) if t.command == "resolve")
    prices: dict[str, Decimal] = {}
    for item in order.items:
        prices.setdefault(item.sku, item.price)
    accepted = {line.sku: line.accepted_quantity for line in rma.inspection or ()}
    resolution = rma.resolution
    return {
        "event_id": delivery_id(rma, revision),
        "type": RETURN_RESOLVED,
        "merchant_id": rma.merchant_id,
        "order_id": rma.order_id,
        "order_number": order.display_number,
        "rma_id": rma.rma_id,
        "resolved_at": resolved.at.isoformat(),
        "resolution": resolution.kind.value,
        "amount": str(resolution.amount) if resolution.amount is not None else None,
        "currency": resolution.currency or order.currency,
        "store_credit_code": resolution.store_credit_code,
        "exchange_order_id": resolution.exchange_order_id,
        "inspection_outcome": rma.inspection_outcome.value if rma.inspection_outcome else None,
        "lines": [{"sku": line.sku, "quantity_requested": line.quantity,
                   "quantity_accepted": accepted.get(line.sku, 0), "reason": line.reason.value,
                   "unit_price": str(prices[line.sku]) if line.sku in prices else None} for line in rma.lines],
        # A storefront-made refund already moved the money: nothing for the merchant to pay out.
        # Read from the stored resolve step, so a replayed notification cannot say otherwise.
        "origin": "shopify" if resolved_elsewhere(rma) else origin,
        "refund_already_issued": resolved_elsewhere(rma) or origin != "api",
        "customer_email": order.recipient,
    }


def body_bytes(detail: dict[str, Any]) -> bytes:
    return json.dumps(detail, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def signature(secret: str, body: bytes, at: datetime) -> str:
    timestamp = int(at.astimezone(timezone.utc).timestamp())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str | None, body: bytes, now: datetime,
                     tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """What a merchant's receiver does (our tests and the demo's receiver do it too)."""
    try:
        parts = dict(part.split("=", 1) for part in (header or "").split(","))
        stamp, given = parts["t"], parts["v1"]
        if not (stamp.isdigit() and len(stamp) <= 12 and given.isascii()):
            return False
        timestamp = int(stamp)
        if abs(now.astimezone(timezone.utc).timestamp() - timestamp) > tolerance_seconds:
            return False
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, given)
    except (KeyError, ValueError, TypeError, OverflowError):
        return False
