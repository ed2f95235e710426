"""Shopify returns/* and refunds/create webhook payloads -> StorefrontReturnChanged."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postpurchase.errors import InvalidInput
from postpurchase.orders.events import StorefrontReturnChanged, parse_order_event
from postpurchase.returns.policy import ReturnReason
from postpurchase.storefronts import shopify

FIXTURES = Path(__file__).resolve().parents[2] / "events" / "storefronts" / "shopify"
RECEIVED_AT = datetime(2026, 3, 25, 9, 0, tzinfo=timezone.utc)
WEBHOOK_ID = "6f1c2d9e-4b7a-4c55-9e3d-2a1b0c9d8e7f"
MERCHANT_ID = "m_kahve"
ORDER_ID = "820982911946154508"
RETURN_ID = "13750386841"
ISTANBUL = timezone(timedelta(hours=3))
RETURN_TOPICS = ["returns/request", "returns/approve", "returns/decline", "returns/cancel", "returns/close"]


def payload(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_bytes())


def encode(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def translate(topic: str, body: bytes) -> list:
    return shopify.translate(topic, body, merchant_id=MERCHANT_ID, webhook_id=WEBHOOK_ID, received_at=RECEIVED_AT)


def only(events: list) -> StorefrontReturnChanged:
    assert len(events) == 1, events
    assert isinstance(events[0], StorefrontReturnChanged)
    return events[0]


def event_of(topic: str, data: dict) -> StorefrontReturnChanged:
    return only(translate(topic, encode(data)))


def invalid(topic: str, data: dict) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        translate(topic, encode(data))
    return caught.value


def declined_with_order() -> dict:
    """Shopify's returns/decline names no order; a shape that does (order or order_id)."""
    data = payload("returns_decline")
    data["order"] = {"id": int(ORDER_ID), "admin_graphql_api_id": f"gid://shopify/Order/{ORDER_ID}"}
    return data


# --- topics ---------------------------------------------------------------------------------


def test_return_and_refund_topics_are_supported():
    assert {*RETURN_TOPICS, "returns/reopen", "refunds/create"} <= shopify.SUPPORTED_TOPICS


def test_the_fixture_files_parse_as_json_and_name_the_order_of_orders_create():
    order = payload("orders_create")
    for name in ("returns_request", "returns_approve", "returns_decline", "returns_cancel", "returns_close",
                 "refunds_create"):
        data = payload(name)
        assert str(data["id"]) in (RETURN_ID, "1094783310123"), name
        if name != "returns_decline":  # Shopify's decline payload carries no order
            order_ref = data.get("order", {}).get("id", data.get("order_id"))
            assert order_ref == order["id"], name


def test_returns_request_becomes_requested_with_exact_fields():
    event = only(translate("returns/request", (FIXTURES / "returns_request.json").read_bytes()))
    assert event.model_dump(exclude={"lines"}) == {
        "event_id": f"shopify:{WEBHOOK_ID}:0",
        "merchant_id": MERCHANT_ID,
        "source": "shopify",
        "received_at": RECEIVED_AT,
        "source_api_version": None,  # translate() was given no X-Shopify-API-Version
        "type": "StorefrontReturnChanged",
        "order_id": ORDER_ID,
        "external_return_id": RETURN_ID,
        "action": "requested",
        "occurred_at": RECEIVED_AT,  # Shopify's return payloads carry no timestamp
        "reason": "damaged",  # the first line's "defective"; the second line's "unwanted" is not kept
        "note": "Fincanlardan birinin kulpu kırık geldi.",
        "refund_amount": None,
        "currency": None,
    }
    # Shopify's return line items name the order line item by id only: the SKU stand-in of _sku.
    assert [(line.sku, line.quantity) for line in event.lines] == [
        ("li866550311766439020", 1), ("li866550311766439021", 1)]


def test_returns_approve_becomes_approved_with_its_lines_reason_and_note():
    # A return the merchant creates in the admin may reach us approved without a request first:
    # the approval carries what the request would have.
    event = event_of("returns/approve", payload("returns_approve"))
    assert (event.action, event.order_id, event.external_return_id) == ("approved", ORDER_ID, RETURN_ID)
    assert [(line.sku, line.quantity) for line in event.lines] == [
        ("li866550311766439020", 1), ("li866550311766439021", 1)]
    assert (event.reason, event.note) == ("damaged", "Fincanlardan birinin kulpu kırık geldi.")
    assert (event.refund_amount, event.currency) == (None, None)


