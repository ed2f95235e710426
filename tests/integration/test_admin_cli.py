"""The operator CLI (`python -m postpurchase.admin`) in-process against moto: merchants, API keys,
dead-letter queues, customers' emails and data (export, erasure), the Shopify compliance
webhooks, and webhook registration against a fake Shopify Admin API on loopback."""
from __future__ import annotations

import io
import json
import os
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

NAME = "Ayşe"  # the sample order's customer, as its PII appears in items
EMAIL = "ayse.yilmaz@example.com"


@pytest.fixture
def cli(aws, tmp_path, monkeypatch):
    """main(argv) against the aws fixture's resources, through a stack file as `make local` writes
    it; (exit status, parsed stdout or stderr)."""
    from infra.local.resources import stack_outputs
    from postpurchase.admin.stack import write_local_stack

    stack_file = write_local_stack(tmp_path / "stack.json",
                                   stack_outputs(aws.template, aws.refs, aws.public_base_url),
                                   region="us-east-1", endpoint_url=None)
    saved = dict(os.environ)

    def run(*argv: str):
        from postpurchase.admin.__main__ import main

        out, err = io.StringIO(), io.StringIO()
        status = main(["--local", str(stack_file), *argv], stdout=out, stderr=err, now=lambda: aws.clock.now())
        text = out.getvalue() if status == 0 else err.getvalue()
        return status, json.loads(text)

    yield run
    os.environ.clear()
    os.environ.update(saved)


def _clear_api_caches():
    from postpurchase.storage import merchants

    merchants.clear_caches()  # what 60 s do to the API's key cache


def _order_lookup(aws, api_key, order_id="nope"):
    return aws.client.get(f"/v1/orders/{order_id}", headers=aws.auth(api_key)).status_code


# ----------------------------------------------------------------------------- merchants + keys


def test_create_merchant_shows_a_working_key_once(aws, cli):
    status, created = cli("merchants", "create", "acme-shop", "--name", "Acme", "--from-email", "orders@acme.example",
                          "--support-email", "help@acme.example", "--locale", "tr", "--brand-color", "#112233",
                          "--website", "https://acme.example", "--key-label", "storefront")
    assert status == 0, created
    api_key = created["api_key"]
    assert created["settings"]["default_locale"] == "tr" and created["settings"]["brand_color"] == "#112233"
    assert created["key"]["label"] == "storefront" and created["key"]["status"] == "active"
    assert _order_lookup(aws, api_key) == 404  # authenticated as acme-shop: its order is unknown
    assert not any(api_key in json.dumps(item, default=str) for item in aws.table_items())  # only its hash

    status, shown = cli("merchants", "show", "acme-shop")
    assert status == 0 and api_key not in json.dumps(shown)
    assert [key["key_id"] for key in shown["api_keys"]] == [created["key"]["key_id"]]
    assert shown["storefront_secrets"] == {"shopify": False, "woocommerce": False}


@pytest.mark.parametrize("argv, field", [
    (["demo-store", "--name", "Again", "--from-email", "a@b.example"], "merchant_id"),  # exists: 409
    (["Acme|Shop", "--name", "A", "--from-email", "a@b.example"], "merchant_id"),
    (["acme", "--name", "A", "--from-email", "not-an-email"], "--from-email"),
    (["acme", "--name", "A", "--from-email", "a@b.example", "--brand-color", "red"], "--brand-color"),
    (["acme", "--name", "A", "--from-email", "a@b.example", "--website", "http://acme.example"], "--website"),
    (["acme", "--name", "A", "--from-email", "a@b.example", "--locale", "xx"], "--locale"),
])
def test_create_merchant_refuses(aws, cli, argv, field):
    before = aws.table_items()
    status, error = cli("merchants", "create", *argv)
    assert status == 1 and error["error"]["field"] == field, error
    assert aws.table_items() == before


