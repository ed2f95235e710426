"""Shopify's mandatory compliance webhooks -> our privacy events (pure).

`customers/data_request` (a customer asked the shop for their data), `customers/redact` (erase a
customer, with the orders to redact) and `shop/redact` (48 hours after the app is uninstalled:
erase the shop's customer data). Shopify sends them to the URL in the app's configuration
(`compliance_topics` in shopify.app.toml, or the Partner Dashboard); they cannot be subscribed
through the Admin API. Payloads carry ids as numbers.
"""
from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ..orders.events import CustomerDataRequested, CustomerRedactRequested, ShopRedactRequested
from .payloads import PayloadModel, StorefrontId, blank, identifier, parse_object, validate_payload

SOURCE = "shopify"
PRIVACY_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})


class _Customer(PayloadModel):
    id: StorefrontId | None = None
    email: str | None = None


class _DataRequest(PayloadModel):
    id: StorefrontId


class _CustomerPayload(PayloadModel):
    customer: _Customer | None = None
    orders_to_redact: list[StorefrontId] = Field(default=[], max_length=10_000)
    orders_requested: list[StorefrontId] = Field(default=[], max_length=10_000)
    data_request: _DataRequest | None = None


def translate(topic: str, raw_body: bytes, *, merchant_id: str, webhook_id: str,
              received_at: datetime) -> list[CustomerRedactRequested | CustomerDataRequested | ShopRedactRequested]:
    topic = (topic or "").strip().lower()
    envelope = {"event_id": f"shopify:{webhook_id}:0", "merchant_id": merchant_id, "source": SOURCE,
                "received_at": received_at}
    data = parse_object(raw_body)
    if topic == "shop/redact":
        return [ShopRedactRequested(**envelope)]
    payload = validate_payload(_CustomerPayload, data)
    customer = payload.customer or _Customer()
    customer_id = identifier(customer.id, "customer.id") if blank(customer.id) else None
    email = blank(customer.email)
    if topic == "customers/redact":
        orders = [identifier(o, f"orders_to_redact[{i}]") for i, o in enumerate(payload.orders_to_redact)]
        if customer_id is None and email is None and not orders:
            return []  # nothing names a customer: nothing to erase
        return [CustomerRedactRequested(**envelope, customer_id=customer_id, email=email, order_ids=orders)]
    # customers/data_request: Shopify's request id, else the delivery's (both are unique).
    request_id = payload.data_request.id if payload.data_request else webhook_id
    orders = [identifier(o, f"orders_requested[{i}]") for i, o in enumerate(payload.orders_requested)]
    return [CustomerDataRequested(**envelope, request_id=identifier(request_id, "data_request.id"),
                                  customer_id=customer_id, email=email, order_ids=orders)]
