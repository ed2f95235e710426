"""WooCommerce webhooks (REST API v3 order object) -> our order events.

WooCommerce sends the whole order on `order.created` and on every `order.updated`; the
status says what it means for us. Timestamps: the `*_gmt` fields, which carry no offset and
are UTC. Field paths in errors are WooCommerce's (`billing.email`, `line_items[0].quantity`).
Pure: no AWS, no clock, no environment.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, StrictInt

from ..errors import InvalidInput
from ..orders.events import OrderCancelled, OrderPlaced, ShipmentCreated
from ..orders.models import Order
from .payloads import (
    LooseText,
    MoneyText,
    PayloadModel,
    StorefrontId,
    blank,
    build,
    decimal_amount,
    identifier,
    parse_object,
    unit_price,
    validate_payload,
)

SOURCE = "woocommerce"

SUPPORTED_TOPICS: frozenset[str] = frozenset({"order.created", "order.updated"})
PLACED_STATUSES: frozenset[str] = frozenset({"processing", "on-hold", "completed"})
CANCELLED_STATUS = "cancelled"

Event = OrderPlaced | ShipmentCreated | OrderCancelled

# WooCommerce's creation ping: form-encoded `webhook_id=<n>`, sent unsigned.
_PING = re.compile(r"webhook_id=[0-9]{1,20}")
_MAX_PING_LENGTH = 64


def is_ping(raw_body: bytes, content_type: str | None) -> bool:
    """True for the unsigned ping WooCommerce sends when a webhook is saved.

    WooCommerce sends it as application/x-www-form-urlencoded; the body decides, since the
    content type alone cannot (proxies drop or rewrite it) and a JSON body never matches.
    `content_type` is accepted so callers can pass what they have.
    """
    del content_type  # the body alone is conclusive: exactly `webhook_id=<digits>`
    if not isinstance(raw_body, (bytes, bytearray)) or len(raw_body) > _MAX_PING_LENGTH:
        return False
    try:
        text = bytes(raw_body).decode("ascii").strip()
    except UnicodeDecodeError:
        return False
    return _PING.fullmatch(text) is not None


# --- payload models (WooCommerce's field names) --------------------------------------------


def _utc(value: datetime) -> datetime:
    # `date_created_gmt` and friends are UTC without an offset.
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


GmtDatetime = Annotated[datetime, AfterValidator(_utc)]


class _Status(PayloadModel):
    status: str


class _Address(PayloadModel):
    first_name: str | None = None
    last_name: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None
    email: str | None = None
    phone: str | None = None


class _LineItem(PayloadModel):
    id: StorefrontId | None = None
    name: str
    product_id: StorefrontId | None = None
    variation_id: StorefrontId | None = None
    quantity: StrictInt  # "2" or 2.0 is a broken payload, not a quantity
    subtotal: MoneyText | None = None
    total: MoneyText | None = None
    sku: str | None = None
    price: MoneyText | None = None  # a JSON number; Decimal via parse_float


class _OrderPayload(PayloadModel):
    id: StorefrontId
    number: LooseText | None = None
    status: str
    currency: str
    date_created_gmt: GmtDatetime
    customer_id: StorefrontId | None = None
    billing: _Address | None = None
    shipping: _Address | None = None
    line_items: list[_LineItem]
    shipping_total: MoneyText | None = None
    total_tax: MoneyText | None = None
    discount_total: MoneyText | None = None
    total: MoneyText


class _CancelledPayload(PayloadModel):
    id: StorefrontId
    date_modified_gmt: GmtDatetime


# --- translation -----------------------------------------------------------------------------


def translate(
    topic: str, raw_body: bytes, *, merchant_id: str, delivery_id: str, received_at: datetime
) -> list[Event]:
    """The events one WooCommerce webhook delivery means; [] for topics and statuses we
    do not act on (pending, failed, checkout-draft, refunded, ...)."""
    topic = (topic or "").strip().lower()
    if topic not in SUPPORTED_TOPICS:
        return []
    data = parse_object(raw_body)
    status = validate_payload(_Status, data).status.strip().lower()

    envelope = {
        "event_id": f"woocommerce:{delivery_id}:0",
        "merchant_id": merchant_id,
        "source": SOURCE,
        "received_at": received_at,
    }
    if status in PLACED_STATUSES:
        return [OrderPlaced(**envelope, order=_order(validate_payload(_OrderPayload, data)))]
    if status == CANCELLED_STATUS:
        payload = validate_payload(_CancelledPayload, data)
        return [
            OrderCancelled(
                **envelope,
                order_id=identifier(payload.id, "id"),
                cancelled_at=payload.date_modified_gmt,
                reason=None,
            )
        ]
    return []


def _sku(item: _LineItem) -> str | None:
    """The SKU, or a stable stand-in for products without one (WooCommerce ids 0 = none)."""
    sku = blank(item.sku)
    if sku:
        return sku
    for prefix, value in (("v", item.variation_id), ("p", item.product_id), ("li", item.id)):
        value = blank(value)
        if value and value != "0":
            return f"{prefix}{value}"
    return None  # the canonical model reports line_items[i].sku as required


def _line(index: int, item: _LineItem) -> tuple[dict, Decimal]:
    """The canonical line item and its line subtotal (before discounts).

    The unit price is derived from the `subtotal` string, not taken from `price`: WooCommerce
    computes `price` as a PHP float (total / quantity, after discounts).
    """
    if item.subtotal is not None:
        line_subtotal = decimal_amount(item.subtotal, f"line_items[{index}].subtotal")
        price = str(unit_price(line_subtotal, item.quantity)) if item.quantity >= 1 else item.subtotal
    elif item.price is not None:
        unit = decimal_amount(item.price, f"line_items[{index}].price")
        if unit.as_tuple().exponent < -4:  # float noise such as 8.333333333333334
            unit = unit.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        line_subtotal = unit * item.quantity
        price = str(unit)
    else:
        raise InvalidInput("Field required", field=f"line_items[{index}].subtotal")
    line = {
        "sku": _sku(item),
        "title": item.name,
        "variant_title": None,
        "quantity": item.quantity,
        "price": price,
        "category": None,
    }
    return line, line_subtotal


def _address(shipping: _Address | None, billing: _Address | None) -> dict | None:
    if shipping is None or not blank(shipping.address_1):
        return None  # virtual products, local pickup
    name = " ".join(n for n in (blank(shipping.first_name), blank(shipping.last_name)) if n)
    return {
        "name": name or None,
        "address1": shipping.address_1,
        "address2": blank(shipping.address_2),
        "city": shipping.city,
        "province": blank(shipping.state),
        "zip": blank(shipping.postcode),
        "country_code": shipping.country,
        "phone": blank(shipping.phone) or (blank(billing.phone) if billing else None),
    }


_ORDER_RENAMES = {
    "order_id": "id",
    "order_number": "number",
    "placed_at": "date_created_gmt",
    "currency": "currency",
    "email": "billing.email",
    "customer.id": "customer_id",
    "customer.email": "billing.email",
    "customer.first_name": "billing.first_name",
    "customer.last_name": "billing.last_name",
    "items": "line_items",
    "items[].title": "line_items[].name",
    "shipping_address.name": "shipping.first_name",
    "shipping_address.address1": "shipping.address_1",
    "shipping_address.address2": "shipping.address_2",
    "shipping_address.city": "shipping.city",
    "shipping_address.province": "shipping.state",
    "shipping_address.zip": "shipping.postcode",
    "shipping_address.country_code": "shipping.country",
    "shipping_address.phone": "shipping.phone",
    "shipping_address": "shipping",
    "totals.subtotal": "line_items",
    "totals.shipping": "shipping_total",
    "totals.tax": "total_tax",
    "totals.discount": "discount_total",
    "totals.total": "total",
}


def _order(payload: _OrderPayload) -> Order:
    billing = payload.billing
    email = blank(billing.email) if billing else None
    if email is None:
        raise InvalidInput("an email address is required", field="billing.email")
    shipping = payload.shipping
    first_name = (blank(billing.first_name) if billing else None) or (blank(shipping.first_name) if shipping else None)
    last_name = (blank(billing.last_name) if billing else None) or (blank(shipping.last_name) if shipping else None)
    customer_id = blank(payload.customer_id)

    items: list[dict] = []
    subtotal = Decimal("0")
    for index, item in enumerate(payload.line_items):
        line, line_subtotal = _line(index, item)
        items.append(line)
        subtotal += line_subtotal
    price_field = "subtotal" if all(item.subtotal is not None for item in payload.line_items) else "price"
    renames = {**_ORDER_RENAMES, "items[].price": f"line_items[].{price_field}"}

    data = {
        "order_id": payload.id,
        "order_number": blank(payload.number),
        "placed_at": payload.date_created_gmt,
        "email": email,
        "currency": payload.currency,
        "financial_status": None,
        "customer": {
            "id": None if customer_id in (None, "0") else customer_id,  # 0 = guest checkout
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "locale": None,  # WooCommerce does not send one
            "accepts_marketing": None,
        },
        "items": items,
        "shipping_address": _address(shipping, billing),
        "totals": {
            "subtotal": str(subtotal),
            "shipping": payload.shipping_total if payload.shipping_total is not None else "0",
            "tax": payload.total_tax if payload.total_tax is not None else "0",
            "discount": payload.discount_total if payload.discount_total is not None else "0",
            "total": payload.total,
        },
        "source": SOURCE,
    }
    return build(Order, data, renames)