def test_keys_create_list_revoke(aws, cli):
    merchant = aws.credentials.merchant_id
    status, listed = cli("keys", "list", "--merchant", merchant)
    [seeded] = listed["keys"]  # the seed's key is listed too
    status, created = cli("keys", "create", "--merchant", merchant, "--label", "erp")
    assert status == 0 and _order_lookup(aws, created["api_key"]) == 404
    status, listed = cli("keys", "list", "--merchant", merchant)
    assert [(k["key_id"], k["label"], k["status"]) for k in listed["keys"]] == [
        (seeded["key_id"], "", "active"), (created["key"]["key_id"], "erp", "active")]

    status, revoked = cli("keys", "revoke", "--merchant", merchant, seeded["key_id"])
    assert status == 0 and revoked["revoked"] == "now" and "60 s" in revoked["note"]
    _clear_api_caches()
    assert _order_lookup(aws, aws.credentials.api_key) == 401
    assert _order_lookup(aws, created["api_key"]) == 404
    assert cli("keys", "revoke", "--merchant", merchant, seeded["key_id"])[1]["revoked"] == "already"

    status, refused = cli("keys", "revoke", "--merchant", merchant, created["key"]["key_id"])
    assert status == 1 and refused["error"]["code"] == "not_allowed"  # the last active key
    assert _order_lookup(aws, created["api_key"]) == 404
    status, forced = cli("keys", "revoke", "--merchant", merchant, created["key"]["key_id"], "--force")
    assert status == 0 and forced["key"]["status"] == "revoked"
    _clear_api_caches()
    assert _order_lookup(aws, created["api_key"]) == 401
    assert cli("keys", "revoke", "--merchant", "other", created["key"]["key_id"])[0] == 1  # not theirs: 404


def test_keys_of_an_unknown_merchant(aws, cli):
    status, error = cli("keys", "create", "--merchant", "ghost")
    assert status == 1 and error["error"]["code"] == "not_found" and error["error"]["field"] == "--merchant"


# ----------------------------------------------------------------------------- dead-letter queues


def _dead_letter(aws, order_id: str, merchant: str = "demo-store") -> None:
    from postpurchase.adapters.queues import SqsPublisher

    event = {"type": "OrderCancelled", "event_id": f"api:{order_id}", "merchant_id": merchant, "source": "api",
             "received_at": aws.now.isoformat(), "order_id": order_id, "cancelled_at": aws.now.isoformat()}
    SqsPublisher(aws.refs["OrderEventsDLQ"]).publish(json.dumps(event), kind="OrderCancelled", merchant_id=merchant)


def test_dlq_list_dry_run_and_redrive(aws, cli):
    for order_id in ("D-1", "D-2"):
        _dead_letter(aws, order_id)
    _dead_letter(aws, "D-3", merchant="other-store")

    status, counts = cli("dlq", "list")
    assert counts["queues"]["order-events"]["visible"] == 3 and counts["queues"]["tracking"]["visible"] == 0
    status, listed = cli("dlq", "list", "order-events", "--limit", "2")
    assert len(listed["messages"]) == 2 and listed["depth"]["visible"] == 3
    assert {m["type"] for m in listed["messages"]} == {"OrderCancelled"}
    assert aws.queue_depth("OrderEventsDLQ") == 3 and cli("dlq", "list")[1]["queues"]["order-events"]["visible"] == 3

    status, dry = cli("dlq", "redrive", "order-events", "--dry-run", "--merchant", "demo-store")
    assert dry["would_move"] == 2 and {m["order_id"] for m in dry["messages"]} == {"D-1", "D-2"}
    assert aws.queue_depth("OrderEventsQueue") == 0 and cli("dlq", "list")[1]["queues"]["order-events"]["visible"] == 3

    status, moved = cli("dlq", "redrive", "order-events", "--merchant", "demo-store")
    assert status == 0 and moved["moved"] == 2 and moved["left_for_other_merchants"] == 1
    assert cli("dlq", "list")[1]["queues"]["order-events"]["visible"] == 1  # other-store's, visible again
    bodies = aws._sqs().receive_message(QueueUrl=aws.refs["OrderEventsQueue"], MaxNumberOfMessages=10,
                                        MessageAttributeNames=["All"])["Messages"]
    assert sorted(json.loads(m["Body"])["order_id"] for m in bodies) == ["D-1", "D-2"]
    assert {m["MessageAttributes"]["merchant_id"]["StringValue"] for m in bodies} == {"demo-store"}


# ----------------------------------------------------------------------------- customers


