"""Shopify Admin REST webhooks -> our order events.

Payload shapes are Shopify's REST `Order` and `Fulfillment` resources, as webhooks deliver
them. Field paths in errors are Shopify's (`line_items[0].quantity`, `customer_locale`).
Pure: no AWS, no clock, no environment.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import AwareDatetime, StrictInt

from ..errors import InvalidInput
from ..orders.events import OrderCancelled, OrderPlaced, ShipmentCreated
from ..orders.models import Order, Shipment
from .payloads import (
    MoneyText,
    PayloadModel,
    StorefrontId,
    blank,
    build,
    decimal_amount,
    identifier,
    parse_object,
    validate_payload,
)

SOURCE = "shopify"

SUPPORTED_TOPICS: frozenset[str] = frozenset(
    {"orders/create", "orders/paid", "orders/cancelled", "fulfillments/create", "fulfillments/update"}
)
_ORDER_TOPICS = frozenset({"orders/create", "orders/paid"})
_FULFILLMENT_TOPICS = frozenset({"fulfillments/create", "fulfillments/update"})
# Fulfillment statuses that mean nothing is (or will be) on its way.
_DEAD_FULFILLMENT_STATUSES = frozenset({"cancelled", "error", "failure"})

Event = OrderPlaced | ShipmentCreated | OrderCancelled


# --- payload models (Shopify's field names) ------------------------------------------------


class _Money(PayloadModel):
    amount: MoneyText | None = None


class _MoneySet(PayloadModel):
    shop_money: _Money | None = None


class _ShippingLine(PayloadModel):
    price: MoneyText


class _Consent(PayloadModel):
    state: str | None = None


class _Customer(PayloadModel):
    id: StorefrontId | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email_marketing_consent: _Consent | None = None
    accepts_marketing: bool | None = None  # API versions before 2022-04


class _Address(PayloadModel):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    zip: str | None = None
    country_code: str | None = None
    phone: str | None = None


class _LineItem(PayloadModel):
    id: StorefrontId | None = None
    sku: str | None = None
    variant_id: StorefrontId | None = None
    product_id: StorefrontId | None = None
    title: str
    variant_title: str | None = None
    quantity: StrictInt  # "2" or 2.0 is a broken payload, not a quantity
    price: MoneyText


class _OrderPayload(PayloadModel):
    id: StorefrontId
    name: str | None = None
    email: str | None = None
    contact_email: str | None = None
    created_at: AwareDatetime
    currency: str
    financial_status: str | None = None
    customer_locale: str | None = None
    customer: _Customer | None = None
    line_items: list[_LineItem]
    shipping_address: _Address | None = None
    billing_address: _Address | None = None
    subtotal_price: MoneyText
    total_shipping_price_set: _MoneySet | None = None
    shipping_lines: list[_ShippingLine] | None = None
    total_tax: MoneyText | None = None
    total_discounts: MoneyText | None = None
    total_price: MoneyText


class _CancelledPayload(PayloadModel):
    id: StorefrontId
    cancelled_at: AwareDatetime
    cancel_reason: str | None = None


class _FulfillmentLineItem(PayloadModel):
    id: StorefrontId | None = None
    sku: str | None = None
    variant_id: StorefrontId | None = None
    product_id: StorefrontId | None = None
    quantity: StrictInt


class _FulfillmentPayload(PayloadModel):
    id: StorefrontId
    order_id: StorefrontId
    status: str | None = None
    created_at: AwareDatetime
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_numbers: list[str | None] | None = None
    tracking_url: str | None = None
    tracking_urls: list[str | None] | None = None
    line_items: list[_FulfillmentLineItem] | None = None
    shipment_status: str | None = None  # Shopify's carrier status for the parcel, when it knows one
    updated_at: AwareDatetime | None = None


# --- translation -----------------------------------------------------------------------------


def translate(
    topic: str, raw_body: bytes, *, merchant_id: str, webhook_id: str, received_at: datetime
) -> list[Event]:
    """The events one Shopify webhook delivery means; [] for topics we do not act on."""
    topic = (topic or "").strip().lower()
    if topic not in SUPPORTED_TOPICS:
        return []
    data = parse_object(raw_body)

    def envelope(index: int) -> dict:
        return {
            "event_id": f"shopify:{webhook_id}:{index}",
            "merchant_id": merchant_id,
            "source": SOURCE,
            "received_at": received_at,
        }

    if topic in _ORDER_TOPICS:
        order = _order(validate_payload(_OrderPayload, data))
        return [OrderPlaced(**envelope(0), order=order)] if order else []
    if topic == "orders/cancelled":
        payload = validate_payload(_CancelledPayload, data)
        reason = blank(payload.cancel_reason)
        return [
            OrderCancelled(
                **envelope(0),
                order_id=identifier(payload.id, "id"),
                cancelled_at=payload.cancelled_at,
                reason=reason[:200] if reason else None,
            )
        ]
    # fulfillments/create, fulfillments/update
    fulfillment = validate_payload(_FulfillmentPayload, data)
    shipment = _shipment(fulfillment)
    if shipment is None:
        return []
    return [
        ShipmentCreated(
            **envelope(0), order_id=identifier(fulfillment.order_id, "order_id"), shipment=shipment
        )
    ]


def _sku(item: _LineItem | _FulfillmentLineItem) -> str | None:
    """The SKU, or a stable stand-in for items sold without one."""
    sku = blank(item.sku)
    if sku:
        return sku
    for prefix, value in (("v", item.variant_id), ("p", item.product_id), ("li", item.id)):
        if blank(value):
            return f"{prefix}{value.strip()}"
    return None  # the canonical model reports line_items[i].sku as required


def _accepts_marketing(customer: _Customer | None) -> bool | None:
    if customer is None:
        return None
    consent = customer.email_marketing_consent
    if consent is not None and blank(consent.state):
        return consent.state.strip().lower() == "subscribed"
    return customer.accepts_marketing


def _address(address: _Address | None) -> dict | None:
    if address is None or not blank(address.address1):
        return None
    full_name = " ".join(n for n in (blank(address.first_name), blank(address.last_name)) if n)
    return {
        "name": blank(address.name) or full_name or None,
        "address1": address.address1,
        "address2": blank(address.address2),
        "city": address.city,
        "province": blank(address.province),
        "zip": blank(address.zip),
        "country_code": address.country_code,
        "phone": blank(address.phone),
    }


def _shipping(payload: _OrderPayload) -> tuple[str, str]:
    """The shipping total and the Shopify field it came from."""
    money_set = payload.total_shipping_price_set
    if money_set is not None and money_set.shop_money is not None and money_set.shop_money.amount is not None:
        return money_set.shop_money.amount, "total_shipping_price_set.shop_money.amount"
    if payload.shipping_lines:
        total = sum(
            (decimal_amount(line.price, f"shipping_lines[{i}].price") for i, line in enumerate(payload.shipping_lines)),
            Decimal("0"),
        )
        return str(total), "shipping_lines"
    return "0", "total_shipping_price_set"


_ORDER_RENAMES = {
    "order_id": "id",
    "order_number": "name",
    "placed_at": "created_at",
    "currency": "currency",
    "financial_status": "financial_status",
    "customer.id": "customer.id",
    "customer.first_name": "customer.first_name",
    "customer.last_name": "customer.last_name",
    "customer.locale": "customer_locale",
    "customer.accepts_marketing": "customer.email_marketing_consent.state",
    "items": "line_items",
    "totals.subtotal": "subtotal_price",
    "totals.tax": "total_tax",
    "totals.discount": "total_discounts",
    "totals.total": "total_price",
}


def _order(payload: _OrderPayload) -> Order | None:
    customer = payload.customer
    if blank(payload.email):
        order_email, order_email_field = blank(payload.email), "email"
    elif blank(payload.contact_email):
        order_email, order_email_field = blank(payload.contact_email), "contact_email"
    else:
        order_email, order_email_field = None, "email"
    customer_email = blank(customer.email) if customer else None
    if customer_email is None and order_email is None:
        # A phone-only checkout: nobody to email. Acknowledge it (a 4xx would make Shopify
        # retry and finally disable the webhook) and act on nothing.
        return None

    # Names: the customer record, else the billing address (guest checkouts may lack one).
    billing = payload.billing_address
    first_name = (blank(customer.first_name) if customer else None) or (blank(billing.first_name) if billing else None)
    last_name = (blank(customer.last_name) if customer else None) or (blank(billing.last_name) if billing else None)

    shipping, shipping_field = _shipping(payload)
    data = {
        "order_id": payload.id,
        "order_number": blank(payload.name),
        "placed_at": payload.created_at,
        "email": order_email,
        "currency": payload.currency,
        "financial_status": blank(payload.financial_status),
        "customer": {
            "id": blank(customer.id) if customer else None,
            "email": customer_email or order_email,
            "first_name": first_name,
            "last_name": last_name,
            "locale": blank(payload.customer_locale),
            "accepts_marketing": _accepts_marketing(customer),
        },
        "items": [
            {
                "sku": _sku(item),
                "title": item.title,
                "variant_title": blank(item.variant_title),
                "quantity": item.quantity,
                "price": item.price,
                "category": None,
            }
            for item in payload.line_items
        ],
        "shipping_address": _address(payload.shipping_address),
        "totals": {
            "subtotal": payload.subtotal_price,
            "shipping": shipping,
            "tax": payload.total_tax if payload.total_tax is not None else "0",
            "discount": payload.total_discounts if payload.total_discounts is not None else "0",
            "total": payload.total_price,
        },
        "source": SOURCE,
    }
    renames = {
        **_ORDER_RENAMES,
        "email": order_email_field,
        "customer.email": "customer.email" if customer_email else order_email_field,
        "shipping_address": "shipping_address",
        "totals.shipping": shipping_field,
    }
    return build(Order, data, renames)


_SHIPMENT_RENAMES = {
    "shipment_id": "id",
    "carrier": "tracking_company",
    "created_at": "created_at",
    "items": "line_items",
}


def _shipment(payload: _FulfillmentPayload) -> Shipment | None:
    """The shipment to announce, or None while there is nothing to track."""
    if (blank(payload.status) or "").lower() in _DEAD_FULFILLMENT_STATUSES:
        return None
    numbers = [n.strip() for n in payload.tracking_numbers or [] if blank(n)]
    tracking_number = numbers[0] if numbers else blank(payload.tracking_number)
    if tracking_number is None:
        return None
    urls = [u.strip() for u in payload.tracking_urls or [] if blank(u)]
    data = {
        "shipment_id": payload.id,
        "carrier": blank(payload.tracking_company) or "unknown",
        "tracking_number": tracking_number,
        "tracking_url": urls[0] if urls else blank(payload.tracking_url),
        "items": [{"sku": _sku(item), "quantity": item.quantity} for item in payload.line_items or []],
        "created_at": payload.created_at,
        "carrier_status": blank(payload.shipment_status),
        "carrier_status_at": payload.updated_at if blank(payload.shipment_status) else None,
    }
    renames = {
        **_SHIPMENT_RENAMES,
        "tracking_number": "tracking_numbers[0]" if numbers else "tracking_number",
        "tracking_url": "tracking_urls[0]" if urls else "tracking_url",
    }
    return build(Shipment, data, renames)
