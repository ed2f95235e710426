"""The local runtime over HTTP: what a storefront and a newcomer with curl see."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.e2e

STOREFRONTS = Path(__file__).resolve().parents[2] / "events" / "storefronts"


def fresh_order(**changes) -> dict:
    order = json.loads((STOREFRONTS / "api" / "order.json").read_text(encoding="utf-8"))
    order.update(order_id=f"e2e-{uuid.uuid4().hex[:10]}", placed_at=datetime.now(timezone.utc).isoformat(), **changes)
    return order


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_order_over_http_becomes_one_confirmation_in_the_outbox(local_api):
    order = fresh_order()
    status, body = local_api.call("POST", "/v1/orders", order)
    assert (status, body) == (202, {"order_id": order["order_id"], "status": "accepted"})
    again, _ = local_api.call("POST", "/v1/orders", order)  # the storefront retries
    assert again == 202

    [email] = local_api.emails_for(f"demo-store/order_confirmation#{order['order_id']}")
    assert order["order_id"] in email["Subject"]
    assert email["To"] == order["email"]
    link = re.search(r'href="(http://127\.0\.0\.1:\d+/pages/demo-store/orders/[^"]+)"', html_of(email)).group(1)
    assert parse_qs(urlparse(link.replace("&amp;", "&")).query)["token"][0]
    assert "Ayşe" in html_of(email)

    status, stored = local_api.call("GET", f"/v1/orders/{order['order_id']}")
    assert status == 200
    assert stored["customer"]["first_name"] == "Ayşe"
    assert stored["totals"]["total"] == "30.00"
    # The retry was accepted once: a second second later there is still exactly one email.
    assert len(local_api.emails_for(f"demo-store/order_confirmation#{order['order_id']}", timeout=1.0,
                                    expect=2)) == 1


def test_signed_shopify_webhook_is_confirmed_and_a_forged_one_refused(local_api):
    payload = json.loads((STOREFRONTS / "shopify" / "orders_create.json").read_text(encoding="utf-8"))
    shopify_id = 820982911946154508 + uuid.uuid4().int % 1_000_000_000  # above 2**53, unique per run
    payload.update(id=shopify_id, created_at=datetime.now(timezone.utc).isoformat())
    body = json.dumps(payload, ensure_ascii=False).encode()

    assert local_api.shopify("orders/create", body, "wh-forged", secret="wrong")[0] == 401
    status, answer = local_api.shopify("orders/create", body, f"wh-{shopify_id}")
    assert (status, answer["events"]) == (200, 1)
    assert local_api.shopify("orders/create", body, f"wh-{shopify_id}")[0] == 200  # Shopify's retry

    [email] = local_api.emails_for(f"demo-store/order_confirmation#{shopify_id}")
    assert payload["name"] in email["Subject"]
    status, stored = local_api.call("GET", f"/v1/orders/{shopify_id}")
    assert status == 200 and stored["order_id"] == str(shopify_id)


def test_shipment_is_listed_on_the_order(local_api):
    order = fresh_order()
    assert local_api.call("POST", "/v1/orders", order)[0] == 202
    local_api.emails_for(f"demo-store/order_confirmation#{order['order_id']}")  # the order is stored by now
    status, created = local_api.call("POST", f"/v1/orders/{order['order_id']}/shipments",
                                     {"carrier": "fedex", "tracking_number": "794698760140"})
    assert status == 201
    for _ in range(100):
        status, stored = local_api.call("GET", f"/v1/orders/{order['order_id']}")
        if stored.get("shipments"):
            break
    assert stored["shipments"][0]["tracking_number"] == "794698760140"
    assert stored["shipments"][0]["shipment_id"] == created["shipment_id"]


@pytest.mark.parametrize("body, field", [
    (b"{not json", None),
    (json.dumps({"order_id": "x"}).encode(), "placed_at"),
])
def test_bad_input_is_a_clear_4xx(local_api, body, field):
    status, answer = local_api.call("POST", "/v1/orders", body)
    assert status == 400
    assert answer["error"]["code"] in ("malformed_json", "validation_error")
    assert answer["error"].get("field") == field


def test_unknown_key_and_unknown_order(local_api):
    local_api_key = local_api.api_key
    try:
        local_api.api_key = "not-a-key"
        assert local_api.call("GET", "/v1/orders/anything")[0] == 401
    finally:
        local_api.api_key = local_api_key
    assert local_api.call("GET", f"/v1/orders/missing-{uuid.uuid4().hex[:6]}")[0] == 404