def test_every_item_type_has_an_erasure_decision(aws):
    """A new item type must say what erasing a customer does to it (storage/privacy.py)."""
    import importlib
    import pkgutil

    import postpurchase.storage
    from postpurchase.storage.privacy import ERASE_POLICY
    from postpurchase.storage.table import Record

    # Some record classes live beside their repository (e.g. storage/support_csat.py): import
    # every storage module so the answer does not depend on what earlier tests imported.
    for module in pkgutil.iter_modules(postpurchase.storage.__path__):
        importlib.import_module(f"postpurchase.storage.{module.name}")
    types = set(Record._get_discriminator_attribute()._discriminator_map)
    assert types == set(ERASE_POLICY)


def _two_orders(aws) -> None:
    for order_id in ("P-1", "P-2"):
        assert aws.post_order(aws.api_order(order_id)).status_code == 202
    aws.pump.drain()
    assert len(aws.sent_emails()) == 2


def _mentions(aws, *needles: str) -> list[dict]:
    return [item for item in aws.table_items() if any(n in json.dumps(item, default=str, ensure_ascii=False)
                                                      for n in needles)]


def test_customer_emails_and_export(aws, cli, tmp_path):
    _two_orders(aws)
    status, listed = cli("customers", "emails", "--merchant", "demo-store", "--customer", "c-1")
    assert status == 0 and listed["queries"] == 4  # customer partition + gsi1 + one per order
    assert [(e["order_id"], e["message_key"].split("#")[0], e["state"]) for e in listed["emails"]] == [
        ("P-1", "order_confirmation", "sent"), ("P-2", "order_confirmation", "sent")]

    status, summary = cli("customers", "export", "--merchant", "demo-store", "--customer", "c-1",
                          "--out", str(tmp_path / "export.json"))
    assert status == 0 and summary["order_ids"] == ["P-1", "P-2"]
    exported = json.loads((tmp_path / "export.json").read_text(encoding="utf-8"))
    assert exported["items"]["customer"][0]["email"] == EMAIL
    assert [o["document"]["order_id"] for o in exported["items"]["order"]] == ["P-1", "P-2"]
    assert len(exported["items"]["message"]) == 2 and len(exported["items"]["order_number"]) == 2
    assert exported["item_count"] == summary["item_count"] == sum(len(v) for v in exported["items"].values())


def test_erase_customer_dry_run_then_erase_is_idempotent(aws, cli):
    _two_orders(aws)
    shipped = aws.post_shipment("P-1", {"carrier": "ups", "tracking_number": "SBX-OK-P1"})
    assert shipped.status_code == 201, shipped.body
    aws.pump.drain()
    returned = aws.client.post("/v1/orders/P-1/returns", headers=aws.auth(), body=aws.encode({
        "items": [{"sku": "MUG-1", "quantity": 1}], "reason": "damaged", "resolution": "refund",
        "comment": "Ayşe here: the handle broke"}))
    assert returned.status_code in (200, 201), returned.body
    aws.pump.drain()
    before = aws.table_items()
    status, dry = cli("customers", "erase", "--merchant", "demo-store", "--customer", "c-1")
    assert status == 0 and dry["erased"] is False and dry["would"]["anonymise_order"] == {"order": 2}
    assert aws.table_items() == before

    status, erased = cli("customers", "erase", "--merchant", "demo-store", "--customer", "c-1", "--yes")
    assert status == 0 and erased["orders"] == 2
    assert _mentions(aws, EMAIL, NAME, "İstiklal", "c-1") == []
    [order] = [i for i in aws.items_of_type("order") if i["order_id"] == "P-1"]
    document = json.loads(order["document"])
    assert document["totals"]["total"] == "30.00" and document["items"][0]["sku"] == "MUG-1"
    assert document["shipping_address"] is None and document["customer"]["id"] == "erased"
    assert aws.item("M#demo-store#C#c-1", "PROFILE") is None
    assert {i["recipient_hash"] for i in aws.items_of_type("message")} == {"erased"}
    assert [i for i in aws.items_of_type("message") if "gsi5pk" in i] == []  # out of the console's search
    assert aws.get_order("P-1").status_code == 200  # the merchant keeps the order
    [rma] = aws.items_of_type("return")
    assert rma["status"] and "[erased]" in rma["document"]  # kept, without the customer's words
    assert aws.items_of_type("return_order") and aws.items_of_type("shipment")  # ids only: kept

    after = aws.table_items()
    status, again = cli("customers", "erase", "--merchant", "demo-store", "--customer", "c-1", "--yes")
    assert status == 0 and again["items"] < erased["items"]
    erasure_records = lambda items: [i for i in items if i.get("type") == "privacy_erasure"]  # noqa: E731
    assert [i for i in aws.table_items() if i not in erasure_records(aws.table_items())] == [
        i for i in after if i not in erasure_records(after)]


