"""The storefront API and webhooks through Chalice's test client, against moto."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from infra.aws_requests import count_aws_requests

ORDER_QUEUE = "OrderEventsQueue"


def error_of(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    """Asserts a JSON error answer; returns its `error` object."""
    assert response.status_code == status, (response.status_code, response.body[:500])
    body = response.json_body
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str) and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error.get("field") == field, error
    return error


# ------------------------------------------------------------------ POST /v1/orders


def test_place_order_is_accepted_and_enqueued_once(aws):
    response = aws.post_order(aws.api_order("A-1001"))

    assert response.status_code == 202
    assert response.json_body == {"order_id": "A-1001", "status": "accepted"}
    assert aws.queue_depth(ORDER_QUEUE) == 1
    event = json.loads(aws.take(ORDER_QUEUE)[0])
    assert (event["type"], event["merchant_id"], event["order"]["order_id"]) == ("OrderPlaced", "demo-store", "A-1001")


def test_identical_retry_is_accepted_without_a_second_event(aws):
    order = aws.api_order("A-1001")
    assert aws.post_order(order).status_code == 202
    aws.clock.advance(timedelta(seconds=5))

    retry = aws.post_order(order)

    assert retry.status_code == 202
    assert retry.json_body == {"order_id": "A-1001", "status": "accepted"}
    assert aws.queue_depth(ORDER_QUEUE) == 1


def test_reused_order_id_with_different_content_is_a_conflict(aws):
    assert aws.post_order(aws.api_order("A-1001")).status_code == 202
    different = aws.api_order("A-1001")
    different["items"][0]["quantity"] = 3

    response = aws.post_order(different)

    error_of(response, 409, "conflict", "order_id")
    assert aws.queue_depth(ORDER_QUEUE) == 1


# ------------------------------------------------------------------ authentication


@pytest.mark.parametrize("authorization", [None, "Basic ZGVtbzpzZWNyZXQ=", "demo-store-local-key", "Bearer ",
                                           "Bearer not-a-known-key"],
                         ids=["missing", "basic-scheme", "no-scheme", "empty-key", "unknown-key"])
def test_requests_without_a_valid_key_are_unauthorized(aws, authorization):
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization

    posted = aws.client.post("/v1/orders", headers=headers, body=aws.encode(aws.api_order("A-1")))
    fetched = aws.client.get("/v1/orders/A-1", headers=headers)
    shipped = aws.client.post("/v1/orders/A-1/shipments", headers=headers,
                              body=aws.encode(aws.storefront_json("api/shipment.json")))

    for response in (posted, fetched, shipped):
        error_of(response, 401, "unauthorized", "Authorization")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_bearer_scheme_is_case_insensitive(aws):
    headers = {"Authorization": f"bearer {aws.credentials.api_key}", "Content-Type": "application/json"}
    response = aws.client.post("/v1/orders", headers=headers, body=aws.encode(aws.api_order("A-1")))
    assert response.status_code == 202


def test_api_keys_are_stored_hashed(aws, other_store):
    items = aws.table_items()
    api_key_items = [item for item in items if item.get("type") == "api_key"]
    assert {item["merchant_id"] for item in api_key_items} == {"demo-store", "other-store"}

    dumped = json.dumps(items, default=str)
    for plain in (aws.credentials.api_key, other_store):
        assert plain not in dumped
    # ... and the stored hash still authenticates.
    assert aws.post_order(aws.api_order("A-1"), api_key=other_store).status_code == 202


# ------------------------------------------------------------------ bad input


def _mutated(aws, mutate) -> dict:
    order = aws.api_order("A-2001")
    mutate(order)
    return order


def _set(path: str, value):
    """A mutation setting a dotted path (list indices as numbers) of the order."""
    parts = [int(p) if p.isdigit() else p for p in path.split(".")]

    def mutate(order):
        target = order
        for part in parts[:-1]:
            target = target[part]
        target[parts[-1]] = value

    return mutate


def _delete(path: str):
    parts = [int(p) if p.isdigit() else p for p in path.split(".")]

    def mutate(order):
        target = order
        for part in parts[:-1]:
            target = target[part]
        del target[parts[-1]]

    return mutate


BAD_ORDERS = {
    "missing-items": (_delete("items"), "items"),
    "empty-items": (_set("items", []), "items"),
    "quantity-as-text": (_set("items.0.quantity", "two"), "items[0].quantity"),
    "quantity-zero": (_set("items.0.quantity", 0), "items[0].quantity"),
    "quantity-negative": (_set("items.0.quantity", -1), "items[0].quantity"),
    "quantity-fraction": (_set("items.0.quantity", 2.5), "items[0].quantity"),
    "price-not-money": (_set("items.0.price", "12,50"), "items[0].price"),
    "price-negative": (_set("items.0.price", "-1.00"), "items[0].price"),
    "total-as-json-number": (_set("totals.total", 30.5), "totals.total"),
    "lowercase-currency": (_set("currency", "usd"), "currency"),
    "placed-at-without-zone": (_set("placed_at", "2026-11-20T10:00:00"), "placed_at"),
    "placed-at-not-a-date": (_set("placed_at", "yesterday"), "placed_at"),
    "bad-email": (_set("email", "not-an-email"), "email"),
    "bad-customer-email": (_set("customer.email", "ayse@"), "customer.email"),
    "order-id-with-hash": (_set("order_id", "A#1"), "order_id"),
    "order-id-with-space": (_set("order_id", "A 1"), "order_id"),
    "order-id-empty": (_set("order_id", ""), "order_id"),
    "unknown-locale-format": (_set("customer.locale", "english please"), "customer.locale"),
    "unknown-timezone": (_set("customer.timezone", "Mars/Olympus_Mons"), "customer.timezone"),
    "missing-customer": (_delete("customer"), "customer"),
    "missing-totals": (_delete("totals"), "totals"),
    "bad-country-code": (_set("shipping_address.country_code", "TUR"), "shipping_address.country_code"),
}


@pytest.mark.parametrize("name", list(BAD_ORDERS))
def test_invalid_orders_answer_400_naming_the_field(aws, name):
    mutate, field = BAD_ORDERS[name]
    response = aws.post_order(_mutated(aws, mutate))

    error_of(response, 400, "validation_error", field)
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_price_as_a_json_number_is_refused(aws):
    order = aws.api_order("A-2002")
    body = aws.encode(order).replace(b'"price": "12.50"', b'"price": 12.5')
    assert b'"price": 12.5' in body

    response = aws.post_order(body)

    error_of(response, 400, "validation_error", "items[0].price")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_price_as_a_json_integer_is_refused(aws):
    body = aws.encode(aws.api_order("A-2003")).replace(b'"price": "12.50"', b'"price": 12')
    error_of(aws.post_order(body), 400, "validation_error", "items[0].price")
    assert aws.queue_depth(ORDER_QUEUE) == 0


@pytest.mark.parametrize("body", [b"{not json", b'{"order_id": "A-1",}', b"\xff\xfe{}", b"NaN"],
                         ids=["garbage", "trailing-comma", "not-utf8", "bare-nan"])
def test_malformed_json_is_400_malformed_json(aws, body):
    error_of(aws.post_order(body), 400, "malformed_json")
    assert aws.queue_depth(ORDER_QUEUE) == 0


@pytest.mark.parametrize("body", [b"[]", b'[{"order_id": "A-1"}]', b'"an order"', b"42", b"null"],
                         ids=["empty-array", "array", "string", "number", "null"])
def test_a_body_that_is_not_an_object_is_refused(aws, body):
    error = error_of(aws.post_order(body), 400)
    assert error["code"] in ("malformed_json", "validation_error")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_unsupported_content_type_is_a_json_error(aws):
    headers = {"Authorization": f"Bearer {aws.credentials.api_key}", "Content-Type": "text/plain"}
    response = aws.client.post("/v1/orders", headers=headers, body=aws.encode(aws.api_order("A-2006")))

    assert aws.queue_depth(ORDER_QUEUE) == 0
    error_of(response, 415, "unsupported_media_type")


def test_json_content_type_with_charset_is_accepted(aws):
    headers = {"Authorization": f"Bearer {aws.credentials.api_key}", "Content-Type": "application/json; charset=utf-8"}
    response = aws.client.post("/v1/orders", headers=headers, body=aws.encode(aws.api_order("A-2007")))

    assert response.status_code == 202


def test_empty_body_is_refused(aws):
    error_of(aws.post_order(b""), 400, "malformed_json")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_oversized_body_is_413(aws):
    from postpurchase.config import settings

    limit = settings().max_body_bytes
    order = aws.api_order("A-2004")
    order["items"][0]["title"] = "x" * 400
    order["padding"] = "y" * limit  # an ignored field: only the size is wrong
    body = aws.encode(order)
    assert len(body) > limit

    error_of(aws.post_order(body), 413, "payload_too_large")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_body_just_under_the_limit_is_accepted(aws):
    from postpurchase.config import settings

    limit = settings().max_body_bytes
    order = aws.api_order("A-2005")
    order["padding"] = ""
    order["padding"] = "y" * (limit - len(aws.encode(order)))
    body = aws.encode(order)
    assert len(body) == limit

    assert aws.post_order(body).status_code == 202


# ------------------------------------------------------------------ unicode


UNICODE_ORDER = {
    "order_id": "U-1",
    "order_number": "№ 1",
    "currency": "SAR",
    "email": "fatima@example.com",
    "customer": {"id": "c-فاطمة", "email": "fatima@example.com", "first_name": "فاطمة", "last_name": "العتيبي",
                 "locale": "ar-SA", "timezone": "Asia/Riyadh"},
    "items": [
        {"sku": "DATES-1", "title": "علبة تمر سكري فاخر", "quantity": 1, "price": "125.00"},
        {"sku": "THAI-2", "title": "ผ้าไหมไทย สีทอง", "variant_title": "ขนาดใหญ่", "quantity": 2, "price": "10.00"},
        {"sku": "KHV-3", "title": "Bakır Türk Kahvesi Fincanı — İğne", "quantity": 1, "price": "5.00",
         "variant_title": "Kırmızı 🎁 (decomposed: Ays\u0327e)"},
        {"sku": "MATR-4", "title": "Матрёшка «Ёлочка»", "quantity": 1, "price": "7.50"},
    ],
    "shipping_address": {"name": "สมชาย ใจดี", "address1": "ул. Тверская, 7 — кв. 12", "address2": "طريق الملك فهد",
                         "city": "İstanbul", "province": "กรุงเทพมหานคร", "zip": "34433", "country_code": "tr"},
    "totals": {"subtotal": "157.50", "shipping": "0.00", "tax": "0.00", "total": "157.50"},
}


def test_unicode_round_trips_exactly_through_get(aws):
    order = dict(UNICODE_ORDER, placed_at=aws.now.isoformat())
    assert aws.post_order(order).status_code == 202
    aws.pump.drain()

    response = aws.get_order("U-1")

    assert response.status_code == 200
    document = response.json_body
    assert document["order_number"] == "№ 1"
    assert document["customer"]["first_name"] == "فاطمة"
    assert document["customer"]["last_name"] == "العتيبي"
    assert document["customer"]["id"] == "c-فاطمة"
    assert [item["title"] for item in document["items"]] == [item["title"] for item in UNICODE_ORDER["items"]]
    assert [item["variant_title"] for item in document["items"]] == [
        item.get("variant_title") for item in UNICODE_ORDER["items"]]
    address = document["shipping_address"]
    for key in ("name", "address1", "address2", "city", "province"):
        assert address[key] == UNICODE_ORDER["shipping_address"][key]
    assert address["country_code"] == "TR"
    assert document["notifications"][0]["state"] == "sent"
    # The customer got an email, addressed by name in their own script.
    [sent] = aws.sent_emails()
    assert "فاطمة" in sent.get_body(preferencelist=("plain",)).get_content()


# ------------------------------------------------------------------ GET /v1/orders/{id}


def test_get_order_returns_order_shipments_and_notifications(aws):
    assert aws.post_order(aws.api_order("A-3001")).status_code == 202
    aws.pump.drain()
    shipment = aws.post_shipment("A-3001", aws.storefront_json("api/shipment.json"))
    assert shipment.status_code == 201
    aws.pump.drain()

    response = aws.get_order("A-3001")

    assert response.status_code == 200
    document = response.json_body
    assert document["order_id"] == "A-3001"
    assert document["status"] == "placed"
    assert document["first_order"] is True
    assert document["totals"] == {"subtotal": "25.00", "shipping": "5.00", "tax": "0.00", "discount": "0",
                                  "total": "30.00"}
    assert document["items"][0]["price"] == "12.50"
    [stored_shipment] = document["shipments"]
    # Tracking started when the shipment was stored: the sandbox carrier has the label.
    assert (stored_shipment["carrier"], stored_shipment["tracking_number"], stored_shipment["status"]) == (
        "fedex", "794698760140", "info_received")
    assert stored_shipment["shipment_id"] == shipment.json_body["shipment_id"]
    assert document["notifications"] == [{"message": "order_confirmation", "state": "sent",
                                           "sent_at": aws.now.isoformat()}]
    assert response.headers.get("Cache-Control") == "no-store"


def test_get_unknown_order_is_404(aws):
    error_of(aws.get_order("no-such-order"), 404, "not_found", "order_id")


def test_orders_are_invisible_to_other_merchants(aws, other_store):
    assert aws.post_order(aws.api_order("SHARED-1")).status_code == 202
    assert aws.post_order(aws.api_order("OTHER-ONLY"), api_key=other_store).status_code == 202
    aws.pump.drain()

    assert aws.get_order("SHARED-1").status_code == 200
    assert aws.get_order("OTHER-ONLY", api_key=other_store).status_code == 200
    error_of(aws.get_order("SHARED-1", api_key=other_store), 404, "not_found")
    error_of(aws.get_order("OTHER-ONLY"), 404, "not_found")
    # Nor can a merchant ship another merchant's order.
    error_of(aws.post_shipment("SHARED-1", aws.storefront_json("api/shipment.json"), api_key=other_store), 404)


def test_the_same_order_id_is_separate_per_merchant(aws, other_store):
    assert aws.post_order(aws.api_order("SAME-1")).status_code == 202
    theirs = aws.api_order("SAME-1")
    theirs["items"][0]["title"] = "Other store's mug"
    assert aws.post_order(theirs, api_key=other_store).status_code == 202  # not a conflict
    aws.pump.drain()

    assert aws.get_order("SAME-1").json_body["items"][0]["title"] == "Ceramic mug"
    assert aws.get_order("SAME-1", api_key=other_store).json_body["items"][0]["title"] == "Other store's mug"


def test_get_order_costs_exactly_one_dynamodb_query(aws):
    assert aws.post_order(aws.api_order("A-3002")).status_code == 202
    aws.pump.drain()
    assert aws.get_order("A-3002").status_code == 200  # warm-up: the API-key cache is hot now

    with count_aws_requests() as requests:
        response = aws.get_order("A-3002")

    assert response.status_code == 200
    dynamodb = {operation: n for (service, operation), n in requests.items() if service == "DynamoDB"}
    assert dynamodb == {"Query": 1}


# ------------------------------------------------------------------ Shopify


def _shopify_body(aws, **fields) -> bytes:
    return aws.encode(aws.shopify_order(**fields))


def test_shopify_signed_webhook_is_accepted_and_enqueued(aws):
    response = aws.shopify("orders/create", _shopify_body(aws), "wh-1")

    assert response.status_code == 200
    assert response.json_body == {"received": True, "topic": "orders/create", "events": 1}
    [event] = [json.loads(body) for body in aws.take(ORDER_QUEUE)]
    assert event["type"] == "OrderPlaced" and event["source"] == "shopify"


def test_shopify_lowercase_header_names_work(aws):
    response = aws.shopify("orders/create", _shopify_body(aws), "wh-lower", lowercase=True)

    assert response.status_code == 200
    assert aws.queue_depth(ORDER_QUEUE) == 1


@pytest.mark.parametrize("signature", ["", "not base64 !!", "AAAA", None], ids=["empty", "garbage", "wrong", "forged"])
def test_shopify_bad_signature_is_401(aws, signature):
    body = _shopify_body(aws)
    if signature is None:
        response = aws.shopify("orders/create", body, "wh-forged", secret="not-the-secret")
    else:
        response = aws.shopify("orders/create", body, "wh-bad", signature=signature)

    error_of(response, 401, "invalid_signature", "X-Shopify-Hmac-Sha256")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_shopify_missing_signature_is_401(aws):
    response = aws.shopify("orders/create", _shopify_body(aws), "wh-1", omit=["X-Shopify-Hmac-Sha256"])

    error_of(response, 401, "invalid_signature")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_shopify_signature_of_another_body_is_401(aws):
    body = _shopify_body(aws)
    tampered = body.replace(b'"total_price": "1014.80"', b'"total_price": "1.00"')
    assert tampered != body

    response = aws.shopify("orders/create", tampered, "wh-1", signature=aws.sign(body, aws.credentials.shopify_secret))

    error_of(response, 401, "invalid_signature")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_shopify_unknown_merchant_is_404(aws):
    response = aws.shopify("orders/create", _shopify_body(aws), "wh-1", merchant_id="no-such-store")

    error_of(response, 404, "not_found", "merchant_id")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_shopify_same_webhook_id_is_enqueued_once(aws):
    body = _shopify_body(aws)
    first = aws.shopify("orders/create", body, "wh-retried")
    again = aws.shopify("orders/create", body, "wh-retried")

    assert (first.status_code, again.status_code) == (200, 200)
    assert aws.queue_depth(ORDER_QUEUE) == 1


def test_shopify_missing_topic_is_400(aws):
    response = aws.shopify(None, _shopify_body(aws), "wh-1")

    error_of(response, 400, field="X-Shopify-Topic")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_shopify_missing_webhook_id_is_400(aws):
    response = aws.shopify("orders/create", _shopify_body(aws), None)

    error_of(response, 400, field="X-Shopify-Webhook-Id")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_shopify_unknown_topic_is_acknowledged_without_events(aws):
    body = aws.encode({"id": 632910392, "title": "IPod Nano - 8GB"})
    response = aws.shopify("products/update", body, "wh-product")

    assert response.status_code == 200
    assert response.json_body["events"] == 0
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_shopify_invalid_order_payload_is_400_not_500(aws):
    order = aws.shopify_order()
    order["line_items"][0]["quantity"] = "2"
    response = aws.shopify("orders/create", aws.encode(order), "wh-bad-qty")

    error_of(response, 400, "validation_error", "line_items[0].quantity")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_shopify_phone_only_checkout_is_acknowledged_and_ignored(aws):
    order = aws.shopify_order(email=None, contact_email=None)
    order["customer"]["email"] = None
    response = aws.shopify("orders/create", aws.encode(order), "wh-phone-only")

    assert response.status_code == 200  # a 4xx would make Shopify retry and finally disable the webhook
    assert response.json_body["events"] == 0
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_shopify_ids_beyond_2_pow_53_stay_exact(aws):
    big = 2**53 + 1  # 9007199254740993: a float would make it ...992
    body = _shopify_body(aws).replace(b'"id": 820982911946154508,', f'"id": {big},'.encode(), 1)
    assert f'"id": {big},'.encode() in body

    assert aws.shopify("orders/create", body, "wh-big").status_code == 200
    aws.pump.drain()

    response = aws.get_order(str(big))
    assert response.status_code == 200
    assert response.json_body["order_id"] == "9007199254740993"
    [stored] = aws.items_of_type("order")
    assert stored["order_id"] == "9007199254740993"
    assert stored["pk"] == "M#demo-store#O#9007199254740993"


# ------------------------------------------------------------------ WooCommerce


def test_woocommerce_ping_is_acknowledged_unsigned(aws):
    response = aws.client.post(f"/webhooks/woocommerce/{aws.credentials.merchant_id}",
                               headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"webhook_id=17")

    assert response.status_code == 200
    assert response.json_body == {"received": True, "ping": True}
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_woocommerce_signed_order_created_is_enqueued(aws):
    response = aws.woocommerce("order.created", aws.encode(aws.woocommerce_order()), "dl-1")

    assert response.status_code == 200
    assert response.json_body["events"] == 1
    [event] = [json.loads(body) for body in aws.take(ORDER_QUEUE)]
    assert event["source"] == "woocommerce" and event["order"]["order_id"] == "727"
    assert event["order"]["items"][0]["title"] == "علبة تمر سكري فاخر"


def test_woocommerce_bad_signature_is_401(aws):
    response = aws.woocommerce("order.created", aws.encode(aws.woocommerce_order()), "dl-1", secret="wrong-secret")

    error_of(response, 401, "invalid_signature", "X-WC-Webhook-Signature")
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_woocommerce_pending_order_is_acknowledged_without_events(aws):
    body = aws.encode(aws.woocommerce_order("woocommerce/order_pending.json"))
    response = aws.woocommerce("order.created", body, "dl-pending")

    assert response.status_code == 200
    assert response.json_body["events"] == 0
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_woocommerce_unknown_merchant_is_404(aws):
    body = aws.encode(aws.woocommerce_order())
    response = aws.client.post("/webhooks/woocommerce/no-such-store", body=body, headers={
        "Content-Type": "application/json", "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Signature": aws.sign(body, aws.credentials.woocommerce_secret),
        "X-WC-Webhook-Delivery-ID": "dl-1"})

    error_of(response, 404, "not_found", "merchant_id")


# ------------------------------------------------------------------ shipments


def test_shipment_for_an_existing_order_is_201(aws):
    assert aws.post_order(aws.api_order("A-4001")).status_code == 202
    aws.pump.drain()

    response = aws.post_shipment("A-4001", aws.storefront_json("api/shipment.json"))

    assert response.status_code == 201
    assert response.json_body["order_id"] == "A-4001"
    assert response.json_body["status"] == "accepted"
    assert response.json_body["shipment_id"]
    [event] = [json.loads(body) for body in aws.take(ORDER_QUEUE)]
    assert event["type"] == "ShipmentCreated" and event["order_id"] == "A-4001"


def test_retried_shipment_is_enqueued_once(aws):
    assert aws.post_order(aws.api_order("A-4002")).status_code == 202
    aws.pump.drain()
    shipment = aws.storefront_json("api/shipment.json")

    first = aws.post_shipment("A-4002", shipment)
    aws.clock.advance(timedelta(minutes=1))
    again = aws.post_shipment("A-4002", shipment)

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json_body["shipment_id"] == again.json_body["shipment_id"]
    assert aws.queue_depth(ORDER_QUEUE) == 1


def test_shipment_for_an_unknown_order_is_404(aws):
    response = aws.post_shipment("no-such-order", aws.storefront_json("api/shipment.json"))

    error_of(response, 404, "not_found", "order_id")
    assert aws.queue_depth(ORDER_QUEUE) == 0


@pytest.mark.parametrize("change,field", [
    ({"carrier": "fed<ex>"}, "carrier"),
    ({"carrier": ""}, "carrier"),
    ({"tracking_number": "79 46"}, "tracking_number"),
    ({"tracking_number": "ab"}, "tracking_number"),
    ({"tracking_url": "javascript:alert(1)"}, "tracking_url"),
    ({"items": [{"sku": "MUG-1", "quantity": "2"}]}, "items[0].quantity"),
], ids=["carrier-markup", "carrier-empty", "tracking-space", "tracking-short", "tracking-url-scheme", "item-qty"])
def test_invalid_shipment_is_400_naming_the_field(aws, change, field):
    assert aws.post_order(aws.api_order("A-4003")).status_code == 202
    aws.pump.drain()

    response = aws.post_shipment("A-4003", {**aws.storefront_json("api/shipment.json"), **change})

    error_of(response, 400, "validation_error", field)
    assert aws.queue_depth(ORDER_QUEUE) == 0


# ------------------------------------------------------------------ OpenAPI


def test_openapi_document_describes_every_route(aws):
    response = aws.client.get("/openapi.json")

    assert response.status_code == 200
    document = response.json_body
    assert document["openapi"] == "3.1.0"
    routes = aws.api.app.routes
    assert set(document["paths"]) == set(routes)
    for path, methods in routes.items():
        assert set(document["paths"][path]) == {method.lower() for method in methods}, path
    assert {"Order", "ShipmentIn", "Error"} <= set(document["components"]["schemas"])
