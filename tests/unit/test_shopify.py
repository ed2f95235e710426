"""Shopify webhook payloads -> OrderPlaced / ShipmentCreated / OrderCancelled."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postpurchase.errors import InvalidInput, MalformedJson
from postpurchase.orders.events import OrderCancelled, OrderPlaced, ShipmentCreated, parse_order_event
from postpurchase.storefronts import shopify

FIXTURES = Path(__file__).resolve().parents[2] / "events" / "storefronts" / "shopify"
RECEIVED_AT = datetime(2026, 3, 14, 12, 9, 30, tzinfo=timezone.utc)
WEBHOOK_ID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
MERCHANT_ID = "m_kahve"
ISTANBUL = timezone(timedelta(hours=3))


def raw(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def payload(name: str) -> dict:
    return json.loads(raw(name))


def encode(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def translate(topic: str, body: bytes) -> list:
    return shopify.translate(topic, body, merchant_id=MERCHANT_ID, webhook_id=WEBHOOK_ID, received_at=RECEIVED_AT)


def only(events: list):
    assert len(events) == 1, events
    return events[0]


def invalid(topic: str, data: dict) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        translate(topic, encode(data))
    return caught.value


# --- topics ---------------------------------------------------------------------------------


def test_supported_topics():
    assert shopify.SUPPORTED_TOPICS == frozenset(
        {"orders/create", "orders/paid", "orders/cancelled", "fulfillments/create", "fulfillments/update",
         # returns and refunds: tests/unit/test_shopify_returns.py
         "returns/request", "returns/approve", "returns/decline", "returns/cancel", "returns/close",
         "returns/reopen", "refunds/create"}
    )


def test_orders_create_becomes_order_placed_with_exact_fields():
    event = only(translate("orders/create", raw("orders_create")))

    assert isinstance(event, OrderPlaced)
    assert event.event_id == f"shopify:{WEBHOOK_ID}:0"
    assert event.source == "shopify"
    assert event.merchant_id == MERCHANT_ID
    assert event.received_at == RECEIVED_AT

    order = event.order
    assert order.order_id == "820982911946154508"
    assert order.order_number == "#1001"
    assert order.placed_at == datetime(2026, 3, 14, 15, 9, 26, tzinfo=ISTANBUL)
    assert order.placed_at.utcoffset() == timedelta(hours=3)
    assert order.email == "ayse.yilmaz@example.com"
    assert order.currency == "TRY"
    assert order.financial_status == "paid"
    assert order.source == "shopify"

    customer = order.customer
    assert customer.id == "5566778899001122334"
    assert customer.email == "ayse.yilmaz@example.com"
    assert (customer.first_name, customer.last_name) == ("Ayşe", "Yılmaz")
    assert customer.locale == "tr-TR"
    assert customer.accepts_marketing is True

    first, second = order.items
    assert first.sku == "KHV-FNCN-KRM"
    assert first.title == "Bakır Türk Kahvesi Fincanı"
    assert first.variant_title == "Kırmızı"
    assert first.quantity == 2
    assert first.price == Decimal("412.50")
    assert first.category is None
    # empty sku -> the variant id stands in
    assert second.sku == "v44917330264217"
    assert second.title == "Güllü Lokum Kutusu"
    assert second.variant_title is None
    assert second.quantity == 1
    assert second.price == Decimal("189.90")

    address = order.shipping_address
    assert address is not None
    assert address.name == "Ayşe Yılmaz"
    assert address.address1 == "Bağdat Caddesi No: 214 D: 7"
    assert address.address2 == "Caddebostan, Kadıköy"
    assert address.city == "İstanbul"
    assert address.province == "İstanbul"
    assert address.zip == "34728"
    assert address.country_code == "TR"
    assert address.phone == "+90 532 123 45 67"

    totals = order.totals
    assert totals.subtotal == Decimal("964.90")
    assert totals.shipping == Decimal("49.90")
    assert totals.tax == Decimal("169.13")
    assert totals.discount == Decimal("50.00")
    assert totals.total == Decimal("1014.80")


def test_order_event_survives_the_queue_exactly():
    event = only(translate("orders/create", raw("orders_create")))
    body = event.model_dump_json()
    assert '"order_id":"820982911946154508"' in body
    assert '"price":"412.50"' in body
    assert parse_order_event(body) == event


@pytest.mark.parametrize("topic, fixture", [("orders/create", "orders_create"), ("orders/cancelled", "orders_cancelled"),
                                             ("fulfillments/create", "fulfillments_create")])
def test_the_api_version_of_the_delivery_is_on_every_event_and_survives_the_queue(topic, fixture):
    events = shopify.translate(topic, raw(fixture), merchant_id=MERCHANT_ID, webhook_id=WEBHOOK_ID,
                               received_at=RECEIVED_AT, api_version="2025-07")
    assert events and all(event.source_api_version == "2025-07" for event in events)
    assert all(parse_order_event(event.model_dump_json()).source_api_version == "2025-07" for event in events)
    assert only(translate(topic, raw(fixture))).source_api_version is None


def test_orders_paid_becomes_order_placed():
    order = only(translate("orders/paid", raw("orders_paid"))).order
    assert order.order_id == "6123456789012345678"
    assert order.order_number == "#1002"
    assert order.placed_at == datetime(2026, 3, 16, 13, 41, 3, tzinfo=timezone.utc)
    assert order.currency == "USD"
    assert order.customer.id == "7029384756102938475"
    assert order.customer.locale == "en"
    assert order.customer.accepts_marketing is False  # not_subscribed
    assert [(i.sku, i.quantity, i.price, i.variant_title) for i in order.items] == [
        ("GIFT-50", 2, Decimal("50.00"), "$50")
    ]
    assert order.shipping_address is None  # digital goods: no shipping address in the payload
    assert order.totals.shipping == Decimal("0.00")
    assert order.totals.total == Decimal("100.00")


def test_orders_paid_makes_the_same_order_as_orders_create():
    created = only(translate("orders/create", raw("orders_create")))
    paid = only(translate("orders/paid", raw("orders_create")))
    assert isinstance(paid, OrderPlaced)
    assert paid.order == created.order


def test_orders_cancelled_becomes_order_cancelled():
    event = only(translate("orders/cancelled", raw("orders_cancelled")))
    assert isinstance(event, OrderCancelled)
    assert event.event_id == f"shopify:{WEBHOOK_ID}:0"
    assert event.source == "shopify"
    assert event.order_id == "820982911946154508"
    assert event.cancelled_at == datetime(2026, 3, 15, 6, 12, 44, tzinfo=timezone.utc)
    assert event.reason == "customer"


def test_orders_cancelled_without_reason():
    data = payload("orders_cancelled")
    data["cancel_reason"] = None
    assert only(translate("orders/cancelled", encode(data))).reason is None


def test_fulfillments_create_becomes_shipment_created():
    event = only(translate("fulfillments/create", raw("fulfillments_create")))
    assert isinstance(event, ShipmentCreated)
    assert event.event_id == f"shopify:{WEBHOOK_ID}:0"
    assert event.source == "shopify"
    assert event.merchant_id == MERCHANT_ID
    assert event.order_id == "820982911946154508"
    shipment = event.shipment
    assert shipment.shipment_id == "5123498761234567890"
    assert shipment.carrier == "DHL Express"
    assert shipment.tracking_number == "1234567890"
    assert shipment.tracking_url == (
        "https://www.dhl.com/tr-tr/home/tracking/tracking-express.html?submit=1&tracking-id=1234567890"
    )
    assert [(i.sku, i.quantity) for i in shipment.items] == [("KHV-FNCN-KRM", 2), ("v44917330264217", 1)]
    assert shipment.created_at == datetime(2026, 3, 15, 11, 2, 17, tzinfo=ISTANBUL)


def test_fulfillments_update_takes_the_first_tracking_number_and_url():
    event = only(translate("fulfillments/update", raw("fulfillments_update")))
    assert isinstance(event, ShipmentCreated)
    assert event.order_id == "820982911946154508"
    assert event.shipment.shipment_id == "5123498761234567890"
    assert event.shipment.carrier == "Yurtiçi Kargo"
    assert event.shipment.tracking_number == "310918273645"
    assert event.shipment.tracking_url.endswith("code=310918273645")


def test_fulfillment_without_tracking_is_nothing_to_announce():
    data = payload("fulfillments_create")
    data.update(tracking_number=None, tracking_numbers=[], tracking_url=None, tracking_urls=[])
    assert translate("fulfillments/create", encode(data)) == []


def test_fulfillment_single_tracking_fields_are_used_when_lists_are_absent():
    data = payload("fulfillments_create")
    del data["tracking_numbers"], data["tracking_urls"]
    data.update(tracking_number="JD014600003828", tracking_url="https://track.example/JD014600003828")
    shipment = only(translate("fulfillments/create", encode(data))).shipment
    assert shipment.tracking_number == "JD014600003828"
    assert shipment.tracking_url == "https://track.example/JD014600003828"


def test_fulfillment_without_carrier_is_unknown_and_url_optional():
    data = payload("fulfillments_create")
    data.update(tracking_company=None, tracking_url=None, tracking_urls=[])
    shipment = only(translate("fulfillments/create", encode(data))).shipment
    assert shipment.carrier == "unknown"
    assert shipment.tracking_url is None


@pytest.mark.parametrize("status", ["cancelled", "error", "failure"])
def test_dead_fulfillment_is_not_a_shipment(status):
    data = payload("fulfillments_update")
    data["status"] = status
    assert translate("fulfillments/update", encode(data)) == []


@pytest.mark.parametrize("topic", ["orders/updated", "orders/delete", "app/uninstalled", "customers/create", ""])
def test_unknown_topic_is_acknowledged_and_ignored(topic):
    assert translate(topic, raw("orders_create")) == []
    assert translate(topic, b"not even json") == []


# --- big ids --------------------------------------------------------------------------------


def test_ids_above_2_pow_53_keep_every_digit():
    body = raw("orders_create")
    assert b"820982911946154508" in body and b"5566778899001122334" in body
    # The trap this guards against: through a float both ids change.
    assert str(int(float("820982911946154508"))) != "820982911946154508"
    order = only(translate("orders/create", body)).order
    assert order.order_id == "820982911946154508"
    assert order.customer.id == "5566778899001122334"


@settings(max_examples=100, deadline=None)
@given(order_id=st.integers(min_value=2**53 + 1, max_value=2**63 - 1), customer_id=st.integers(2**53 + 1, 2**63 - 1))
def test_any_int64_id_comes_out_as_its_exact_digits(order_id, customer_id):
    data = payload("orders_create")
    data["id"] = order_id
    data["customer"]["id"] = customer_id
    order = only(translate("orders/create", encode(data))).order
    assert order.order_id == str(order_id)
    assert order.customer.id == str(customer_id)


def test_ids_given_as_strings_pass_through():
    data = payload("fulfillments_create")
    data["id"], data["order_id"] = "5123498761234567890", "820982911946154508"
    event = only(translate("fulfillments/create", encode(data)))
    assert (event.shipment.shipment_id, event.order_id) == ("5123498761234567890", "820982911946154508")


def test_an_id_that_is_not_an_integer_is_refused():
    body = raw("orders_create").replace(b'"id": 820982911946154508', b'"id": 8.20982911946154508e17', 1)
    with pytest.raises(InvalidInput) as caught:
        translate("orders/create", body)
    assert caught.value.field == "id"


# --- fallbacks ------------------------------------------------------------------------------


def test_sku_fallbacks():
    data = payload("orders_create")
    item = data["line_items"][1]
    item["sku"] = None
    assert only(translate("orders/create", encode(data))).order.items[1].sku == "v44917330264217"
    item["variant_id"] = None
    assert only(translate("orders/create", encode(data))).order.items[1].sku == "p7513594413212"
    item["product_id"] = None
    assert only(translate("orders/create", encode(data))).order.items[1].sku == "li866550311766439021"
    item["sku"] = "  LOKUM-GUL  "
    assert only(translate("orders/create", encode(data))).order.items[1].sku == "LOKUM-GUL"


def test_shipment_items_use_the_same_sku_fallback():
    data = payload("fulfillments_create")
    data["line_items"][1].update(sku=None, variant_id=None)
    shipment = only(translate("fulfillments/create", encode(data))).shipment
    assert [i.sku for i in shipment.items] == ["KHV-FNCN-KRM", "p7513594413212"]


def test_contact_email_and_customer_email_fallbacks():
    data = payload("orders_create")
    data["email"] = ""
    data["customer"]["email"] = None
    order = only(translate("orders/create", encode(data))).order
    assert order.email == "ayse.yilmaz@example.com"  # contact_email
    assert order.customer.email == "ayse.yilmaz@example.com"

    data = payload("orders_create")
    data["customer"]["email"] = None
    data["email"] = "ayse+orders@example.com"
    order = only(translate("orders/create", encode(data))).order
    assert order.customer.email == "ayse+orders@example.com"


def test_order_without_customer_record():
    data = payload("orders_create")
    data["customer"] = None
    customer = only(translate("orders/create", encode(data))).order.customer
    assert customer.id is None
    assert customer.email == "ayse.yilmaz@example.com"
    assert (customer.first_name, customer.last_name) == ("Ayşe", "Yılmaz")  # from billing_address
    assert customer.accepts_marketing is None
    assert customer.customer_id().startswith("g-")


def test_marketing_consent_absent_or_legacy():
    data = payload("orders_create")
    del data["customer"]["email_marketing_consent"]
    assert only(translate("orders/create", encode(data))).order.customer.accepts_marketing is None
    data["customer"]["accepts_marketing"] = True  # API versions before 2022-04
    assert only(translate("orders/create", encode(data))).order.customer.accepts_marketing is True
    data["customer"]["email_marketing_consent"] = {"state": "unsubscribed"}
    assert only(translate("orders/create", encode(data))).order.customer.accepts_marketing is False


def test_shipping_total_falls_back_to_shipping_lines_then_zero():
    data = payload("orders_create")
    del data["total_shipping_price_set"]
    data["shipping_lines"].append({"id": 1, "title": "Hediye paketi", "price": "15.10"})
    assert only(translate("orders/create", encode(data))).order.totals.shipping == Decimal("65.00")
    data["shipping_lines"] = []
    assert only(translate("orders/create", encode(data))).order.totals.shipping == Decimal("0")


def test_missing_shipping_address_is_none():
    data = payload("orders_create")
    del data["shipping_address"]
    assert only(translate("orders/create", encode(data))).order.shipping_address is None
    data["shipping_address"] = None
    assert only(translate("orders/create", encode(data))).order.shipping_address is None


def test_locale_with_underscore_is_normalised():
    data = payload("orders_create")
    data["customer_locale"] = "tr_TR"
    assert only(translate("orders/create", encode(data))).order.customer.locale == "tr-TR"


# --- malformed and invalid input ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b'{"id": 1,}', b"[]", b'"order"', b"null", b"\xff\xfe{}", b'{"id": NaN}'],
)
def test_malformed_json(body):
    with pytest.raises(MalformedJson):
        translate("orders/create", body)


def test_missing_line_items():
    data = payload("orders_create")
    del data["line_items"]
    error = invalid("orders/create", data)
    assert error.field == "line_items"
    assert error.status == 400


def test_empty_line_items():
    data = payload("orders_create")
    data["line_items"] = []
    assert invalid("orders/create", data).field == "line_items"


@pytest.mark.parametrize("quantity", ["2", 2.0, None, True])
def test_wrong_typed_quantity(quantity):
    data = payload("orders_create")
    data["line_items"][1]["quantity"] = quantity
    error = invalid("orders/create", data)  # 2.0 arrives as Decimal("2.0") via parse_float
    assert error.field == "line_items[1].quantity"


def test_zero_quantity_reports_the_shopify_path():
    data = payload("orders_create")
    data["line_items"][0]["quantity"] = 0
    assert invalid("orders/create", data).field == "line_items[0].quantity"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("created_at"), "created_at"),
        (lambda d: d.update(created_at="2026-03-14T15:09:26"), "created_at"),  # no offset
        (lambda d: d.update(currency="lira"), "currency"),
        (lambda d: d.pop("total_price"), "total_price"),
        (lambda d: d.update(subtotal_price="9,64"), "subtotal_price"),
        (lambda d: d["line_items"][0].update(price="-1.00"), "line_items[0].price"),
        (lambda d: d["line_items"][0].update(price=None), "line_items[0].price"),
        (lambda d: d["line_items"][0].pop("title"), "line_items[0].title"),
        (lambda d: d["line_items"][0].update(sku="KHV\x07FNCN"), "line_items[0].sku"),
        (lambda d: d["customer"].update(email="not-an-email"), "customer.email"),
        (lambda d: d.update(customer_locale="Türkçe"), "customer_locale"),
        (lambda d: d.update(id="820982911946154508#1"), "id"),
        (lambda d: d["shipping_address"].update(country_code=None), "shipping_address.country_code"),
        (lambda d: d["shipping_address"].update(city=""), "shipping_address.city"),
        (lambda d: d["total_shipping_price_set"]["shop_money"].update(amount="free"),
         "total_shipping_price_set.shop_money.amount"),
        (lambda d: d.update(line_items="two coffee cups"), "line_items"),
        (lambda d: d["line_items"].__setitem__(0, "cup"), "line_items[0]"),
    ],
)
def test_invalid_order_fields_name_the_shopify_field(mutate, field):
    data = payload("orders_create")
    mutate(data)
    assert invalid("orders/create", data).field == field



def test_invalid_shipping_line_price():
    data = payload("orders_create")
    del data["total_shipping_price_set"]
    data["shipping_lines"][0]["price"] = "49,90"
    assert invalid("orders/create", data).field == "shipping_lines[0].price"


def test_cancelled_without_cancelled_at():
    data = payload("orders_cancelled")
    data["cancelled_at"] = None
    assert invalid("orders/cancelled", data).field == "cancelled_at"


def test_cancelled_needs_only_id_and_timestamp():
    event = only(translate("orders/cancelled", b'{"id": 820982911946154508, "cancelled_at": "2026-03-15T09:12:44+03:00"}'))
    assert event.order_id == "820982911946154508"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("order_id"), "order_id"),
        (lambda d: d.pop("created_at"), "created_at"),
        (lambda d: d["line_items"][0].update(quantity="2"), "line_items[0].quantity"),
        (lambda d: d["line_items"][1].update(quantity=0), "line_items[1].quantity"),
        (lambda d: d.update(tracking_numbers="1234567890"), "tracking_numbers"),
    ],
)
def test_invalid_fulfillment_fields_name_the_shopify_field(mutate, field):
    data = payload("fulfillments_create")
    mutate(data)
    assert invalid("fulfillments/create", data).field == field