def test_customer_named_by_nothing(aws, cli):
    status, error = cli("customers", "erase", "--merchant", "demo-store", "--yes")
    assert status == 1 and error["error"]["field"] == "--customer"


# ----------------------------------------------------------------------------- Shopify compliance


def _shopify_customer_order(aws) -> None:
    assert aws.shopify("orders/create", aws.encode(aws.shopify_order()), "wh-order").status_code == 200
    aws.pump.drain()


def test_shopify_customers_redact_erases_through_the_queue(aws):
    _shopify_customer_order(aws)
    body = aws.encode({"shop_id": 1, "shop_domain": "demo-store.myshopify.com",
                       "customer": {"id": 5566778899001122334, "email": EMAIL, "phone": None},
                       "orders_to_redact": [820982911946154508]})
    assert aws.shopify("customers/redact", body, "wh-redact", signature="forged").status_code == 401
    response = aws.shopify("customers/redact", body, "wh-redact")
    assert response.status_code == 200 and response.json_body["events"] == 1
    aws.pump.drain()
    assert aws.queue_depth("OrderEventsDLQ") == 0
    assert _mentions(aws, EMAIL, NAME, "5566778899001122334") == []
    assert [i["order_id"] for i in aws.items_of_type("order")] == ["820982911946154508"]


def test_shopify_data_request_is_recorded_for_the_operator(aws, cli, tmp_path):
    _shopify_customer_order(aws)
    body = aws.encode({"shop_id": 1, "shop_domain": "demo-store.myshopify.com",
                       "customer": {"id": 5566778899001122334, "email": EMAIL},
                       "orders_requested": [820982911946154508], "data_request": {"id": 9999}})
    for delivery in ("wh-dr", "wh-dr-retry"):  # Shopify's retry under a new delivery id
        assert aws.shopify("customers/data_request", body, delivery).status_code == 200
    aws.pump.drain()
    status, listed = cli("customers", "requests", "--merchant", "demo-store")
    [request] = listed["requests"]
    assert request["request_id"] == "9999" and request["status"] == "pending"
    assert request["customer_id"] == "5566778899001122334" and request["order_ids"] == ["820982911946154508"]

    status, summary = cli("customers", "export", "--merchant", "demo-store", "--customer", request["customer_id"],
                          "--email", request["email"], "--request", "9999", "--out", str(tmp_path / "dr.json"))
    assert status == 0 and summary["order_ids"] == ["820982911946154508"]
    assert cli("customers", "requests", "--merchant", "demo-store")[1]["requests"][0]["status"] == "exported"


def test_shopify_shop_redact_erases_every_customer(aws):
    from postpurchase.services import campaign_store

    _shopify_customer_order(aws)
    assert aws.post_order(aws.api_order("P-1")).status_code == 202
    aws.pump.drain()
    assert len(campaign_store().customers_page("demo-store", None, 10)[0]) == 2
    body = aws.encode({"shop_id": 1, "shop_domain": "demo-store.myshopify.com"})
    assert aws.shopify("shop/redact", body, "wh-shop").status_code == 200
    aws.pump.drain()
    assert campaign_store().customers_page("demo-store", None, 10)[0] == []
    assert _mentions(aws, EMAIL, NAME) == []
    assert aws.queue_depth("OrderEventsDLQ") == 0


# ----------------------------------------------------------------------------- Shopify registration


