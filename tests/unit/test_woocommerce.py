"""WooCommerce webhook payloads (REST API v3 order) -> OrderPlaced / OrderCancelled."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from postpurchase.errors import InvalidInput, MalformedJson
from postpurchase.orders.events import OrderCancelled, OrderPlaced, parse_order_event
from postpurchase.storefronts import woocommerce

FIXTURES = Path(__file__).resolve().parents[2] / "events" / "storefronts" / "woocommerce"
RECEIVED_AT = datetime(2026, 3, 14, 15, 20, 40, tzinfo=timezone.utc)
DELIVERY_ID = "36e520ebabc2fa725092ff4a47acedf2"
MERCHANT_ID = "m_matjar"
FORM = "application/x-www-form-urlencoded"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def payload(name: str) -> dict:
    return json.loads(raw(f"{name}.json"))


def encode(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def translate(topic: str, body: bytes) -> list:
    return woocommerce.translate(
        topic, body, merchant_id=MERCHANT_ID, delivery_id=DELIVERY_ID, received_at=RECEIVED_AT
    )


def only(events: list):
    assert len(events) == 1, events
    return events[0]


def invalid(data: dict, topic: str = "order.created") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        translate(topic, encode(data))
    return caught.value


# --- ping -----------------------------------------------------------------------------------


def test_creation_ping_fixture_is_a_ping():
    body = raw("ping.txt")
    assert body == b"webhook_id=42"
    assert woocommerce.is_ping(body, FORM)
    assert woocommerce.is_ping(body, "application/x-www-form-urlencoded; charset=UTF-8")
    assert woocommerce.is_ping(body, None)
    assert woocommerce.is_ping(b"webhook_id=42\r\n", FORM)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"webhook_id=",
        b"webhook_id=abc",
        b"webhook_id=42&status=processing",
        b"webhook_id=42;drop",
        b"id=42",
        b'{"webhook_id": 42}',
        b"webhook_id=\xd9\xa4\xd9\xa2",  # Arabic-Indic digits are not an id
        b"webhook_id=" + b"4" * 100,
    ],
)
def test_other_bodies_are_not_pings(body):
    assert not woocommerce.is_ping(body, FORM)


def test_real_order_is_not_a_ping():
    assert not woocommerce.is_ping(raw("order_created.json"), "application/json")


def test_ping_body_is_not_an_order():
    # The API must answer pings before translating: the ping is not JSON.
    with pytest.raises(MalformedJson):
        translate("order.created", raw("ping.txt"))


# --- orders ---------------------------------------------------------------------------------


def test_order_created_processing_becomes_order_placed_with_exact_fields():
    event = only(translate("order.created", raw("order_created.json")))

    assert isinstance(event, OrderPlaced)
    assert event.event_id == f"woocommerce:{DELIVERY_ID}:0"
    assert event.source == "woocommerce"
    assert event.merchant_id == MERCHANT_ID
    assert event.received_at == RECEIVED_AT

    order = event.order
    assert order.order_id == "727"
    assert order.order_number == "727"
    # date_created_gmt has no offset: it is UTC (date_created is Riyadh local time, +03:00)
    assert order.placed_at == datetime(2026, 3, 14, 15, 20, 31, tzinfo=timezone.utc)
    assert order.placed_at.utcoffset().total_seconds() == 0
    assert order.email == "fatima.alotaibi@example.com"
    assert order.currency == "SAR"
    assert order.source == "woocommerce"

    customer = order.customer
    assert customer.id == "12"
    assert customer.email == "fatima.alotaibi@example.com"
    assert (customer.first_name, customer.last_name) == ("فاطمة", "العتيبي")
    assert customer.locale is None
    assert customer.accepts_marketing is None

    dates, oud = order.items
    assert dates.sku == "DATES-SKR-1KG"
    assert dates.title == "علبة تمر سكري فاخر"
    assert dates.quantity == 2
    assert dates.price == Decimal("62.50")
    assert str(dates.price) == "62.50"
    assert dates.category is None
    assert oud.sku == "v23"  # empty sku -> variation id
    assert oud.title == "عطر عود - 50 مل"
    assert oud.quantity == 1
    assert oud.price == Decimal("244.00")

    address = order.shipping_address
    assert address is not None
    assert address.name == "فاطمة العتيبي"
    assert address.address1 == "طريق الملك فهد، حي العليا"
    assert address.address2 == "مبنى 12، شقة 4"
    assert address.city == "الرياض"
    assert address.province is None
    assert address.zip == "12211"
    assert address.country_code == "SA"
    assert address.phone == "+966501234567"  # shipping phone empty -> billing phone

    totals = order.totals
    assert totals.subtotal == Decimal("369.00")  # sum of line subtotals
    assert totals.shipping == Decimal("25.00")
    assert totals.tax == Decimal("59.10")
    assert totals.discount == Decimal("0.00")
    assert totals.total == Decimal("453.10")


def test_order_event_survives_the_queue_exactly():
    event = only(translate("order.created", raw("order_created.json")))
    assert parse_order_event(event.model_dump_json()) == event


@pytest.mark.parametrize("topic", ["order.created", "order.updated"])
@pytest.mark.parametrize("status", ["processing", "on-hold", "completed"])
def test_placed_statuses(topic, status):
    data = payload("order_created")
    data["status"] = status
    event = only(translate(topic, encode(data)))
    assert isinstance(event, OrderPlaced)
    assert event.order.order_id == "727"


def test_order_updated_cancelled_becomes_order_cancelled():
    event = only(translate("order.updated", raw("order_updated_cancelled.json")))
    assert isinstance(event, OrderCancelled)
    assert event.event_id == f"woocommerce:{DELIVERY_ID}:0"
    assert event.source == "woocommerce"
    assert event.merchant_id == MERCHANT_ID
    assert event.order_id == "727"
    assert event.cancelled_at == datetime(2026, 3, 15, 7, 2, 9, tzinfo=timezone.utc)
    assert event.reason is None


def test_pending_order_fixture_is_ignored():
    assert translate("order.created", raw("order_pending.json")) == []
    assert translate("order.updated", raw("order_pending.json")) == []


@pytest.mark.parametrize("status", ["pending", "failed", "checkout-draft", "draft", "refunded", "trash"])
def test_other_statuses_are_ignored(status):
    data = payload("order_created")
    data["status"] = status
    assert translate("order.updated", encode(data)) == []


def test_ignored_status_does_not_need_a_complete_order():
    assert translate("order.updated", b'{"id": 731, "status": "pending"}') == []


@pytest.mark.parametrize("topic", ["order.deleted", "order.restored", "product.updated", "customer.created", ""])
def test_unknown_topic_is_acknowledged_and_ignored(topic):
    assert translate(topic, raw("order_created.json")) == []
    assert translate(topic, b"webhook_id=42") == []


def test_guest_checkout_has_no_customer_id():
    data = payload("order_pending")
    data["status"] = "processing"
    assert data["customer_id"] == 0
    customer = only(translate("order.created", encode(data))).order.customer
    assert customer.id is None
    assert customer.email == "khalid.alshammari@example.org"
    assert customer.customer_id().startswith("g-")


def test_no_shipping_address_when_address_1_is_empty():
    data = payload("order_created")
    data["shipping"] = {k: "" for k in data["shipping"]}
    assert only(translate("order.created", encode(data))).order.shipping_address is None
    del data["shipping"]
    assert only(translate("order.created", encode(data))).order.shipping_address is None


def test_shipping_phone_wins_over_billing_phone():
    data = payload("order_created")
    data["shipping"]["phone"] = "+966112345678"
    assert only(translate("order.created", encode(data))).order.shipping_address.phone == "+966112345678"


def test_names_fall_back_to_shipping():
    data = payload("order_created")
    data["billing"].update(first_name="", last_name="")
    customer = only(translate("order.created", encode(data))).order.customer
    assert (customer.first_name, customer.last_name) == ("فاطمة", "العتيبي")


def test_sku_fallbacks():
    data = payload("order_created")
    item = data["line_items"][1]
    item["variation_id"] = 0
    assert only(translate("order.created", encode(data))).order.items[1].sku == "p22"
    item["product_id"] = 0  # product deleted since
    assert only(translate("order.created", encode(data))).order.items[1].sku == "li316"
    item["sku"] = None
    assert only(translate("order.created", encode(data))).order.items[1].sku == "li316"


def test_unit_price_comes_from_the_subtotal_not_the_float_price():
    data = payload("order_created")
    data["line_items"][0].update(quantity=3, subtotal="25.00", total="25.00")
    body = encode(data).replace(b'"price": 62.5', b'"price": 8.333333333333334')
    order = only(translate("order.created", body)).order
    assert order.items[0].price == Decimal("8.33")
    assert order.totals.subtotal == Decimal("269.00")


def test_price_number_is_used_when_subtotal_is_absent():
    data = payload("order_created")
    del data["line_items"][0]["subtotal"]
    order = only(translate("order.created", encode(data))).order
    assert order.items[0].price == Decimal("62.5")
    assert order.totals.subtotal == Decimal("369.0")

    body = encode(data).replace(b'"price": 62.5', b'"price": 8.333333333333334')
    assert only(translate("order.created", body)).order.items[0].price == Decimal("8.33")


def test_price_number_in_exponent_form_is_plain_digits():
    data = payload("order_created")
    del data["line_items"][1]["subtotal"]
    body = encode(data).replace(b'"price": 244', b'"price": 2.44E+2')
    item = only(translate("order.created", body)).order.items[1]
    assert item.price == Decimal("244")
    assert str(item.price) == "244"


def test_integer_ids_and_numbers_as_strings():
    data = payload("order_created")
    data["id"], data["number"], data["customer_id"] = "727", 727, "12"
    order = only(translate("order.created", encode(data))).order
    assert (order.order_id, order.order_number, order.customer.id) == ("727", "727", "12")


def test_big_ids_keep_every_digit():
    body = raw("order_created.json").replace(b'"id": 727,', b'"id": 9007199254740993,', 1)
    assert only(translate("order.created", body)).order.order_id == "9007199254740993"


# --- malformed and invalid input ------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"null", b'"processing"', b"\xff", b'{"total": Infinity}'])
def test_malformed_json(body):
    with pytest.raises(MalformedJson):
        translate("order.created", body)


def test_missing_line_items():
    data = payload("order_created")
    del data["line_items"]
    assert invalid(data).field == "line_items"


@pytest.mark.parametrize("quantity", ["2", 2.5, None, False])
def test_wrong_typed_quantity(quantity):
    data = payload("order_created")
    data["line_items"][1]["quantity"] = quantity
    assert invalid(data).field == "line_items[1].quantity"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("status"), "status"),
        (lambda d: d.update(status=3), "status"),
        (lambda d: d.pop("date_created_gmt"), "date_created_gmt"),
        (lambda d: d.update(date_created_gmt="yesterday"), "date_created_gmt"),
        (lambda d: d.update(currency="riyal"), "currency"),
        (lambda d: d.pop("total"), "total"),
        (lambda d: d.update(total_tax="59,10"), "total_tax"),
        (lambda d: d["billing"].update(email=""), "billing.email"),
        (lambda d: d.pop("billing"), "billing.email"),
        (lambda d: d["billing"].update(email="fatima at example"), "billing.email"),
        (lambda d: d["shipping"].update(country="Saudi Arabia"), "shipping.country"),
        (lambda d: d["shipping"].update(city=""), "shipping.city"),
        (lambda d: d["line_items"][0].pop("name"), "line_items[0].name"),
        (lambda d: d["line_items"][0].update(name=""), "line_items[0].name"),
        (lambda d: d["line_items"][0].update(subtotal="-125.00"), "line_items[0].subtotal"),
        (lambda d: d["line_items"][0].update(subtotal="abc"), "line_items[0].subtotal"),
        (lambda d: d["line_items"][0].update(quantity=0), "line_items[0].quantity"),
        (lambda d: d.update(customer_id=1.5), "customer_id"),
        (lambda d: d.update(line_items=[]), "line_items"),
    ],
)
def test_invalid_fields_name_the_woocommerce_field(mutate, field):
    data = payload("order_created")
    mutate(data)
    assert invalid(data).field == field


def test_cancelled_without_modification_date():
    data = payload("order_updated_cancelled")
    data["date_modified_gmt"] = None
    assert invalid(data, "order.updated").field == "date_modified_gmt"