def test_returns_decline_as_shopify_sends_it_names_no_order_and_is_found_by_its_return_id():
    data = payload("returns_decline")
    assert "order" not in data and "order_id" not in data
    event = event_of("returns/decline", data)
    assert (event.action, event.order_id, event.external_return_id) == ("declined", None, RETURN_ID)


def test_return_lines_carry_the_order_line_ids_for_matching_without_skus():
    event = event_of("returns/request", payload("returns_request"))
    assert [line.line_id for line in event.lines] == ["866550311766439020", "866550311766439021"]


@pytest.mark.parametrize("order_ref", [
    {"order": {"id": int(ORDER_ID)}},
    {"order": {"admin_graphql_api_id": f"gid://shopify/Order/{ORDER_ID}"}},
    {"order_id": int(ORDER_ID)},
])
def test_returns_decline_with_an_order_becomes_declined_with_the_merchants_message(order_ref):
    data = {**payload("returns_decline"), **order_ref}
    event = event_of("returns/decline", data)
    assert (event.action, event.order_id, event.external_return_id) == ("declined", ORDER_ID, RETURN_ID)
    assert event.note == data["decline"]["note"]
    assert (event.reason, event.lines, event.refund_amount) == (None, [], None)


def test_decline_without_a_message_carries_the_reason_code():
    data = declined_with_order()
    data["decline"] = {"reason": "RETURN_PERIOD_ENDED", "note": "  "}
    assert event_of("returns/decline", data).note == "return_period_ended"
    data["decline"] = None
    assert event_of("returns/decline", data).note is None


@pytest.mark.parametrize(("topic", "name", "action"), [
    ("returns/cancel", "returns_cancel", "cancelled"),
    ("returns/close", "returns_close", "closed"),
])
def test_cancel_and_close_carry_only_ids(topic, name, action):
    event = event_of(topic, payload(name))
    assert (event.action, event.order_id, event.external_return_id) == (action, ORDER_ID, RETURN_ID)
    assert (event.lines, event.reason, event.note, event.occurred_at) == ([], None, None, RECEIVED_AT)


def test_returns_reopen_is_acknowledged_and_ignored():
    reopen = {"id": int(RETURN_ID), "admin_graphql_api_id": f"gid://shopify/Return/{RETURN_ID}",
              "order_id": int(ORDER_ID), "status": "open"}
    assert translate("returns/reopen", encode(reopen)) == []
    assert translate("returns/reopen", b"not even json") == []
    assert translate(" Returns/Reopen ", encode(reopen)) == []


def test_topics_are_matched_case_insensitively():
    assert event_of(" RETURNS/CLOSE ", payload("returns_close")).action == "closed"


def test_refunds_create_becomes_refunded_with_exact_fields():
    event = only(translate("refunds/create", (FIXTURES / "refunds_create.json").read_bytes()))
    assert event.model_dump() == {
        "event_id": f"shopify:{WEBHOOK_ID}:0",
        "merchant_id": MERCHANT_ID,
        "source": "shopify",
        "received_at": RECEIVED_AT,
        "source_api_version": None,
        "type": "StorefrontReturnChanged",
        "order_id": ORDER_ID,
        "external_return_id": RETURN_ID,
        "action": "refunded",
        "occurred_at": datetime(2026, 3, 24, 10, 15, 42, tzinfo=ISTANBUL),
        # The same SKUs as orders_create.json gives the order (the second through _sku's fallback).
        "lines": [{"sku": "KHV-FNCN-KRM", "quantity": 1, "line_id": "866550311766439020"},
                  {"sku": "v44917330264217", "quantity": 1, "line_id": "866550311766439021"}],
        "reason": None,
        "note": None,
        "refund_amount": "572.72",  # Money dumps as its exact decimal text
        "currency": "TRY",
    }
    assert event.refund_amount == Decimal("572.72") and isinstance(event.refund_amount, Decimal)


def test_return_events_survive_the_queue_exactly():
    for topic, name in [("returns/request", "returns_request"), ("refunds/create", "refunds_create")]:
        event = event_of(topic, payload(name))
        assert parse_order_event(event.model_dump_json()) == event