class FakeShopifyAdmin:
    """The GraphQL Admin API's two webhook operations, on 127.0.0.1, recording every request."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.requests: list[dict] = []
        self.subscriptions: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "token": self.headers.get("X-Shopify-Access-Token"),
                                      "body": body})
                if self.headers.get("X-Shopify-Access-Token") != fake.token:
                    return self._answer(401, {"errors": "[API] Invalid API key or access token"})
                if body["query"].lstrip().startswith("query"):
                    # Two per page, so the CLI must follow the cursor.
                    start = int(body["variables"].get("after") or 0)
                    nodes = fake.subscriptions[start:start + 2]
                    more = start + 2 < len(fake.subscriptions)
                    return self._answer(200, {"data": {"webhookSubscriptions": {
                        "nodes": nodes, "pageInfo": {"hasNextPage": more, "endCursor": str(start + 2)}}}})
                variables = body["variables"]
                node = {"id": f"gid://shopify/WebhookSubscription/{len(fake.subscriptions) + 1}",
                        "topic": variables["topic"], "uri": variables["subscription"]["uri"]}
                fake.subscriptions.append(node)
                return self._answer(200, {"data": {"webhookSubscriptionCreate": {"webhookSubscription": node,
                                                                                 "userErrors": []}}})

            def _answer(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_shopify_register_is_idempotent(aws, cli):
    from postpurchase.admin.shopify import registered_topics

    with FakeShopifyAdmin("shpat_test") as shop:
        shop.subscriptions.append({"id": "gid://shopify/WebhookSubscription/0", "topic": "APP_UNINSTALLED",
                                   "uri": "https://elsewhere.example/hook"})
        argv = ("shopify", "register", "--merchant", "demo-store", "--shop", "demo-store.myshopify.com",
                "--token", "shpat_test", "--admin-base-url", shop.url, "--webhook-base-url", "https://api.test/api")
        status, first = cli(*argv)
        assert status == 0, first
        url = "https://api.test/api/webhooks/shopify/demo-store"
        assert first["webhook_url"] == url and first["created"] == registered_topics()
        assert "orders/create" in first["created"] and "returns/reopen" not in first["created"]
        assert first["compliance_topics"]["topics"] == ["customers/data_request", "customers/redact", "shop/redact"]
        assert {r["path"] for r in shop.requests} == {"/admin/api/2025-10/graphql.json"}
        assert {r["token"] for r in shop.requests} == {"shpat_test"}
        created = [r["body"]["variables"] for r in shop.requests if "topic" in r["body"]["variables"]]
        assert {(v["topic"], v["subscription"]["uri"]) for v in created} == {
            (t.upper().replace("/", "_"), url) for t in registered_topics()}

        requests_before = len(shop.requests)
        status, second = cli(*argv)
        assert status == 0 and second["created"] == [] and second["already_registered"] == registered_topics()
        assert all("topic" not in r["body"]["variables"] for r in shop.requests[requests_before:])

        status, refused = cli(*argv[:-4], "--token", "wrong", "--admin-base-url", shop.url)
        assert status == 1 and refused["error"]["code"] == "shopify_admin_error"
        assert refused["error"]["field"] == "--token"


def test_shopify_register_checks_the_shop_domain(aws, cli):
    status, error = cli("shopify", "register", "--merchant", "demo-store", "--shop", "evil.example", "--token", "t")
    assert status == 1 and error["error"]["field"] == "--shop"


# ----------------------------------------------------------------------------- --stack


def test_stack_outputs_from_cloudformation(aws, cli, monkeypatch):
    import boto3

    from infra.local.resources import stack_outputs

    outputs = stack_outputs(aws.template, aws.refs, aws.public_base_url)
    template = {"Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "marker"}}},
                "Outputs": {name: {"Value": value} for name, value in outputs.items()}}
    boto3.client("cloudformation", region_name="us-east-1").create_stack(StackName="pp",
                                                                          TemplateBody=json.dumps(template))
    from postpurchase.admin.__main__ import main

    out = io.StringIO()
    assert main(["--stack", "pp", "--region", "us-east-1", "merchants", "show", "demo-store"], stdout=out) == 0
    assert json.loads(out.getvalue())["settings"]["name"] == "Demo Store"
    err = io.StringIO()
    assert main(["--stack", "missing", "--region", "us-east-1", "dlq", "list"], stderr=err) == 2
    assert "cannot read stack missing" in json.loads(err.getvalue())["error"]["message"]


# ----------------------------------------------------------------------------- webhook secrets


def _shopify_status(aws, secret: str, number: int) -> int:
    _clear_api_caches()  # the minute the API's merchant cache lasts
    body = aws.encode(aws.shopify_order(id=9000 + number))
    return aws.shopify("orders/create", body, f"wh-rot-{number}", secret=secret).status_code


def _easypost_status(aws, secret: str) -> int:
    from postpurchase.tracking.carriers.easypost import sign

    _clear_api_caches()
    body = json.dumps({"object": "Event", "description": "batch.created", "result": {}}).encode()
    return aws.client.post(f"/webhooks/easypost/{aws.credentials.merchant_id}", body=body,
                           headers={"Content-Type": "application/json", "X-Hmac-Signature": sign(body, secret)}
                           ).status_code


def _stored_secret(merchant_id: str) -> dict:
    import boto3

    name = f"{os.environ['MERCHANT_SECRETS_PREFIX']}{merchant_id}"
    return json.loads(boto3.client("secretsmanager", region_name="us-east-1")
                      .get_secret_value(SecretId=name)["SecretString"])


def test_a_rotation_with_an_overlap_accepts_both_secrets_until_it_ends(aws, cli, monkeypatch):
    from datetime import timedelta

    old = aws.credentials.shopify_secret
    merchant = aws.credentials.merchant_id
    assert _shopify_status(aws, old, 1) == 200
    monkeypatch.setenv("NEW_SHOPIFY_SECRET", "shpss_rotated-value")
    status, rotated = cli("secrets", "rotate", "--merchant", merchant, "shopify",
                          "--value-env", "NEW_SHOPIFY_SECRET", "--overlap-hours", "24")
    assert status == 0, rotated
    assert old not in json.dumps(rotated) and "shpss_rotated-value" not in json.dumps(rotated)
    assert rotated["secrets"]["shopify"]["previous"]["accepted_now"] is True
    stored = _stored_secret(merchant)
    assert stored["shopify_secret"] == "shpss_rotated-value" and stored["previous"]["shopify_secret"]["value"] == old
    assert not any(old in repr(item) or "shpss_rotated" in repr(item) for item in aws.table_items())

    assert _shopify_status(aws, "shpss_rotated-value", 2) == 200
    assert _shopify_status(aws, old, 3) == 200  # the storefront has not switched yet
    assert _shopify_status(aws, "never-the-secret", 4) == 401

    aws.clock.advance(timedelta(hours=24, seconds=1))
    assert _shopify_status(aws, old, 5) == 401
    assert _shopify_status(aws, "shpss_rotated-value", 6) == 200
    status, shown = cli("secrets", "show", "--merchant", merchant)
    assert status == 0 and shown["secrets"]["shopify"]["previous"]["accepted_now"] is False
    assert shown["secrets"]["woocommerce"]["set"] is True and old not in json.dumps(shown)


def test_a_carrier_secret_rotated_without_expiry_is_accepted_until_retired(aws, cli):
    from datetime import timedelta

    old = aws.credentials.easypost_secret
    merchant = aws.credentials.merchant_id
    assert _easypost_status(aws, old) == 200
    status, rotated = cli("secrets", "rotate", "--merchant", merchant, "easypost", "--generate")
    assert status == 0, rotated
    new = rotated["value"]  # generated, shown this once
    assert new.startswith("whsec_") and rotated["secrets"]["easypost"]["previous"]["until"] == "retired by hand"

    aws.clock.advance(timedelta(days=30))
    assert _easypost_status(aws, old) == 200 and _easypost_status(aws, new) == 200
    status, retired = cli("secrets", "retire", "--merchant", merchant, "easypost")
    assert status == 0 and retired["retired"] == "easypost" and retired["secrets"]["easypost"]["previous"] is None
    assert _easypost_status(aws, old) == 401 and _easypost_status(aws, new) == 200
    assert "previous" not in _stored_secret(merchant)
    status, again = cli("secrets", "retire", "--merchant", merchant, "easypost")
    assert status == 0 and again["retired"] == "already"


def test_set_replaces_at_once_and_bad_input_is_refused(aws, cli, monkeypatch):
    old = aws.credentials.shopify_secret
    merchant = aws.credentials.merchant_id
    monkeypatch.setenv("NEW_SECRET", "replaced-outright")
    status, answer = cli("secrets", "set", "--merchant", merchant, "shopify", "--value-env", "NEW_SECRET")
    assert status == 0 and "value" not in answer and answer["secrets"]["shopify"]["previous"] is None
    assert _shopify_status(aws, old, 11) == 401 and _shopify_status(aws, "replaced-outright", 12) == 200

    monkeypatch.setenv("EMPTY", "  ")
    assert cli("secrets", "set", "--merchant", merchant, "shopify", "--value-env", "EMPTY")[0] == 1
    status, error = cli("secrets", "rotate", "--merchant", merchant, "shopify", "--generate", "--overlap-hours", "0")
    assert status == 1 and error["error"]["field"] == "--overlap-hours"
    status, error = cli("secrets", "show", "--merchant", "no-such-shop")
    assert status == 1 and error["error"]["field"] == "--merchant"


# --- attention backfill --------------------------------------------------------------------------


def test_attention_backfill_indexes_older_shipments_once_and_yields_to_the_worker(aws, cli):
    from postpurchase.storage import tracking as storage
    from postpurchase.storage.table import ShipmentRecord
    from postpurchase.tracking.model import TrackingStatus

    from tests.integration.test_console import _save, _tracked

    now = aws.clock.now()
    fine, broken, stalled = (_tracked(aws, order, f"SBX-OK-{order}") for order in ("3001", "3002", "3003"))
    _save(aws, "3001", fine.shipment.shipment_id, status=TrackingStatus.IN_TRANSIT, last_event_at=now,
          status_changed_at=now)
    _save(aws, "3002", broken.shipment.shipment_id, status=TrackingStatus.EXCEPTION, status_changed_at=now)
    _save(aws, "3003", stalled.shipment.shipment_id, status=TrackingStatus.IN_TRANSIT,
          last_event_at=now - timedelta(days=10), status_changed_at=now - timedelta(days=10))
    # as saved before the list existed: no attention keys; the fine one wrongly still listed
    records = {record.order_id: record for record in ShipmentRecord.scan()}
    records["3002"].update(actions=[ShipmentRecord.gsi1pk.remove(), ShipmentRecord.gsi1sk.remove()])
    records["3003"].update(actions=[ShipmentRecord.gsi1pk.remove(), ShipmentRecord.gsi1sk.remove()])
    records["3001"].update(actions=[ShipmentRecord.gsi1pk.set("M#demo-store#ATTN"),
                                    ShipmentRecord.gsi1sk.set("2020-01-01T00:00:00.000000Z#3001#x")])
    assert [t.order_id for t in storage.attention_page("demo-store").shipments] == ["3001"]

    status, dry = cli("attention", "backfill", "--merchant", "demo-store", "--dry-run")
    assert status == 0, dry
    assert (dry["scanned"], dry["would_be_set"], dry["would_be_removed"]) == (3, 2, 1)
    assert (dry["reason_exception"], dry["reason_stalled"]) == (1, 1)
    assert [t.order_id for t in storage.attention_page("demo-store").shipments] == ["3001"]  # nothing written

    status, done = cli("attention", "backfill", "--merchant", "demo-store")
    assert status == 0 and (done["set"], done["removed"]) == (2, 1), done
    listed = storage.attention_page("demo-store").shipments
    assert sorted(t.order_id for t in listed) == ["3002", "3003"]

    status, again = cli("attention", "backfill")  # every merchant; idempotent
    assert status == 0 and again["unchanged"] == 3 and "set" not in again and "removed" not in again, again
    assert cli("attention", "backfill", "--merchant", "someone-else")[1]["dry_run"] is False


def test_attention_backfill_loses_to_a_concurrent_worker_save(aws, monkeypatch):
    from postpurchase.admin import attention
    from postpurchase.storage import tracking as storage
    from postpurchase.storage.table import ShipmentRecord
    from postpurchase.tracking.model import TrackingStatus

    from tests.integration.test_console import _save, _tracked

    now = aws.clock.now()
    tracked = _tracked(aws, "3101", "SBX-OK-3101")
    _save(aws, "3101", tracked.shipment.shipment_id, status=TrackingStatus.EXCEPTION, status_changed_at=now)
    (record,) = list(ShipmentRecord.scan())
    record.update(actions=[ShipmentRecord.gsi1pk.remove(), ShipmentRecord.gsi1sk.remove()])

    real_scan = ShipmentRecord.scan

    def scan_then_worker_recovers(*args, **kwargs):
        for item in real_scan(*args, **kwargs):
            # the worker saves a recovery between the backfill's read and its write
            _save(aws, "3101", tracked.shipment.shipment_id, status=TrackingStatus.IN_TRANSIT,
                  last_event_at=now, status_changed_at=now)
            yield item

    monkeypatch.setattr(ShipmentRecord, "scan", scan_then_worker_recovers)
    result = attention.backfill("demo-store", now)
    assert result["changed_meanwhile"] == 1 and "set" not in result, result
    assert storage.attention_page("demo-store").shipments == []
