"""Shopify Admin REST webhooks -> our order events.

Payload shapes are Shopify's REST `Order`, `Fulfillment`, `Return` and `Refund` resources, as
webhooks deliver them. Field paths in errors are Shopify's (`line_items[0].quantity`,
`customer_locale`). Pure: no AWS, no clock, no environment.

Returns (`returns/*`, `refunds/create`) become `StorefrontReturnChanged`. Shopify's return
webhooks are thin: `returns/request` and `returns/approve` carry the return with `order` and
`return_line_items` (whose `fulfillment_line_item.line_item` may hold only ids),
`returns/cancel` and `returns/close` only `id`, `order_id` and `status`, and `returns/decline`
only `id`, `status` and `decline`. Ids come as numbers or as `gid://shopify/Return/123`.
"""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from pydantic import AwareDatetime, Field, StrictInt

from ..errors import InvalidInput
from ..orders.events import OrderCancelled, OrderPlaced, ShipmentCreated, StorefrontReturnChanged
from ..orders.models import Order, Shipment
from ..returns.policy import ReturnReason
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
    {
        "orders/create", "orders/paid", "orders/cancelled", "fulfillments/create", "fulfillments/update",
        "returns/request", "returns/approve", "returns/decline", "returns/cancel", "returns/close",
        "returns/reopen", "refunds/create",
    }
)
_ORDER_TOPICS = frozenset({"orders/create", "orders/paid"})
_FULFILLMENT_TOPICS = frozenset({"fulfillments/create", "fulfillments/update"})
# Fulfillment statuses that mean nothing is (or will be) on its way.
_DEAD_FULFILLMENT_STATUSES = frozenset({"cancelled", "error", "failure"})
_RETURN_ACTIONS = {
    "returns/request": "requested",
    "returns/approve": "approved",
    "returns/decline": "declined",
    "returns/cancel": "cancelled",
    "returns/close": "closed",
}
# Acknowledged, acted on by nobody: reopening puts a closed return back to open, and a closed
# RMA is final in our lifecycle (returns/rma.py).
_IGNORED_TOPICS = frozenset({"returns/reopen"})

# Shopify's return reasons (the REST webhooks send the ReturnReason enum in lower case:
# "size_too_small"; API 2026-01 adds `return_reason_definition.handle`, "too-small") -> ours.
# Anything else is `other`.
_RETURN_REASONS: dict[str, ReturnReason] = {
    "defective": ReturnReason.DAMAGED,
    "damaged": ReturnReason.DAMAGED,
    "size_too_large": ReturnReason.DOESNT_FIT,
    "size_too_small": ReturnReason.DOESNT_FIT,
    "too_large": ReturnReason.DOESNT_FIT,
    "too_small": ReturnReason.DOESNT_FIT,
    "too_loose": ReturnReason.DOESNT_FIT,
    "too_tight": ReturnReason.DOESNT_FIT,
    "too_long": ReturnReason.DOESNT_FIT,
    "too_short": ReturnReason.DOESNT_FIT,
    "wrong_item": ReturnReason.WRONG_ITEM,
    "not_as_described": ReturnReason.NOT_AS_DESCRIBED,
    "unwanted": ReturnReason.CHANGED_MIND,
    "style": ReturnReason.CHANGED_MIND,
    "color": ReturnReason.CHANGED_MIND,
    "other": ReturnReason.OTHER,
    "unknown": ReturnReason.OTHER,
}
_GID = re.compile(r"^gid://shopify/([A-Za-z]+)/(\d+)$")
_DIGITS = re.compile(r"^\d+$")
_NOTE_MAX = 1000  # StorefrontReturnChanged.note

Event = OrderPlaced | ShipmentCreated | OrderCancelled | StorefrontReturnChanged


# --- payload models (Shopify's field names) ------------------------------------------------


class _Money(PayloadModel):
    amount: MoneyText | None = None
    currency_code: str | None = None


class _MoneySet(PayloadModel):
    shop_money: _Money | None = None
    presentment_money: _Money | None = None


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


class _Ref(PayloadModel):
    """A reference to another resource: `{"id": 123, "admin_graphql_api_id": "gid://shopify/Order/123"}`."""

    id: StorefrontId | None = None
    admin_graphql_api_id: str | None = None