# --- ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize("topic", ["returns/request", "returns/approve", "returns/cancel", "returns/close"])
def test_return_id_from_the_gid_alone(topic):
    data = payload(topic.replace("/", "_"))
    data.pop("id")
    data["admin_graphql_api_id"] = "gid://shopify/Return/987654321"
    assert event_of(topic, data).external_return_id == "987654321"


def test_ids_given_as_gids_in_the_id_fields_and_as_strings():
    data = payload("returns_request")
    data["id"] = f"gid://shopify/Return/{RETURN_ID}"
    data["order"] = {"id": f"gid://shopify/Order/{ORDER_ID}"}
    event = event_of("returns/request", data)
    assert (event.external_return_id, event.order_id) == (RETURN_ID, ORDER_ID)
    data = payload("returns_close")
    data["id"], data["order_id"] = RETURN_ID, f"gid://shopify/Order/{ORDER_ID}"
    event = event_of("returns/close", data)
    assert (event.external_return_id, event.order_id) == (RETURN_ID, ORDER_ID)


def test_order_from_its_gid_when_the_number_is_absent():
    data = payload("returns_request")
    data["order"] = {"admin_graphql_api_id": f"gid://shopify/Order/{ORDER_ID}"}
    assert event_of("returns/request", data).order_id == ORDER_ID


def test_ids_above_2_pow_53_keep_every_digit():
    big_return, big_order = 2**63 - 25, 2**53 + 1
    assert str(int(float(big_return))) != str(big_return)
    for topic in ("returns/request", "returns/close"):
        data = payload(topic.replace("/", "_"))
        data["id"] = big_return
        if "order" in data:
            data["order"]["id"] = big_order
        else:
            data["order_id"] = big_order
        event = event_of(topic, data)
        assert (event.external_return_id, event.order_id) == (str(big_return), str(big_order))
    data = payload("refunds_create")
    data["order_id"], data["return"] = big_order, {"id": big_return}
    event = event_of("refunds/create", data)
    assert (event.external_return_id, event.order_id) == (str(big_return), str(big_order))
    assert event.lines[0].sku == "KHV-FNCN-KRM"


@settings(max_examples=100, deadline=None)
@given(return_id=st.integers(2**53 + 1, 2**63 - 1), line_item_id=st.integers(2**53 + 1, 2**63 - 1))
def test_any_int64_return_and_line_item_id_comes_out_exactly(return_id, line_item_id):
    data = payload("returns_request")
    data["admin_graphql_api_id"] = f"gid://shopify/Return/{return_id}"
    data.pop("id")
    data["return_line_items"][0]["fulfillment_line_item"]["line_item"] = {"id": line_item_id}
    event = event_of("returns/request", data)
    assert event.external_return_id == str(return_id)
    assert event.lines[0].sku == f"li{line_item_id}"


def test_a_refund_linked_to_a_return_by_gid_carries_its_id():
    data = payload("refunds_create")
    data["return"] = {"admin_graphql_api_id": f"gid://shopify/Return/{RETURN_ID}"}
    assert event_of("refunds/create", data).external_return_id == RETURN_ID


def test_a_refund_without_a_return_has_no_external_id_and_keeps_its_lines():
    data = payload("refunds_create")
    data["return"] = None
    event = event_of("refunds/create", data)
    assert event.external_return_id is None
    assert [line.sku for line in event.lines] == ["KHV-FNCN-KRM", "v44917330264217"]
    del data["return"]  # API versions before the field
    assert event_of("refunds/create", data).external_return_id is None


# --- line items and SKUs --------------------------------------------------------------------


def test_return_line_items_use_the_sku_when_shopify_sends_one_and_the_same_fallback_as_orders():
    data = payload("returns_request")
    first = data["return_line_items"][0]["fulfillment_line_item"]["line_item"]
    second = data["return_line_items"][1]["fulfillment_line_item"]["line_item"]
    first.update(sku=" KHV-FNCN-KRM ")
    second.update(sku="", variant_id=44917330264217, product_id=7513594413212)
    assert [line.sku for line in event_of("returns/request", data).lines] == ["KHV-FNCN-KRM", "v44917330264217"]
    second.update(variant_id=None)
    assert event_of("returns/request", data).lines[1].sku == "p7513594413212"
    second.update(product_id=None, id=None)
    assert event_of("returns/request", data).lines[1].sku == "li866550311766439021"  # from the gid


