"""Regenerate events/: a sample Lambda event for every function (`sam local invoke -e`).

API events are API Gateway REST (payload v1) proxy events, as Chalice expects; webhook
samples are signed with the documented development secrets so they verify locally.
Run `python -m infra.sample_events` after changing a storefront payload;
`python -m infra.sample_events easypost-update CODE` prints an EasyPost webhook body for CODE
with its scans ending now.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

from infra.local.seed import demo_credentials

EVENTS = Path(__file__).resolve().parents[1] / "events"
STOREFRONTS = EVENTS / "storefronts"
SAMPLE_TIME = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def _sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def api_event(method: str, resource: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
              path_parameters: dict | None = None) -> dict:
    headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "User-Agent": "sample",
               **({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})}
    return {
        "resource": resource, "path": path, "httpMethod": method,
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters, "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "path": f"/api{path}", "stage": "api",
                           "requestId": "sample-request", "accountId": "123456789012", "apiId": "abc123",
                           "identity": {"sourceIp": "203.0.113.10"},
                           "requestTimeEpoch": int(SAMPLE_TIME.timestamp() * 1000)},
        "body": body.decode() if body is not None else None, "isBase64Encoded": False,
    }


def sqs_event(queue: str, bodies: list[str]) -> dict:
    millis = str(int(SAMPLE_TIME.timestamp() * 1000))
    return {"Records": [{
        "messageId": str(uuid.UUID(int=i + 1)), "receiptHandle": f"sample-receipt-{i}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": millis, "SenderId": "AIDASAMPLE",
                       "ApproximateFirstReceiveTimestamp": millis},
        "messageAttributes": {}, "md5OfBody": hashlib.md5(body.encode()).hexdigest(), "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}", "awsRegion": "us-east-1",
    } for i, body in enumerate(bodies)]}


def _hex_sign(secret: str, body: bytes) -> str:
    import unicodedata

    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def build() -> dict[str, dict]:
    import sys

    sys.path.insert(0, str(EVENTS.parent / "layers" / "common" / "python"))
    from postpurchase.insert.batches import InsertBatchMessage
    from postpurchase.messaging.campaigns import CampaignFanOut
    from postpurchase.messaging.requests import EmailRequest
    from postpurchase.orders.events import OrderPlaced
    from postpurchase.orders.models import Order
    from postpurchase.orders.shipments import ShipmentIn
    from postpurchase.tracking.messages import PollShipment, TrackShipment
    from postpurchase.returns.messages import DeliverReturnWebhook, ReturnChanged

    creds = demo_credentials()
    bearer = {"Authorization": f"Bearer {creds.api_key}"}
    order_body = (STOREFRONTS / "api" / "order.json").read_bytes()
    shipment_body = (STOREFRONTS / "api" / "shipment.json").read_bytes()
    return_body = (STOREFRONTS / "api" / "return_request.json").read_bytes()
    shopify_body = (STOREFRONTS / "shopify" / "orders_create.json").read_bytes()
    woo_body = (STOREFRONTS / "woocommerce" / "order_created.json").read_bytes()
    easypost_body = (EVENTS / "carriers" / "easypost" / "webhook_tracker_updated.json").read_bytes()
    aftership_body = (EVENTS / "carriers" / "aftership" / "webhook_tracking_update.json").read_bytes()
    order = Order.model_validate_json(order_body)
    shipment_id = ShipmentIn.model_validate_json(shipment_body).to_shipment(SAMPLE_TIME).shipment_id
    merchant = creds.merchant_id
    return {
        "api_place_order.json": api_event("POST", "/v1/orders", "/v1/orders", body=order_body, headers=bearer),
        "api_get_order.json": api_event("GET", "/v1/orders/{order_id}", f"/v1/orders/{order.order_id}",
                                        headers=bearer, path_parameters={"order_id": order.order_id}),
        "api_create_shipment.json": api_event(
            "POST", "/v1/orders/{order_id}/shipments", f"/v1/orders/{order.order_id}/shipments",
            body=shipment_body, headers=bearer, path_parameters={"order_id": order.order_id}),
        "api_shopify_orders_create.json": api_event(
            "POST", "/webhooks/shopify/{merchant_id}", f"/webhooks/shopify/{merchant}", body=shopify_body,
            path_parameters={"merchant_id": merchant},
            headers={"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": _sign(creds.shopify_secret,
                                                                                          shopify_body),
                     "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
                     "X-Shopify-Shop-Domain": "demo-store.myshopify.com", "X-Shopify-API-Version": "2025-10"}),
        "api_woocommerce_order_created.json": api_event(
            "POST", "/webhooks/woocommerce/{merchant_id}", f"/webhooks/woocommerce/{merchant}", body=woo_body,
            path_parameters={"merchant_id": merchant},
            headers={"X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Signature": _sign(creds.woocommerce_secret,
                                                                                             woo_body),
                     "X-WC-Webhook-Delivery-ID": "4e0f5c1d", "X-WC-Webhook-Source": "https://shop.example/"}),
        "api_woocommerce_ping.json": api_event(
            "POST", "/webhooks/woocommerce/{merchant_id}", f"/webhooks/woocommerce/{merchant}",
            body=b"webhook_id=17", path_parameters={"merchant_id": merchant},
            headers={"Content-Type": "application/x-www-form-urlencoded"}),
        "api_openapi.json": api_event("GET", "/openapi.json", "/openapi.json"),
        "api_get_tracking.json": api_event("GET", "/v1/orders/{order_id}/tracking",
                                           f"/v1/orders/{order.order_id}/tracking", headers=bearer,
                                           path_parameters={"order_id": order.order_id}),
        "api_easypost_tracker_updated.json": api_event(
            "POST", "/webhooks/easypost/{merchant_id}", f"/webhooks/easypost/{merchant}", body=easypost_body,
            path_parameters={"merchant_id": merchant},
            headers={"X-Hmac-Signature": _hex_sign(creds.easypost_secret, easypost_body)}),
        "api_aftership_tracking_update.json": api_event(
            "POST", "/webhooks/aftership/{merchant_id}", f"/webhooks/aftership/{merchant}", body=aftership_body,
            path_parameters={"merchant_id": merchant},
            headers={"aftership-hmac-sha256": _sign(creds.aftership_secret, aftership_body)}),
        "tracking_poller_scheduled.json": {
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": SAMPLE_TIME.isoformat(),
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/TrackingPollerSweep"],
            "detail": {}},
        "message_scheduler_scheduled.json": {
            "version": "0", "id": "0b6a3c2e-5d1f-4e0a-9c47-2f3d8e61a9b1", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": SAMPLE_TIME.isoformat(),
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/MessageSchedulerSweep"],
            "detail": {}},
        "review_feed_scheduled.json": {
            "version": "0", "id": "7e2f4a10-3b6c-4d8e-a1f5-6c9d0b2e4f71", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": SAMPLE_TIME.isoformat(),
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/ReviewFeedDaily"],
            "detail": {}},
        "tracking_worker_track_and_poll.json": sqs_event("TrackingQueue", [
            TrackShipment(merchant_id=merchant, order_id=order.order_id, shipment_id=shipment_id).model_dump_json(),
            PollShipment(merchant_id=merchant, order_id=order.order_id, shipment_id=shipment_id,
                         due=SAMPLE_TIME.isoformat()).model_dump_json()]),
        "order_events_order_placed.json": sqs_event("OrderEventsQueue", [OrderPlaced(
            event_id=f"api:{order.order_id}", merchant_id=merchant, source="api", received_at=SAMPLE_TIME,
            order=order).model_dump_json()]),
        "api_create_return.json": api_event(
            "POST", "/v1/orders/{order_id}/returns", f"/v1/orders/{order.order_id}/returns", body=return_body,
            headers={**bearer, "Idempotency-Key": "return-sample-1"}, path_parameters={"order_id": order.order_id}),
        "return_events_return_changed.json": sqs_event("ReturnEventsQueue", [
            ReturnChanged(merchant_id=merchant, order_id=order.order_id, rma_id="R-SAMPLE0001", from_revision=0,
                          to_revision=2).model_dump_json(),
            DeliverReturnWebhook(merchant_id=merchant, order_id=order.order_id, rma_id="R-SAMPLE0001",
                                 revision=7).model_dump_json()]),
        "campaign_fanout_page.json": sqs_event("CampaignQueue", [CampaignFanOut(
            merchant_id=merchant, campaign_id="vday-2027").model_dump_json()]),
        # A batch of a day's packing inserts (POST /v1/inserts/batches records it first).
        "insert_batches_day.json": sqs_event("InsertBatchQueue", [InsertBatchMessage(
            merchant_id=merchant, batch_id="0123456789abcdef0123456789abcdef").model_dump_json()]),
        # SES -> SNS -> SQS: the SNS envelope carries the notification as a string.
        "ses_feedback_bounce.json": sqs_event("SesFeedbackQueue", [json.dumps({
            "Type": "Notification", "MessageId": "5f0b1a2c-sample-0000-0000-000000000001",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:SesFeedbackTopic",
            "Message": (EVENTS / "ses" / "bounce_notification.json").read_text(encoding="utf-8"),
            "Timestamp": "2026-11-20T10:00:06.000Z", "SignatureVersion": "1"})]),
        "email_sender_order_confirmation.json": sqs_event("OutboundEmailQueue", [EmailRequest(
            kind="order_confirmation", variant="welcome", merchant_id=merchant, ref=order.order_id,
            recipient=order.recipient, locale=order.customer.locale, timezone=order.customer.timezone, order=order,
            order_page_url=f"http://127.0.0.1:3000/pages/{merchant}/orders/{order.order_id}?token=sample",
            requested_at=SAMPLE_TIME).model_dump_json()]),
        # SES stored a support email in the bucket (S3 -> EventBridge "Object Created").
        "support_inbound_object_created.json": {
            "version": "0", "id": "7c3a1f0e-sample-0000-0000-000000000001", "detail-type": "Object Created",
            "source": "aws.s3", "account": "123456789012", "time": "2026-11-20T10:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:s3:::supportmailbucket"],
            "detail": {"version": "0", "bucket": {"name": "supportmailbucket"},
                       "object": {"key": "inbound/sample-message-0001", "size": 2048},
                       "reason": "PutObject"}},
    }


def easypost_update_now(tracking_code: str, latest: datetime | None = None) -> bytes:
    """EasyPost's recorded tracker.updated event for `tracking_code`, its scans moved so the last
    one is `latest` (default: now): a webhook body to try against the local runtime."""
    latest = latest or datetime.now(timezone.utc)
    payload = json.loads((EVENTS / "carriers" / "easypost" / "webhook_tracker_updated.json").read_text(encoding="utf-8"))
    tracker = payload["result"]
    details = tracker["tracking_details"]
    shift = latest - datetime.fromisoformat(details[-1]["datetime"].replace("Z", "+00:00"))
    for detail in details:
        detail["datetime"] = (datetime.fromisoformat(detail["datetime"].replace("Z", "+00:00")) + shift).isoformat()
    tracker["est_delivery_date"] = None
    tracker["tracking_code"] = tracking_code
    return json.dumps(payload).encode()


def render(event: dict) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    import sys

    if sys.argv[1:2] == ["easypost-update"] and len(sys.argv) == 3:
        sys.stdout.write(easypost_update_now(sys.argv[2]).decode())
        return
    for name, event in build().items():
        (EVENTS / name).write_text(render(event), encoding="utf-8")
        print(f"events/{name}")


if __name__ == "__main__":
    main()