class _ReferencedLineItem(PayloadModel):
    """An order line item inside a return or refund: often only its ids (returns/*), in full
    in refunds/create."""

    id: StorefrontId | None = None
    admin_graphql_api_id: str | None = None
    sku: str | None = None
    variant_id: StorefrontId | None = None
    product_id: StorefrontId | None = None


class _ReturnFulfillmentLineItem(PayloadModel):
    id: StorefrontId | None = None
    line_item: _ReferencedLineItem


class _ReasonDefinition(PayloadModel):
    handle: str | None = None


class _ReturnLineItem(PayloadModel):
    quantity: StrictInt
    fulfillment_line_item: _ReturnFulfillmentLineItem
    return_reason: str | None = None  # deprecated in API 2026-01 for return_reason_definition
    return_reason_definition: _ReasonDefinition | None = None
    return_reason_note: str | None = None
    customer_note: str | None = None


class _Decline(PayloadModel):
    reason: str | None = None  # return_period_ended, final_sale, other
    note: str | None = None  # the message Shopify sent the customer


class _ReturnPayload(PayloadModel):
    id: StorefrontId | None = None
    admin_graphql_api_id: str | None = None
    order: _Ref | None = None  # returns/request, returns/approve
    order_id: StorefrontId | None = None  # returns/cancel, returns/close
    status: str | None = None
    return_line_items: list[_ReturnLineItem] | None = None
    decline: _Decline | None = None  # returns/decline
    created_at: AwareDatetime | None = None  # not in Shopify's samples; used when present
    updated_at: AwareDatetime | None = None


class _RefundLineItem(PayloadModel):
    line_item_id: StorefrontId | None = None
    line_item: _ReferencedLineItem | None = None
    quantity: StrictInt
    subtotal_set: _MoneySet | None = None


class _Transaction(PayloadModel):
    kind: str | None = None
    status: str | None = None
    amount: MoneyText | None = None
    currency: str | None = None


class _RefundPayload(PayloadModel):
    id: StorefrontId | None = None
    order_id: StorefrontId
    created_at: AwareDatetime | None = None
    processed_at: AwareDatetime | None = None
    refund_line_items: list[_RefundLineItem] | None = None
    transactions: list[_Transaction] | None = None
    returned: _Ref | None = Field(default=None, alias="return")  # newer API versions; null without a return


# --- translation -----------------------------------------------------------------------------