def test_refund_line_items_fall_back_to_line_item_id():
    data = payload("refunds_create")
    data["refund_line_items"][0]["line_item"] = None
    assert event_of("refunds/create", data).lines[0].sku == "li866550311766439020"
    data["refund_line_items"][1]["line_item"].update(sku=None, variant_id=None, product_id=None)
    assert event_of("refunds/create", data).lines[1].sku == "li866550311766439021"


def test_a_request_without_line_items_has_no_lines_and_no_reason():
    data = payload("returns_request")
    data["return_line_items"] = []
    event = event_of("returns/request", data)
    assert (event.lines, event.reason, event.note) == ([], None, None)


# --- reasons and notes ----------------------------------------------------------------------


@pytest.mark.parametrize(("shopify_reason", "ours"), [
    ("COLOR", ReturnReason.CHANGED_MIND),
    ("DEFECTIVE", ReturnReason.DAMAGED),
    ("NOT_AS_DESCRIBED", ReturnReason.NOT_AS_DESCRIBED),
    ("OTHER", ReturnReason.OTHER),
    ("SIZE_TOO_LARGE", ReturnReason.DOESNT_FIT),
    ("SIZE_TOO_SMALL", ReturnReason.DOESNT_FIT),
    ("STYLE", ReturnReason.CHANGED_MIND),
    ("UNKNOWN", ReturnReason.OTHER),
    ("UNWANTED", ReturnReason.CHANGED_MIND),
    ("WRONG_ITEM", ReturnReason.WRONG_ITEM),
    ("defective", ReturnReason.DAMAGED),
    ("size_too_small", ReturnReason.DOESNT_FIT),
    ("wrong_item", ReturnReason.WRONG_ITEM),
    ("not_as_described", ReturnReason.NOT_AS_DESCRIBED),
    ("unwanted", ReturnReason.CHANGED_MIND),
    ("color", ReturnReason.CHANGED_MIND),
    ("style", ReturnReason.CHANGED_MIND),
    ("other", ReturnReason.OTHER),
    ("unknown", ReturnReason.OTHER),
    ("ARRIVED_LATE", ReturnReason.OTHER),
    ("no-longer-needed", ReturnReason.OTHER),
    ("", ReturnReason.OTHER),
    (None, ReturnReason.OTHER),
])
def test_return_reasons_map_to_ours(shopify_reason, ours):
    data = payload("returns_request")
    data["return_line_items"][0]["return_reason"] = shopify_reason
    assert event_of("returns/request", data).reason == ours.value


def test_reason_definition_handle_is_used_when_the_enum_is_absent():
    data = payload("returns_request")
    line = data["return_line_items"][0]
    del line["return_reason"]
    line["return_reason_definition"] = {"id": "gid://shopify/ReturnReasonDefinition/7", "handle": "too-small",
                                        "name": "Too small"}
    assert event_of("returns/request", data).reason == "doesnt_fit"
    line["return_reason_definition"]["handle"] = "arrived-late"
    assert event_of("returns/request", data).reason == "other"


def test_the_first_lines_reason_wins():
    data = payload("returns_request")
    data["return_line_items"].reverse()
    assert event_of("returns/request", data).reason == "changed_mind"


def test_request_note_joins_the_customers_distinct_notes_of_every_line():
    data = payload("returns_request")
    data["return_line_items"][0].update(customer_note=" Kulp kırık. ", return_reason_note="Kutu ezik")
    data["return_line_items"][1].update(customer_note="Kulp kırık.", return_reason_note=None)
    assert event_of("returns/request", data).note == "Kulp kırık.\nKutu ezik"
    data["return_line_items"][0]["customer_note"] = "x" * 1500
    assert len(event_of("returns/request", data).note) == 1000
    for line in data["return_line_items"]:
        line.update(customer_note=None, return_reason_note="  ")
    assert event_of("returns/request", data).note is None


# --- refunds --------------------------------------------------------------------------------


def _transaction(**fields) -> dict:
    return {"kind": "refund", "status": "success", "amount": "10.00", "currency": "TRY", **fields}


