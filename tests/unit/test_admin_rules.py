"""Pure parts of the operator CLI and of the privacy requests: argument checks, DLQ summaries,
Shopify topics, the anonymised order, compliance webhook payloads, the shop erasure fan-out."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from postpurchase.admin.__main__ import build_parser
from postpurchase.admin.dlq import summarize
from postpurchase.admin.merchants import check_merchant_id
from postpurchase.admin.shopify import compliance_topics, graphql_topic, registered_topics, webhook_url
from postpurchase.admin.stack import OUTPUT_ENV, Stack, StackError, read_local_stack, write_local_stack
from postpurchase.errors import InvalidInput
from postpurchase.orders.events import CustomerDataRequested, CustomerRedactRequested, ShopRedactRequested
from postpurchase.privacy.service import SHOP_PAGE, handle_privacy_event
from postpurchase.storage.privacy import ERASED_EMAIL, anonymised_order, customer_ids_for
from postpurchase.storefronts import shopify_privacy

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
ORDER = Path(__file__).resolve().parents[1].parent / "events" / "storefronts" / "api" / "order.json"


@pytest.mark.parametrize("value", ["acme", "acme-shop", "a", "shop-2", "x" * 64])
def test_merchant_ids_accepted(value):
    assert check_merchant_id(value) == value


@pytest.mark.parametrize("value", ["", "Acme", "acme shop", "acme|x", "acme#x", "-acme", "acme-", "a/b", "x" * 65,
                                   "acme\u200f", "ácme"])
def test_merchant_ids_refused(value):
    with pytest.raises(InvalidInput) as refused:
        check_merchant_id(value)
    assert refused.value.field == "merchant_id"


def test_dlq_summary_reads_attributes_then_the_body():
    body = json.dumps({"type": "ShipmentCreated", "merchant_id": "m1", "order_id": "1001", "shipment": {}})
    assert summarize(body, {}) == {"type": "ShipmentCreated", "merchant_id": "m1", "order_id": "1001",
                                   "bytes": len(body)}
    nested = json.dumps({"kind": "order_confirmation", "merchant_id": "m1", "order": {"order_id": "7"}})
    assert summarize(nested, {"kind": "EmailRequest"})["type"] == "EmailRequest"
    assert summarize(nested, {})["order_id"] == "7"
    assert summarize("not json", {}) == {"type": None, "merchant_id": None, "order_id": None, "bytes": 8}
    sns = json.dumps({"Type": "Notification", "Message": "{}"})
    assert summarize(sns, {})["type"] == "Notification"


def test_shopify_topics():
    topics = registered_topics()
    assert {"orders/create", "orders/paid", "orders/cancelled", "fulfillments/create", "refunds/create",
            "returns/request", "products/update", "products/delete"} <= set(topics)
    assert "returns/reopen" not in topics  # acknowledged, acted on by nobody
    assert not set(topics) & set(compliance_topics())
    assert graphql_topic("orders/create") == "ORDERS_CREATE" and graphql_topic("shop/redact") == "SHOP_REDACT"
    assert webhook_url("https://x.test/api/", "m1") == "https://x.test/api/webhooks/shopify/m1"


def test_parser_groups_and_target():
    parser = build_parser()
    arguments = parser.parse_args(["--stack", "pp", "keys", "revoke", "--merchant", "m", "abcd1234", "--force"])
    assert arguments.stack == "pp" and arguments.key_id == "abcd1234" and arguments.force
    assert parser.parse_args(["dlq", "list"]).local is None  # no target: the local file
    with pytest.raises(SystemExit):
        parser.parse_args(["--stack", "pp", "--local", "dlq", "list"])
    with pytest.raises(SystemExit):
        parser.parse_args(["dlq", "redrive", "nonsense"])


def test_stack_file_round_trip_and_missing_outputs(tmp_path):
    outputs = {name: f"value-{name}" for name in OUTPUT_ENV}
    path = write_local_stack(tmp_path / "s" / "stack.json", outputs, region="eu-west-1", endpoint_url="http://m")
    stack = read_local_stack(path)
    env = stack.environment()
    assert env["TABLE_NAME"] == "value-TableName" and env["AWS_ENDPOINT_URL"] == "http://m"
    assert env["AWS_REGION"] == "eu-west-1"
    with pytest.raises(StackError, match="LinkSigningKeysArn"):
        Stack({k: v for k, v in outputs.items() if k != "LinkSigningKeysArn"}, "us-east-1").environment()
    with pytest.raises(StackError, match="make local"):
        read_local_stack(tmp_path / "absent.json")


def test_anonymised_order_keeps_the_books_and_drops_the_customer():
    document = json.loads(ORDER.read_text(encoding="utf-8"))
    kept = anonymised_order(document)
    text = json.dumps(kept, ensure_ascii=False)
    for personal in ("ayse", "Ayşe", "Yılmaz", "İstiklal", "1990-04-02", "Europe/Istanbul", "c-1"):
        assert personal not in text
    assert kept["email"] == ERASED_EMAIL and kept["shipping_address"] is None
    assert kept["totals"] == {"subtotal": "25.00", "shipping": "5.00", "tax": "0.00", "discount": "0",
                              "total": "30.00"}
    assert [(i["sku"], i["quantity"], i["price"]) for i in kept["items"]] == [("MUG-1", 2, "12.50")]
    assert anonymised_order(kept) == kept  # twice is once


def test_customer_ids_include_the_guest_id():
    ids = customer_ids_for("c-1", "A@Example.com")
    assert ids[0] == "c-1" and ids[1].startswith("g-") and ids[1] == customer_ids_for(None, "a@example.com")[0]


def _translate(topic, payload):
    return shopify_privacy.translate(topic, json.dumps(payload).encode(), merchant_id="m1", webhook_id="wh-1",
                                     received_at=NOW)


def test_compliance_payloads():
    [redact] = _translate("customers/redact", {"shop_id": 1, "customer": {"id": 191167, "email": "j@example.com"},
                                               "orders_to_redact": [299938, 280263]})
    assert isinstance(redact, CustomerRedactRequested)
    assert (redact.customer_id, redact.email, redact.order_ids) == ("191167", "j@example.com", ["299938", "280263"])
    [request] = _translate("customers/data_request", {"customer": {"id": 5}, "orders_requested": [9],
                                                      "data_request": {"id": 9999}})
    assert isinstance(request, CustomerDataRequested) and request.request_id == "9999" and request.order_ids == ["9"]
    [shop] = _translate("shop/redact", {"shop_id": 1, "shop_domain": "x.myshopify.com"})
    assert isinstance(shop, ShopRedactRequested) and shop.after_customer is None
    assert _translate("customers/redact", {"customer": {}}) == []
    with pytest.raises(InvalidInput) as bad:
        _translate("customers/redact", {"customer": {"id": "a#b"}})
    assert bad.value.field == "customer.id"


class _Customers:
    def __init__(self, ids):
        self.ids = ids

    def customers_page(self, merchant_id, after, limit):
        rest = [c for c in self.ids if after is None or c > after]
        return [SimpleNamespace(customer_id=c) for c in rest[:limit]], len(rest) > limit


def test_shop_redact_fans_out_page_by_page():
    customers = _Customers([f"c{n:04d}" for n in range(SHOP_PAGE + 5)])
    published = []
    event = ShopRedactRequested(event_id="shopify:wh-1:0", merchant_id="m1", source="shopify", received_at=NOW)
    pages = 0
    while event is not None:
        handle_privacy_event(event, store=None, customers=customers, publish=published.extend, now=NOW)
        pages += 1
        follow = [e for e in published if isinstance(e, ShopRedactRequested)]
        event = follow.pop() if follow else None
        published = [e for e in published if not isinstance(e, ShopRedactRequested)]
        assert event is None or event.event_id == f"shopify:wh-1:0:p{pages}"  # ids do not grow
    assert pages == 2
    assert [e.customer_id for e in published] == customers.ids
    assert len({e.event_id for e in published}) == len(published)
