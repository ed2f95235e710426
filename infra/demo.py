"""`make demo`: a scripted day-in-the-life on simulated time, against the local runtime.

Customers in several languages place first and repeat orders through the API, Shopify and
WooCommerce; storefront retries, an SQS redelivery and a poison message show that each
customer gets exactly one confirmation per order and nothing is lost. The run checks its
own expectations and exits non-zero if any fails.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from infra.local.runtime import REPO_ROOT, LocalRuntime, free_port
from infra.sample_events import easypost_update_now

STOREFRONTS = REPO_ROOT / "events" / "storefronts"
START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)

CUSTOMERS = {
    "ayse": {"id": "c-ayse", "email": "ayse.yilmaz@example.com", "first_name": "Ayşe", "last_name": "Yılmaz",
             "locale": "tr-TR", "timezone": "Europe/Istanbul",
             "address": {"address1": "İstiklal Caddesi 12", "city": "İstanbul", "zip": "34433",
                         "country_code": "TR"}},
    "budi": {"id": "c-budi", "email": "budi.santoso@example.co.id", "first_name": "Budi", "last_name": "Santoso",
             "locale": "id-ID", "timezone": "Asia/Jakarta",
             "address": {"address1": "Jl. Sudirman No. 5", "city": "Jakarta", "zip": "10220",
                         "country_code": "ID"}},
    "dmitri": {"id": "c-dmitri", "email": "dmitri.ivanov@example.ru", "first_name": "Дмитрий",
               "last_name": "Иванов", "locale": "ru-RU", "timezone": "Europe/Moscow",
               "address": {"address1": "ул. Тверская, 7", "city": "Москва", "zip": "125009",
                           "country_code": "RU"}},
}
SOMCHAI = {"id": 7038592001122334455, "email": "somchai.s@example.co.th", "first_name": "สมชาย",
           "last_name": "ใจดี", "tags": ""}
PRODUCTS = {"MUG-1": ("Ceramic mug", "12.50", "home"), "TEE-2": ("Organic T-shirt", "24.00", "apparel"),
            "LAMP-3": ("Desk lamp", "49.90", "home")}


def api_order(order_id: str, who: str, placed_at: datetime, lines: dict[str, int], currency: str = "USD") -> dict:
    customer = CUSTOMERS[who]
    items = [{"sku": sku, "title": PRODUCTS[sku][0], "quantity": qty, "price": PRODUCTS[sku][1],
              "category": PRODUCTS[sku][2]} for sku, qty in lines.items()]
    subtotal = sum(float(PRODUCTS[sku][1]) * qty for sku, qty in lines.items())
    return {
        "order_id": order_id, "placed_at": placed_at.isoformat().replace("+00:00", "Z"), "currency": currency,
        "email": customer["email"],
        "customer": {k: customer[k] for k in ("id", "email", "first_name", "last_name", "locale", "timezone")},
        "items": items,
        "shipping_address": dict(customer["address"], name=f"{customer['first_name']} {customer['last_name']}"),
        "totals": {"subtotal": f"{subtotal:.2f}", "shipping": "5.00", "tax": "0.00", "total": f"{subtotal + 5:.2f}"},
    }


@dataclass
class Demo:
    runtime: LocalRuntime
    base_url: str
    clock: object
    checks: list[tuple[str, bool]] = field(default_factory=list)

    def http(self, method: str, path: str, body: bytes | dict | None = None,
             headers: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def merchant(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        return self.http(method, path, body, {"Authorization": f"Bearer {self.runtime.credentials.api_key}"})

    def check(self, label: str, ok: bool) -> None:
        self.checks.append((label, ok))
        print(f"  [{'ok' if ok else 'FAILED'}] {label}")

    def settle(self) -> list:
        emails = self.runtime.settle()
        for email in emails:
            print(f"    email -> {email.recipient}: {email.subject}")
        return emails

    def step(self, title: str, advance: timedelta = timedelta(0)) -> None:
        self.clock.advance(advance)
        print(f"\n{self.clock.now():%a %d %b %H:%M} UTC  {title}")

    def shopify(self, topic: str, payload: bytes, webhook_id: str, secret: str | None = None) -> tuple[int, dict]:
        secret = secret or self.runtime.credentials.shopify_secret
        signature = base64.b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()).decode()
        return self.http("POST", f"/webhooks/shopify/{self.runtime.credentials.merchant_id}", payload, {
            "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": signature, "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Shop-Domain": self.runtime.credentials.shopify_shop_domain})

    def woocommerce(self, topic: str, payload: bytes, delivery_id: str) -> tuple[int, dict]:
        secret = self.runtime.credentials.woocommerce_secret
        signature = base64.b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()).decode()
        return self.http("POST", f"/webhooks/woocommerce/{self.runtime.credentials.merchant_id}", payload, {
            "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Signature": signature,
            "X-WC-Webhook-Delivery-ID": delivery_id, "X-WC-Webhook-Source": "https://shop.example/"})


def storefront_payload(path: str, **fields: object) -> bytes:
    """A recorded storefront payload with some fields replaced (dates moved onto the demo's day)."""
    payload = json.loads((STOREFRONTS / path).read_text(encoding="utf-8"))
    for name, value in fields.items():
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%dT%H:%M:%S") if name.endswith("_gmt") else value.isoformat()
        payload[name] = value
    return json.dumps(payload, ensure_ascii=False).encode()


RETURN_POLICY = {  # demo-store's policy: clothing is checked by hand, the rest approved at once
    "default_rule": {"window_days": 30, "resolutions": ["refund", "store_credit", "exchange"], "auto_approve": True},
    "categories": {"apparel": {"window_days": 30, "resolutions": ["refund", "store_credit", "exchange"],
                               "auto_approve": False}},
    "final_sale_categories": ["clearance"],
    "non_returnable_categories": ["gift_card"],
    "logistics": {"drop_off_options": ["carrier_drop_off", "in_store"], "label_provided": True,
                  "processing_days": 3, "refund_days": 7},
    "conditions": ["unworn_with_tags", "proof_of_purchase"],
}


def run(demo: Demo) -> None:
    rt = demo.runtime
    sqs = __import__("boto3").client("sqs", region_name="us-east-1")

    demo.step("The merchant publishes the return policy (orders placed from now on are judged by it)")
    status, policy = demo.merchant("PUT", "/v1/returns/policy", RETURN_POLICY)
    demo.check("PUT /v1/returns/policy stores version 1", status == 200 and policy.get("version") == 1)

    demo.step("Ayşe places her first order (custom storefront API)")
    status, body = demo.merchant("POST", "/v1/orders", api_order("A-1001", "ayse", demo.clock.now(), {"MUG-1": 2}))
    demo.check("POST /v1/orders answers 202", status == 202 and body.get("order_id") == "A-1001")
    demo.step("The storefront retries the same request (network timeout on its side)", timedelta(seconds=5))
    status, _ = demo.merchant("POST", "/v1/orders", api_order("A-1001", "ayse", START, {"MUG-1": 2}))
    demo.check("the retry is accepted idempotently (202)", status == 202)
    emails = demo.settle()
    # The welcome variant names the shop in its subject, in every language; the plain one does not.
    demo.check("Ayşe gets exactly one confirmation, the warm welcome, in Turkish",
               len(emails) == 1 and "Demo Store" in emails[0].subject and "sipariş" in emails[0].subject)

    demo.step("A buggy storefront reuses order id A-1001 for different content", timedelta(minutes=1))
    status, body = demo.merchant("POST", "/v1/orders", api_order("A-1001", "ayse", START, {"LAMP-3": 1}))
    demo.check("a conflicting reuse of an order id is refused with 409", status == 409)

    demo.step("Dmitri's storefront sends a malformed order, then fixes it", timedelta(minutes=20))
    broken = api_order("A-1002", "dmitri", demo.clock.now(), {"TEE-2": 1})
    broken["items"][0]["quantity"] = "one"
    status, body = demo.merchant("POST", "/v1/orders", broken)
    demo.check("bad input answers 400 naming the field",
               status == 400 and body.get("error", {}).get("field") == "items[0].quantity")
    status, _ = demo.merchant("POST", "/v1/orders", api_order("A-1002", "dmitri", demo.clock.now(), {"TEE-2": 1},
                                                              currency="EUR"))
    emails = demo.settle()
    demo.check("Dmitri gets his welcome confirmation", status == 202 and len(emails) == 1)

    demo.step("A Shopify order arrives by webhook, twice (Shopify retries), then orders/paid", timedelta(hours=1))
    payload = storefront_payload("shopify/orders_create.json", created_at=demo.clock.now(),
                                 customer=SOMCHAI, email=SOMCHAI["email"], customer_locale="th-TH")
    first, _ = demo.shopify("orders/create", payload, "wh-create-1")
    again, _ = demo.shopify("orders/create", payload, "wh-create-1")
    # orders/paid carries the same order object under a new webhook id.
    paid, _ = demo.shopify("orders/paid", payload, "wh-paid-1")
    forged, _ = demo.shopify("orders/create", payload, "wh-forged", secret="not-the-secret")
    demo.check("signed webhooks answer 200; the forged one 401", (first, again, paid, forged) == (200, 200, 200, 401))
    emails = demo.settle()
    demo.check("one confirmation for the Shopify order despite three deliveries", len(emails) == 1)

    demo.step("WooCommerce pings a new webhook, then sends an order", timedelta(hours=2))
    ping, _ = demo.http("POST", f"/webhooks/woocommerce/{rt.credentials.merchant_id}", b"webhook_id=17",
                        {"Content-Type": "application/x-www-form-urlencoded"})
    created, _ = demo.woocommerce("order.created", storefront_payload("woocommerce/order_created.json",
                                                                     date_created_gmt=demo.clock.now()),
                                  "dl-1")
    emails = demo.settle()
    demo.check("WooCommerce ping 200, order accepted and confirmed",
               ping == 200 and created == 200 and len(emails) == 1)

    demo.step("SQS delivers a confirmation request a second time", timedelta(minutes=5))
    from postpurchase.messaging.confirmation import confirmation_request
    from postpurchase.services import order_store
    from postpurchase.storage.orders import RecordedOrder

    view = order_store().order_view(rt.credentials.merchant_id, "A-1001")
    recorded = RecordedOrder(rt.credentials.merchant_id, view.order, view.order.customer.customer_id(),
                             view.is_first_order, newly_recorded=False)
    duplicate = confirmation_request(recorded, f"{demo.base_url}/pages/demo", demo.clock.now())
    sqs.send_message(QueueUrl=rt.names["OutboundEmailQueue"], MessageBody=duplicate.model_dump_json())
    emails = demo.settle()
    demo.check("the redelivered request sends nothing (send ledger)", len(emails) == 0)

    demo.step("A poison message lands on the order-events queue beside a good order", timedelta(minutes=5))
    sqs.send_message(QueueUrl=rt.names["OrderEventsQueue"], MessageBody='{"type": "OrderPlaced", "garbage": true}')
    status, _ = demo.merchant("POST", "/v1/orders", api_order("A-1003", "budi", demo.clock.now(), {"TEE-2": 3}))
    emails = demo.settle()
    dlq = rt.queue_depth("OrderEventsDLQ")
    demo.check("the good order is confirmed and the poison message waits in the DLQ",
               status == 202 and len(emails) == 1 and dlq == 1)

    demo.step("Two days later Ayşe orders again; the merchant ships her first order", timedelta(days=2))
    status, _ = demo.merchant("POST", "/v1/orders", api_order("A-1004", "ayse", demo.clock.now(), {"TEE-2": 1}))
    shipped, _ = demo.merchant("POST", "/v1/orders/A-1001/shipments",
                               json.loads((STOREFRONTS / "api" / "shipment.json").read_text()))
    confirmations = [e for e in demo.settle() if "order_confirmation#" in e.message_key]
    demo.check("her repeat order gets the plain confirmation",
               len(confirmations) == 1 and "Demo Store" not in confirmations[0].subject)
    status, order = demo.merchant("GET", "/v1/orders/A-1001")
    demo.check("GET /v1/orders/A-1001 shows the shipment and the sent confirmation",
               status == 200 and shipped == 201 and len(order.get("shipments", [])) == 1
               and order["notifications"][0]["state"] == "sent")


PARCELS = {  # order -> (carrier, sandbox tracking number: the prefix picks the parcel's story)
    "A-1002": ("dhl", "SBX-DELAY-DMITRI1"),
    "A-1003": ("fedex", "SBX-FAIL-BUDI1"),
    "A-1004": ("ups", "SBX-OK-AYSE2"),
    "727": ("aramex", "SBX-RTS-FATIMA1"),
}


def ship_and_track(demo: Demo) -> None:
    rt = demo.runtime
    demo.step("The merchant ships four orders; the Shopify order ships by fulfilment webhook", timedelta(hours=2))
    for order_id, (carrier, code) in PARCELS.items():
        status, _ = demo.merchant("POST", f"/v1/orders/{order_id}/shipments",
                                  {"carrier": carrier, "tracking_number": code})
        demo.check(f"shipment {code} for order {order_id} accepted", status == 201)
    fulfilment = json.loads((STOREFRONTS / "shopify" / "fulfillments_create.json").read_text(encoding="utf-8"))
    fulfilment.update(tracking_number="SBX-PICKUP-SOMCHAI1", tracking_numbers=["SBX-PICKUP-SOMCHAI1"],
                      tracking_company="Kerry Express", created_at=demo.clock.now().isoformat())
    status, _ = demo.shopify("fulfillments/create", json.dumps(fulfilment).encode(), "wh-fulfil-1")
    demo.check("Shopify fulfilment webhook accepted", status == 200)
    demo.settle()

    demo.step("A week passes: the poller sweeps every 2 hours, parcels move, customers hear about it")
    for _ in range(7 * 12):
        demo.clock.advance(timedelta(hours=2))
        rt.tick()
        for email in rt.settle():
            print(f"    {demo.clock.now():%a %d %b %H:%M}  email -> {email.recipient}: {email.subject}")

    notices = {email.message_key.split("/", 1)[1].split("#")[0] for email in rt.outbox.emails}
    for kind in ("shipment_shipped", "shipment_delivered", "shipment_delayed", "shipment_attempt_failed",
                 "shipment_ready_for_pickup", "shipment_returned_to_sender"):
        demo.check(f"a {kind.removeprefix('shipment_').replace('_', ' ')} notice was sent", kind in notices)
    status, tracking = demo.merchant("GET", "/v1/orders/A-1002/tracking")
    parcel = tracking["shipments"][0] if status == 200 and tracking.get("shipments") else {}
    print(f"\n    Dmitri's parcel {parcel.get('tracking_number')}: {parcel.get('status')}")
    for event in parcel.get("timeline", []):
        print(f"      {event['time'][:16]}  {event['status']:<18} {event['place'] or '':<26} {event['description']}")
    demo.check("Dmitri's timeline is complete and delivered",
               parcel.get("status") == "delivered" and len(parcel.get("timeline", [])) >= 6)

    demo.step("EasyPost reports a parcel by webhook (signed with the development secret)", timedelta(hours=1))
    status, _ = demo.merchant("POST", "/v1/orders/A-1003/shipments",
                              {"carrier": "usps", "tracking_number": "SBX-EXPIRE-EP1"})
    demo.settle()
    body = easypost_update_now("SBX-EXPIRE-EP1", demo.clock.now())
    secret = rt.credentials.easypost_secret
    signature = "hmac-sha256-hex=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    webhook = f"/webhooks/easypost/{rt.credentials.merchant_id}"
    forged, _ = demo.http("POST", webhook, body, {"X-Hmac-Signature": "hmac-sha256-hex=" + "0" * 64})
    accepted, _ = demo.http("POST", webhook, body, {"X-Hmac-Signature": signature})
    again, _ = demo.http("POST", webhook, body, {"X-Hmac-Signature": signature})  # EasyPost retries
    rt.settle()
    status, tracking = demo.merchant("GET", "/v1/orders/A-1003/tracking")
    by_code = {p["tracking_number"]: p for p in tracking.get("shipments", [])}
    demo.check("signed EasyPost webhooks 200 (twice), the forged one 401; the parcel is delivered",
               (forged, accepted, again) == (401, 200, 200)
               and by_code.get("SBX-EXPIRE-EP1", {}).get("status") == "delivered")


def returns(demo: Demo) -> None:
    from postpurchase.returns.handoff import verify_signature

    from infra.local.merchant_endpoint import MerchantEndpoint

    rt = demo.runtime
    merchant_id = rt.credentials.merchant_id
    endpoint = MerchantEndpoint()
    demo.step("The merchant points resolved returns at their payment system's webhook")
    status, hook = demo.merchant("PUT", "/v1/settings/webhooks", {"returns_url": endpoint.start()})
    demo.check("PUT /v1/settings/webhooks answers the signing secret", status == 200 and hook.get("secret"))

    demo.step("Dmitri's T-shirt doesn't fit: he finds his order by number and email", timedelta(hours=3))
    wrong, miss = demo.http("POST", "/v1/order-access", {"merchant": merchant_id, "order_number": "A-1002",
                                                         "email": "someone.else@example.ru"})
    unknown, other = demo.http("POST", "/v1/order-access", {"merchant": merchant_id, "order_number": "A-9999",
                                                            "email": CUSTOMERS["dmitri"]["email"]})
    status, access = demo.http("POST", "/v1/order-access", {"merchant": merchant_id, "order_number": "#a-1002",
                                                            "email": CUSTOMERS["dmitri"]["email"].upper()})
    demo.check("a wrong email and an unknown number get the same 404; the right pair a token",
               wrong == unknown == 404 and miss == other and status == 200 and access.get("token"))
    as_dmitri = {"X-Order-Token": access.get("token", "")}
    query = f"?merchant={merchant_id}"
    status, eligible = demo.http("GET", f"/v1/orders/A-1002/returns{query}", headers=as_dmitri)
    item = (eligible.get("items") or [{}])[0]
    print(f"    TEE-2: returnable={item.get('returnable')} until {item.get('last_day')}")
    request = {"items": [{"sku": "TEE-2", "quantity": 1}], "reason": "doesnt_fit", "comment": "Too small",
               "resolution": "refund"}
    status, rma = demo.http("POST", f"/v1/orders/A-1002/returns{query}", request,
                            {**as_dmitri, "Idempotency-Key": "dmitri-return-1"})
    again, same = demo.http("POST", f"/v1/orders/A-1002/returns{query}", request,
                            {**as_dmitri, "Idempotency-Key": "dmitri-return-1"})
    demo.check("the return is accepted for review (201, clothing is checked by hand); the retry gets the same "
               "RMA (200)", status == 201 and rma.get("status") == "requested" and again == 200
               and same.get("rma_id") == rma.get("rma_id"))
    double, refused = demo.http("POST", f"/v1/orders/A-1002/returns{query}", request, as_dmitri)
    foreign, _ = demo.http("GET", f"/v1/orders/A-1003/returns{query}", headers=as_dmitri)
    demo.check("a second return of the same unit is refused (409); his token opens no other order (401)",
               double == 409 and refused["error"].get("reason") == "already_returned" and foreign == 401)
    emails = demo.settle()
    demo.check("Dmitri gets 'we received your return request', in Russian",
               [e.message_key.split("/", 1)[1].split("#")[0] for e in emails] == ["return_requested"])

    rma_id = rma.get("rma_id")
    steps = f"/v1/orders/A-1002/returns/{rma_id}/transitions"
    demo.step("The merchant approves and issues a prepaid label; the carrier brings the parcel back",
              timedelta(hours=2))
    approved, _ = demo.merchant("POST", steps, {"action": "approve"})
    labelled, _ = demo.merchant("POST", steps, {"action": "issue_label", "carrier": "dhl",
                                                "tracking_number": "SBX-OK-RETURN-DMITRI",
                                                "label_url": "https://labels.example/SBX-OK-RETURN-DMITRI.pdf"})
    emails = demo.settle()
    for _ in range(5 * 12):  # the return parcel is tracked like any other: polled, scanned, delivered
        demo.clock.advance(timedelta(hours=2))
        rt.tick()
        for email in rt.settle():
            print(f"    {demo.clock.now():%a %d %b %H:%M}  email -> {email.recipient}: {email.subject}")
            emails.append(email)
    status, current = demo.merchant("GET", f"/v1/orders/A-1002/returns/{rma_id}")
    by_carrier = [step["to_status"] for step in current.get("history", []) if step["actor"]["kind"] == "carrier"]
    demo.check("the carrier's scans moved the RMA: in transit, then received (actor carrier)",
               by_carrier == ["in_transit", "received"])
    received = 200 if current.get("status") == "received" else status
    inspected, _ = demo.merchant("POST", steps, {"action": "inspect",
                                                 "lines": [{"sku": "TEE-2", "accepted_quantity": 1}]})
    too_much, over = demo.merchant("POST", steps, {"action": "resolve",
                                                   "resolution": {"kind": "refund", "amount": "99.00"}})
    endpoint.fail_next(1)  # the payment system is briefly down: the queue retries the webhook
    status, resolved = demo.merchant("POST", steps, {"action": "resolve",
                                                     "resolution": {"kind": "refund", "amount": "24.00"}})
    emails += demo.settle()
    kinds = [e.message_key.split("/", 1)[1].split("#")[0] for e in emails
             if e.message_key.split("/", 1)[1].startswith("return_")]
    demo.check("label, receipt and refund each reach Dmitri once (approved, received, refunded)",
               (approved, labelled, received, inspected) == (200, 200, 200, 200) and kinds == ["return_approved", "return_received",
                                                                                  "return_refunded"])
    demo.check("a refund above what the item is worth is refused (400 naming the field)",
               too_much == 400 and over["error"].get("field") == "resolution.amount")
    history = " -> ".join(f"{step['to_status']} ({step['actor']['kind']})" for step in resolved.get("history", []))
    print(f"    {rma_id}: {history}")
    print(f"    merchant endpoint answered: {[d.status for d in endpoint.deliveries]}")
    good = [d for d in endpoint.deliveries if d.status == 200]
    verified = bool(good) and verify_signature(hook["secret"], good[0].headers.get("x-postpurchase-signature"),
                                               good[0].body, demo.clock.now())
    demo.check("the merchant's webhook got ReturnResolved (after one 503 and a retry), signature verified",
               status == 200 and [d.status for d in endpoint.deliveries] == [503, 200] and verified
               and good[0].json.get("amount") == "24.00" and good[0].json.get("currency") == "EUR")
    events = rt.bus_events()
    demo.check("ReturnResolved was published on the EventBridge bus once",
               [e.get("detail-type") for e in events] == ["ReturnResolved"]
               and events[0]["detail"]["rma_id"] == rma_id)

    demo.step("Budi returns one of three T-shirts; the merchant rejects it", timedelta(hours=1))
    status, budi = demo.merchant("POST", "/v1/orders/A-1003/returns",
                                 {"items": [{"sku": "TEE-2", "quantity": 1}], "reason": "changed_mind",
                                  "resolution": "store_credit"})
    rejected, _ = demo.merchant("POST", f"/v1/orders/A-1003/returns/{budi.get('rma_id')}/transitions",
                                {"action": "reject", "reason": "The T-shirt was worn and washed."})
    emails = demo.settle()
    # Both notices are handled after the rejection: the receipt is moot, only the rejection is sent.
    demo.check("the rejection reaches Budi, with the reason, in Indonesian",
               (status, rejected) == (201, 200)
               and [e.message_key.split("/", 1)[1].split("#")[0] for e in emails] == ["return_rejected"])

    demo.step("Six weeks later Ayşe asks to return her mugs, from the link in her email", timedelta(days=42))
    confirmation = next(e for e in rt.outbox.emails if e.message_key.endswith("order_confirmation#A-1001"))
    link = re.search(r"token=([\w.\-]+)", confirmation.html_path.read_text(encoding="utf-8"))
    status, late = demo.http("POST", f"/v1/orders/A-1001/returns?merchant={merchant_id}&token={link.group(1)}",
                             {"items": [{"sku": "MUG-1", "quantity": 2}], "reason": "changed_mind",
                              "resolution": "refund"})
    error = late.get("error", {})
    print(f"    {status}: {error.get('message')} (last day {error.get('last_day')})")
    demo.check("outside the return window: refused with 422, reason window_closed and the last day",
               status == 422 and error.get("reason") == "window_closed" and error.get("last_day"))
    endpoint.stop()


CUSTOMER_ORDERS = {"A-1001": "Ayşe (tr)", "A-1002": "Dmitri (ru)", "A-1003": "Budi (id)", "A-1004": "Ayşe (tr)",
                   "727": "Fatima (WooCommerce)", "820982911946154508": "Somchai (th, Shopify)"}
LOCAL_URL = os.environ.get("LOCAL_URL", "http://127.0.0.1:3000")


def order_page_links(demo: Demo, base_url: str) -> dict[str, str]:
    """Each demo customer's order page, with a link signed as the emails sign them."""
    from postpurchase.config import settings
    from postpurchase.messaging.links import order_page_url
    from postpurchase.services import link_keys

    config = settings()
    return {order_id: order_page_url(base_url, link_keys(), demo.runtime.credentials.merchant_id,
                                     order_id, demo.clock.now(), timedelta(days=config.order_link_ttl_days))
            for order_id in CUSTOMER_ORDERS}


def pages(demo: Demo) -> None:
    demo.step("Customers open their order pages from the links in their emails")
    links = order_page_links(demo, demo.base_url)
    request = urllib.request.Request(links["A-1002"], headers={"Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=30) as response:
        page, status = response.read().decode(), response.status
    demo.check("Dmitri's order page shows his parcel's timeline and his refunded return, in Russian",
               status == 200 and "SBX-DELAY-DMITRI1" in page and 'lang="ru' in page and "R-" in page)
    good = links["A-1001"]
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    try:
        with urllib.request.urlopen(tampered, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    demo.check("a tampered link gets the lookup page (401), not the order", status == 401)


def analytics(demo: Demo) -> None:
    """The console's analytics over the story so far: the consumers' counters, drawn as SVG."""
    import http.client
    from urllib.parse import urlencode, urlsplit

    demo.step("The merchant's staff open the console's analytics for the last 90 days")
    merchant_id = demo.runtime.credentials.merchant_id
    address = urlsplit(demo.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("POST", f"/console/{merchant_id}/signin", urlencode(
        {"api_key": demo.runtime.credentials.api_key, "lang": "en"}),
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": demo.base_url})
    answer = connection.getresponse()
    answer.read()
    cookie = (answer.getheader("Set-Cookie") or "").split(";", 1)[0]
    connection.request("GET", f"/console/{merchant_id}/analytics?days=90", headers={"Cookie": cookie})
    page = connection.getresponse()
    body = page.read().decode()
    connection.close()
    orders = body.split('id="orders-heading"', 1)[-1].split("</section>", 1)[0]
    carriers = body.split('id="carriers-heading"', 1)[-1].split("</section>", 1)[0]
    bars = [float(h) for h in re.findall(r'<rect class="bar" [^>]*height="([\d.]+)"', orders)]
    demo.check("the analytics page draws the orders per day, the carriers, returns and emails (200, SVG)",
               page.status == 200 and any(h > 0 for h in bars) and "<tbody>" in carriers
               and "Changed my mind" in body and "Order confirmation" in body)
def packing_inserts(demo: Demo) -> None:
    """The packing insert of one order (GET .../insert.pdf) and the day's batch (queued, rendered
    by functions/insert_batches, downloaded by its presigned URL), written next to the outbox."""
    folder = demo.runtime.outbox_dir / "inserts"
    folder.mkdir(parents=True, exist_ok=True)
    demo.step("The warehouse prints Ayşe's packing insert (A6) and the whole day's inserts")
    request = urllib.request.Request(demo.base_url + "/v1/orders/A-1001/insert.pdf?size=a6", headers={
        "Accept": "application/pdf", "Authorization": f"Bearer {demo.runtime.credentials.api_key}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        pdf = response.read()
    path = folder / "insert-A-1001-a6.pdf"
    path.write_bytes(pdf)
    demo.check("GET /v1/orders/A-1001/insert.pdf answers a PDF", pdf.startswith(b"%PDF-"))
    print(f"    packing insert -> {path}")
    status, batch = demo.merchant("POST", "/v1/inserts/batches", {"date": f"{START:%Y-%m-%d}", "size": "a6"})
    demo.check("POST /v1/inserts/batches answers 202 (rendered outside the request)",
               status == 202 and batch.get("status") == "queued")
    demo.settle()
    status, batch = demo.merchant("GET", f"/v1/inserts/batches/{batch.get('batch_id')}")
    ready = status == 200 and batch.get("status") == "ready" and bool(batch.get("url"))
    demo.check(f"the day's batch is ready: {batch.get('order_count')} inserts, one page each", ready)
    if ready:
        with urllib.request.urlopen(batch["url"], timeout=60) as response:  # the presigned S3 URL
            day = response.read()
        path = folder / f"inserts-{START:%Y-%m-%d}-a6.pdf"
        path.write_bytes(day)
        demo.check("the presigned URL downloads the day's PDF", day.startswith(b"%PDF-"))
        print(f"    day's inserts -> {path}")


def play(demo: Demo) -> None:
    """The whole story, against a runtime whose API is served at demo.base_url."""
    run(demo)
    packing_inserts(demo)
    ship_and_track(demo)
    returns(demo)
    pages(demo)
    analytics(demo)
    from infra.demo_year import year

    year(demo)
    storefront_reviews(demo)
    from infra.demo_surveys import surveys

    surveys(demo)
    from infra.demo_support import support

    support(demo)


def storefront_reviews(demo: Demo) -> None:
    """Ayşe's rating becomes a public review; a review with a link waits for the merchant."""
    from urllib.parse import quote

    from postpurchase.messaging.links import rating_url

    merchant = demo.runtime.credentials.merchant_id
    demo.step("Ayşe reviews her mugs from the review email; the storefront shows the reviews", timedelta(hours=1))
    token = rating_url(merchant, "A-1001", "MUG-1", demo.clock.now()).rsplit("/", 1)[1]
    status, _ = demo.http("POST", f"/v1/feedback/{token}", {"rating": 5, "title": "Güzel kupalar",
                                                             "comment": "Çay sıcak kalıyor, kulpu sağlam."})
    demo.check("Ayşe's rating, title and text are saved (POST /v1/feedback/{token})", status in (200, 201))
    base = f"/v1/public/{merchant}/products/{quote('MUG-1')}/reviews"
    status, summary = demo.http("GET", f"{base}/summary")
    print(f"    MUG-1: average {summary.get('average')} from {summary.get('count')} review(s), "
          f"distribution {summary.get('distribution')}")
    status, page = demo.http("GET", base)
    items = page.get("items") or []
    for item in items:
        print(f"    {item['rating']}/5 \"{item.get('title') or ''}\" by {item['author']}"
              f"{' (verified buyer)' if item.get('verified_buyer') else ''}: {item.get('body')}")
    demo.check("the public summary counts Ayşe's published review (one Query, no key)",
               status == 200 and summary.get("count", 0) >= 1 and summary.get("distribution", {}).get("5", 0) >= 1)
    demo.check("the public review shows \"Ayşe Y.\", never her e-mail",
               any(item.get("author") == "Ayşe Y." for item in items) and "@" not in json.dumps(page))
    review_id = next((item["review_id"] for item in items if item.get("author") == "Ayşe Y."), "x")
    status, _ = demo.merchant("PUT", f"/v1/reviews/{review_id}/reply", {"text": "Teşekkürler Ayşe!"})
    status, jsonld = demo.http("GET", f"{base}/jsonld")
    rating = jsonld.get("aggregateRating") or {}
    print(f"    JSON-LD for the product page: {jsonld.get('@type')} with ratingValue {rating.get('ratingValue')}, "
          f"reviewCount {rating.get('reviewCount')}")
    demo.check("the merchant's public reply and the JSON-LD AggregateRating are there",
               status == 200 and rating.get("reviewCount") == summary.get("count")
               and any((r.get("reply") or {}).get("text") == "Teşekkürler Ayşe!"
                       for r in demo.http("GET", base)[1].get("items", [])))


def print_links(demo: Demo, base_url: str, note: str) -> None:
    print(f"\nOrder pages ({note}):")
    for order_id, url in order_page_links(demo, base_url).items():
        print(f"  {CUSTOMER_ORDERS[order_id]:<24} {url}")


def print_console(demo: Demo, base_url: str, note: str) -> None:
    credentials = demo.runtime.credentials
    print(f"\nMerchant console ({note}): {base_url}/console/{credentials.merchant_id}/signin"
          f"\n  sign in with the API key {credentials.api_key}"
          f"\n  analytics: {base_url}/console/{credentials.merchant_id}/analytics?days=90")


def main() -> int:
    from postpurchase import clock as clock_module
    from postpurchase.clock import SimulatedClock

    outbox = Path(os.environ.get("OUTBOX_DIR", REPO_ROOT / "outbox"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    simulated = SimulatedClock(START)
    clock_module.use(simulated)
    # Notices wait NOTICE_DEBOUNCE_SECONDS for a burst to settle, in real seconds (an SQS
    # delay); on the demo's simulated clock each poll is hours apart, so no wait is needed.
    runtime = LocalRuntime(outbox_dir=outbox, public_base_url=base_url, notice_debounce_seconds=0).start()
    runtime.serve_api("127.0.0.1", port)
    demo = Demo(runtime, base_url, simulated)
    print(f"Demo store on simulated time from {START:%Y-%m-%d %H:%M} UTC; AWS is moto at {runtime.endpoint_url}")
    try:
        play(demo)
    finally:
        runtime.stop()
    emails = runtime.outbox.emails
    keys = [email.message_key for email in emails]
    demo.check("no customer received the same email twice", len(keys) == len(set(keys)))
    print(f"\nSummary: {len(emails)} emails in {outbox}/ (open {outbox}/index.html)")
    for email in emails:
        print(f"  {email.sequence:>2}. {email.recipient:<32} {email.subject}")
    print_links(demo, LOCAL_URL, "open them against `make local DEMO=1`, which replays this story and keeps serving")
    failed = [label for label, ok in demo.checks if not ok]
    print(f"\n{len(demo.checks) - len(failed)} of {len(demo.checks)} checks passed"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    print_console(demo, LOCAL_URL, "against `make local DEMO=1`")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT / "layers" / "common" / "python"))
    sys.exit(main())