def test_refund_amount_sums_only_successful_refund_transactions_exactly():
    data = payload("refunds_create")
    data["transactions"] = [
        _transaction(amount="0.10"),
        _transaction(amount="0.20"),
        _transaction(amount="99.99", status="pending"),
        _transaction(amount="99.99", status="failure"),
        _transaction(amount="99.99", kind="void"),
        _transaction(amount="JSON-NUMBER"),
        _transaction(amount=3, kind="REFUND", status="SUCCESS"),
    ]
    # A JSON number with a fraction is read as a Decimal, never through a float.
    body = encode(data).replace(b'"JSON-NUMBER"', b"5.05")
    event = only(translate("refunds/create", body))
    assert event.refund_amount == Decimal("8.35") and str(event.refund_amount) == "8.35"
    assert event.currency == "TRY"


def test_refund_amount_is_none_when_no_refund_transaction_succeeded():
    data = payload("refunds_create")
    data["transactions"] = [_transaction(status="pending")]
    event = event_of("refunds/create", data)
    assert event.refund_amount is None
    assert event.currency == "TRY"  # from the refunded lines' money
    data["transactions"] = []
    assert event_of("refunds/create", data).refund_amount is None


def test_refund_currency_falls_back_to_presentment_then_shop_money():
    data = payload("refunds_create")
    data["transactions"][0]["currency"] = None  # as in Shopify's own sample payload
    for line in data["refund_line_items"]:
        line["subtotal_set"]["presentment_money"]["currency_code"] = "EUR"
    assert event_of("refunds/create", data).currency == "EUR"
    for line in data["refund_line_items"]:
        line["subtotal_set"]["presentment_money"] = None
    event = event_of("refunds/create", data)
    assert (event.currency, event.refund_amount) == ("TRY", Decimal("572.72"))
    for line in data["refund_line_items"]:
        line["subtotal_set"] = None
    event = event_of("refunds/create", data)
    assert (event.currency, event.refund_amount) == (None, Decimal("572.72"))


def test_a_shipping_only_refund_is_nothing_to_do_with_returns():
    data = payload("refunds_create")
    data.update({"return": None, "refund_line_items": [],
                 "refund_shipping_lines": [{"id": 1, "shipping_line_id": 271878346596884015,
                                            "subtotal_amount_set": {"shop_money": {"amount": "49.90",
                                                                                   "currency_code": "TRY"}}}]})
    data["transactions"][0]["amount"] = "49.90"
    assert translate("refunds/create", encode(data)) == []
    del data["refund_line_items"], data["return"]
    assert translate("refunds/create", encode(data)) == []


def test_a_refund_of_a_return_without_line_items_is_still_the_returns_refund():
    data = payload("refunds_create")
    data["refund_line_items"] = []
    data["transactions"][0]["amount"] = "100.00"
    event = event_of("refunds/create", data)
    assert (event.external_return_id, event.lines, event.refund_amount) == (RETURN_ID, [], Decimal("100.00"))


def test_refund_occurred_at_is_created_at_else_processed_at_else_received_at():
    data = payload("refunds_create")
    data["created_at"] = None
    data["processed_at"] = "2026-03-24T11:00:00+03:00"
    assert event_of("refunds/create", data).occurred_at == datetime(2026, 3, 24, 8, 0, tzinfo=timezone.utc)
    data["processed_at"] = None
    assert event_of("refunds/create", data).occurred_at == RECEIVED_AT


def test_return_occurred_at_uses_the_payloads_timestamps_when_present():
    data = payload("returns_close")
    data["created_at"] = "2026-03-20T09:00:00+03:00"
    assert event_of("returns/close", data).occurred_at == datetime(2026, 3, 20, 6, 0, tzinfo=timezone.utc)
    data["updated_at"] = "2026-03-26T09:00:00+03:00"
    assert event_of("returns/close", data).occurred_at == datetime(2026, 3, 26, 6, 0, tzinfo=timezone.utc)