def translate(
    topic: str, raw_body: bytes, *, merchant_id: str, webhook_id: str, received_at: datetime,
    api_version: str | None = None,
) -> list[Event]:
    """The events one Shopify webhook delivery means; [] for topics we do not act on."""
    topic = (topic or "").strip().lower()
    if topic not in SUPPORTED_TOPICS or topic in _IGNORED_TOPICS:
        return []
    data = parse_object(raw_body)

    def envelope(index: int) -> dict:
        return {
            "event_id": f"shopify:{webhook_id}:{index}",
            "merchant_id": merchant_id,
            "source": SOURCE,
            "received_at": received_at,
            "source_api_version": api_version,
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
    if topic in _RETURN_ACTIONS:
        event = _return_changed(_RETURN_ACTIONS[topic], validate_payload(_ReturnPayload, data),
                                envelope(0), received_at)
        return [event] if event else []
    if topic == "refunds/create":
        event = _refund(validate_payload(_RefundPayload, data), envelope(0), received_at)
        return [event] if event else []
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


def _sku(item: _LineItem | _FulfillmentLineItem | _ReferencedLineItem) -> str | None:
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
                "line_id": blank(item.id) if item.id is not None else None,
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


# --- returns and refunds ---------------------------------------------------------------------


def _shopify_id(value: str | None, kind: str, field: str) -> str | None:
    """Shopify's numeric id from a number, a numeric string or `gid://shopify/{kind}/123`."""
    text = blank(value)
    if text is None:
        return None
    if _DIGITS.match(text):
        return text
    match = _GID.match(text)
    if match and match.group(1) == kind:
        return match.group(2)
    raise InvalidInput(f"must be a Shopify id or gid://shopify/{kind}/<number>", field=field)


def _ref_id(id_value: str | None, gid: str | None, kind: str, prefix: str = "") -> tuple[str | None, str]:
    """The id of a referenced resource from `id`, else `admin_graphql_api_id`; and its field."""
    found = _shopify_id(id_value, kind, f"{prefix}id")
    if found is not None:
        return found, f"{prefix}id"
    return _shopify_id(gid, kind, f"{prefix}admin_graphql_api_id"), f"{prefix}admin_graphql_api_id"


def _referenced_sku(item: _ReferencedLineItem, field: str) -> str:
    """The SKU as the order translation has it (`_sku`); a line item known only by its gid
    gets the same `li{id}` stand-in."""
    sku = _sku(item)
    if sku is not None:
        return sku
    line_item_id, _ = _ref_id(None, item.admin_graphql_api_id, "LineItem", f"{field}.")
    if line_item_id is None:
        raise InvalidInput("needs a sku, variant_id, product_id, id or admin_graphql_api_id", field=field)
    return f"li{line_item_id}"


def _line_id(item: _ReferencedLineItem) -> str | None:
    """The order line's id (as the order translation keeps it in `line_id`), from id or gid."""
    try:
        found, _ = _ref_id(item.id, item.admin_graphql_api_id, "LineItem")
    except InvalidInput:
        return None
    return found


def _return_reason(line: _ReturnLineItem) -> ReturnReason:
    code = blank(line.return_reason)
    if code is None and line.return_reason_definition is not None:
        code = blank(line.return_reason_definition.handle)
    if code is None:
        return ReturnReason.OTHER
    return _RETURN_REASONS.get(code.lower().replace("-", "_"), ReturnReason.OTHER)


def _note(parts: list[str | None]) -> str | None:
    """The distinct non-blank texts, one a line, cut to what the event carries."""
    seen: list[str] = []
    for part in parts:
        text = blank(part)
        if text and text not in seen:
            seen.append(text)
    return "\n".join(seen)[:_NOTE_MAX] if seen else None


def _return_changed(action: str, payload: _ReturnPayload, envelope: dict,
                    received_at: datetime) -> StorefrontReturnChanged | None:
    """The return as our event, or None for a decline that names no order.

    `reason` is the first line's reason mapped to ours: a return whose lines give different
    reasons keeps the first. `note` is the customer's notes of all lines (`customer_note`,
    `return_reason_note`). Both are set for a request and for an approval too (a return the
    merchant creates in the admin may reach us approved, never requested). A decline's `note`
    is the merchant's message to the customer, else the decline reason code
    (`return_period_ended`).
    """
    return_id, return_field = _ref_id(payload.id, payload.admin_graphql_api_id, "Return")
    if return_id is None:
        raise InvalidInput("is required", field="id")

    # The order: `order` {id, admin_graphql_api_id} (request, approve), else `order_id`
    # (cancel, close). A missing one is reported where this topic's shape carries it.
    order_id, order_field = None, "order.id" if action in ("requested", "approved") else "order_id"
    if payload.order is not None:
        order_id, order_field = _ref_id(payload.order.id, payload.order.admin_graphql_api_id, "Order", "order.")
    if order_id is None and payload.order_id is not None:
        order_id, order_field = _shopify_id(payload.order_id, "Order", "order_id"), "order_id"
    if order_id is None and action != "declined":
        # Shopify's returns/decline names the return only: the RMA is found by the return id.
        raise InvalidInput("is required", field="order.id" if payload.order is not None else order_field)

    lines = payload.return_line_items or []
    data: dict = {
        **envelope,
        "order_id": order_id,
        "external_return_id": return_id,
        "action": action,
        "occurred_at": payload.updated_at or payload.created_at or received_at,
        "lines": [
            {
                "sku": _referenced_sku(line.fulfillment_line_item.line_item,
                                       f"return_line_items[{i}].fulfillment_line_item.line_item"),
                "line_id": _line_id(line.fulfillment_line_item.line_item),
                "quantity": line.quantity,
            }
            for i, line in enumerate(lines)
        ],
    }
    if action in ("requested", "approved"):
        data["reason"] = _return_reason(lines[0]).value if lines else None
        data["note"] = _note([text for line in lines for text in (line.customer_note, line.return_reason_note)])
    elif action == "declined" and payload.decline is not None:
        reason = blank(payload.decline.reason)
        data["note"] = _note([payload.decline.note]) or (_note([reason.lower()]) if reason else None)
    renames = {
        "order_id": order_field,
        "external_return_id": return_field,
        "lines": "return_line_items",
        "lines[].quantity": "return_line_items[].quantity",
        "lines[].sku": "return_line_items[].fulfillment_line_item.line_item.sku",
    }
    return build(StorefrontReturnChanged, data, renames)


def _refunded(payload: _RefundPayload) -> tuple[Decimal | None, str | None, str]:
    """The sum of the successful refund transactions, their currency, and the currency's field.

    The amount is None when no refund transaction succeeded (money still pending, or none
    moved); the currency falls back to the refunded lines' presentment, then shop, money.
    """
    total: Decimal | None = None
    currency, currency_field = None, "transactions"
    for i, transaction in enumerate(payload.transactions or []):
        kind, status = (blank(transaction.kind) or "").lower(), (blank(transaction.status) or "").lower()
        if kind != "refund" or status != "success":
            continue
        if transaction.amount is None:
            raise InvalidInput("is required", field=f"transactions[{i}].amount")
        amount = decimal_amount(transaction.amount, f"transactions[{i}].amount")
        if amount < 0:
            raise InvalidInput("must not be negative", field=f"transactions[{i}].amount")
        total = amount if total is None else total + amount
        code = blank(transaction.currency)
        if code is not None:
            if currency is not None and code != currency:
                raise InvalidInput(f"differs from the other refund transactions ({currency})",
                                   field=f"transactions[{i}].currency")
            currency, currency_field = code, f"transactions[{i}].currency"
    if currency is None:
        for i, line in enumerate(payload.refund_line_items or []):
            money_set = line.subtotal_set
            for key in ("presentment_money", "shop_money"):
                money = getattr(money_set, key) if money_set is not None else None
                if money is not None and blank(money.currency_code):
                    return total, blank(money.currency_code), f"refund_line_items[{i}].subtotal_set.{key}.currency_code"
    return total, currency, currency_field


def _refund(payload: _RefundPayload, envelope: dict, received_at: datetime) -> StorefrontReturnChanged | None:
    """A refund as our `refunded` event; None for one that touches no return and no line (a
    shipping-only or goodwill refund: nothing to do with returns)."""
    return_id, return_field = None, "return"
    if payload.returned is not None:
        return_id, return_field = _ref_id(payload.returned.id, payload.returned.admin_graphql_api_id, "Return",
                                          "return.")
    refund_lines = payload.refund_line_items or []
    if return_id is None and not refund_lines:
        return None
    lines = []
    for i, line in enumerate(refund_lines):
        field = f"refund_line_items[{i}]"
        if line.line_item is not None:
            sku = _referenced_sku(line.line_item, f"{field}.line_item")
            line_id = _line_id(line.line_item)
        else:
            line_id = _shopify_id(line.line_item_id, "LineItem", f"{field}.line_item_id")
            if line_id is None:
                raise InvalidInput("is required", field=f"{field}.line_item")
            sku = f"li{line_id}"
        lines.append({"sku": sku, "line_id": line_id, "quantity": line.quantity})
    amount, currency, currency_field = _refunded(payload)
    data = {
        **envelope,
        "order_id": _shopify_id(payload.order_id, "Order", "order_id"),
        "external_return_id": return_id,
        "action": "refunded",
        "occurred_at": payload.created_at or payload.processed_at or received_at,
        "lines": lines,
        "refund_amount": amount,
        "currency": currency,
    }
    renames = {
        "order_id": "order_id",
        "external_return_id": return_field,
        "lines": "refund_line_items",
        "lines[].quantity": "refund_line_items[].quantity",
        "lines[].sku": "refund_line_items[].line_item.sku",
        "refund_amount": "transactions",
        "currency": currency_field,
    }
    return build(StorefrontReturnChanged, data, renames)