# --- invalid payloads -----------------------------------------------------------------------


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: (d.pop("id"), d.pop("admin_graphql_api_id")), "id"),
    (lambda d: d.update(id=1.5e10), "id"),
    (lambda d: d.update(id="R-1001"), "id"),
    (lambda d: d.update(id="gid://shopify/Order/13750386841"), "id"),
    (lambda d: (d.pop("id"), d.update(admin_graphql_api_id="gid://shopify/Return/")), "admin_graphql_api_id"),
    (lambda d: d.pop("order"), "order.id"),
    (lambda d: d.update(order={}), "order.id"),
    (lambda d: d.update(order={"admin_graphql_api_id": "gid://shopify/Return/1"}), "order.admin_graphql_api_id"),
    (lambda d: d.update(order={"id": True}), "order.id"),
    (lambda d: d.update(return_line_items="two cups"), "return_line_items"),
    (lambda d: d["return_line_items"][0].pop("quantity"), "return_line_items[0].quantity"),
    (lambda d: d["return_line_items"][0].update(quantity="1"), "return_line_items[0].quantity"),
    (lambda d: d["return_line_items"][1].update(quantity=0), "return_line_items[1].quantity"),
    (lambda d: d["return_line_items"][0].pop("fulfillment_line_item"), "return_line_items[0].fulfillment_line_item"),
    (lambda d: d["return_line_items"][0]["fulfillment_line_item"].update(line_item=None),
     "return_line_items[0].fulfillment_line_item.line_item"),
    (lambda d: d["return_line_items"][0]["fulfillment_line_item"].update(line_item={}),
     "return_line_items[0].fulfillment_line_item.line_item"),
    (lambda d: d["return_line_items"][0]["fulfillment_line_item"]["line_item"].update(sku="KHV\x07FNCN"),
     "return_line_items[0].fulfillment_line_item.line_item.sku"),
    (lambda d: d.update(updated_at="2026-03-20T09:00:00"), "updated_at"),
])
def test_invalid_return_fields_name_the_shopify_field(mutate, field):
    data = payload("returns_request")
    mutate(data)
    assert invalid("returns/request", data).field == field


@pytest.mark.parametrize(("topic", "mutate", "field"), [
    ("returns/approve", lambda d: d.pop("order"), "order.id"),
    ("returns/cancel", lambda d: d.pop("order_id"), "order_id"),
    ("returns/close", lambda d: d.pop("order_id"), "order_id"),
    ("returns/close", lambda d: d.update(order_id="#1001"), "order_id"),
    ("returns/cancel", lambda d: (d.pop("id"), d.pop("admin_graphql_api_id")), "id"),
    ("returns/decline", lambda d: d.update(order_id="gid://shopify/Customer/1"), "order_id"),
    ("returns/decline", lambda d: d.update(decline="declined"), "decline"),
])
def test_invalid_fields_of_the_thin_return_topics(topic, mutate, field):
    data = payload(topic.replace("/", "_"))
    mutate(data)
    assert invalid(topic, data).field == field


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.pop("order_id"), "order_id"),
    (lambda d: d.update(order_id=8.2e17), "order_id"),
    (lambda d: d.update(order_id="gid://shopify/Return/1"), "order_id"),
    (lambda d: d.update(created_at="yesterday"), "created_at"),
    (lambda d: d.update({"return": {"admin_graphql_api_id": "gid://shopify/Order/1"}}),
     "return.admin_graphql_api_id"),
    (lambda d: d.update({"return": "13750386841"}), "return"),
    (lambda d: d["refund_line_items"][0].pop("quantity"), "refund_line_items[0].quantity"),
    (lambda d: d["refund_line_items"][1].update(quantity=0), "refund_line_items[1].quantity"),
    (lambda d: d["refund_line_items"][0].update(line_item=None, line_item_id=None), "refund_line_items[0].line_item"),
    (lambda d: d["refund_line_items"][0]["line_item"].update(sku="\x00"), "refund_line_items[0].line_item.sku"),
    (lambda d: d["transactions"][0].update(amount="572,72"), "transactions[0].amount"),
    (lambda d: d["transactions"][0].update(amount="-572.72"), "transactions[0].amount"),
    (lambda d: d["transactions"][0].pop("amount"), "transactions[0].amount"),
    (lambda d: d["transactions"].append(_transaction(currency="EUR")), "transactions[1].currency"),
    (lambda d: d["transactions"][0].update(currency="try"), "transactions[0].currency"),
    (lambda d: d.update(transactions={"kind": "refund"}), "transactions"),
])
def test_invalid_refund_fields_name_the_shopify_field(mutate, field):
    data = payload("refunds_create")
    mutate(data)
    assert invalid("refunds/create", data).field == field


def test_a_pending_transactions_bad_amount_is_not_our_business():
    data = payload("refunds_create")
    data["transactions"].append(_transaction(status="pending", amount="n/a"))
    assert event_of("refunds/create", data).refund_amount == Decimal("572.72")
