"""The `support.conversation.created` webhook against moto and a local receiver: signed like
`survey.detractor`, once per conversation (a redelivered inbound message or a second publish
POSTs nothing more), for a customer's message and for a proactive conversation; nothing without
a webhook URL; a poison message goes to the DLQ."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from test_returns_api import Receiver, allow_http_webhooks
from test_tracking import trk  # noqa: F401  (the fixture)

MERCHANT = "demo-store"
EMAIL = "ayse.yilmaz@example.com"


@pytest.fixture
def receiver(aws, monkeypatch):
    allow_http_webhooks(monkeypatch)
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


def configure_webhook(aws, url: str) -> str:
    response = aws.client.put("/v1/settings/webhooks", headers=aws.auth(), body=aws.encode({"feedback_url": url}))
    assert response.status_code == 200, response.body
    return response.json_body["secret"]


def created_events(receiver) -> list[tuple[dict, dict]]:
    events = [(headers, json.loads(body)) for headers, body in receiver.requests]
    return [(headers, event) for headers, event in events if event["type"] == "support.conversation.created"]


def ask(aws, body: dict, key: str):
    headers = {**aws.auth(), "Idempotency-Key": key}
    response = aws.client.post("/v1/support/messages", headers=headers, body=aws.encode(body))
    assert response.status_code == 201, response.json_body
    return response.json_body


def test_a_new_conversation_is_announced_once_signed(aws, receiver):
    from postpurchase.returns.handoff import verify_signature

    secret = configure_webhook(aws, receiver.url)
    assert aws.post_order(aws.api_order("1001")).status_code == 202
    aws.pump.drain()
    text = "My order 1001 arrived and the mug is broken, cracked in half. " + "x" * 1200
    first = ask(aws, {"email": EMAIL, "text": text, "subject": "Broken mug"}, "k-1")
    again = ask(aws, {"email": EMAIL, "text": text, "subject": "Broken mug"}, "k-1")  # a retried call
    assert again["duplicate"] is True and again["conversation_id"] == first["conversation_id"]
    aws.clock.advance(timedelta(minutes=1))
    second = ask(aws, {"email": EMAIL, "text": "Where is my order 1001?"}, "k-2")  # a new conversation
    for _ in range(3):
        aws.pump_queue("ReturnEventsQueue")
    events = created_events(receiver)
    assert sorted(e["conversation_id"] for _, e in events) == sorted([first["conversation_id"],
                                                                      second["conversation_id"]])
    cid = first["conversation_id"]
    [(headers, event)] = [(h, e) for h, e in events if e["conversation_id"] == cid]
    [raw] = [body for _, body in receiver.requests if json.loads(body)["conversation_id"] == cid]
    assert verify_signature(secret, headers["x-postpurchase-signature"], raw, aws.clock.now())
    assert headers["x-postpurchase-delivery"] == f"support:{cid}:created"
    assert (event["status"], event["intent"], event["order_id"], event["channel"], event["source"],
            event["customer_email"], event["auto_answered"]) == (
        "open", "damaged_wrong_item", "1001", "api", "customer", EMAIL, False)
    assert event["customer_id"] and event["created_at"] and event["confidence"] > 0
    assert len(event["first_message"]) == 1000 and event["first_message_truncated"] is True
    [(_, answered)] = [(h, e) for h, e in events if e["conversation_id"] == second["conversation_id"]]
    assert answered["auto_answered"] is True and answered["intent"] == "where_is_my_order"
    assert aws.queue_depth("ReturnEventsQueue") == 0 and aws.queue_depth("ReturnEventsDLQ") == 0


def test_a_redelivered_webhook_is_posted_once_and_poison_goes_to_the_dlq(aws, receiver):
    configure_webhook(aws, receiver.url)
    ask(aws, {"email": "guest@example.net", "text": "Do you sell gift cards?"}, "k-gift")
    from postpurchase.services import support_store
    from postpurchase.support.webhook import DeliverSupportWebhook, created_body

    # The queued message, sent again as SQS may (at least once).
    [conversation] = support_store().page(MERCHANT, "open", limit=10, cursor=None)[0]
    message = DeliverSupportWebhook(merchant_id=MERCHANT, conversation_id=conversation.conversation_id,
                                    body=created_body(conversation, first_message="Do you sell gift cards?",
                                                      auto_answered=False)).model_dump_json()
    aws.send("ReturnEventsQueue", message)
    aws.send("ReturnEventsQueue", json.dumps({"type": "DeliverSupportWebhook", "merchant_id": MERCHANT}))  # poison
    for _ in range(8):
        aws.pump_queue("ReturnEventsQueue")
    [(_, event)] = created_events(receiver)
    assert event["order_id"] is None and event["customer_email"] == "guest@example.net"
    assert aws.queue_depth("ReturnEventsDLQ") == 1  # only the poison message


def test_no_webhook_url_queues_nothing(aws, receiver):
    ask(aws, {"email": "guest@example.net", "text": "Do you sell gift cards?"}, "k-none")
    assert aws.queue_depth("ReturnEventsQueue") == 0
    assert receiver.requests == []


def test_a_proactive_conversation_is_announced_once_with_its_source(trk, receiver):
    from postpurchase.storage.tracking import DynamoTrackingStore
    from postpurchase.support import proactive

    aws = trk.aws
    configure_webhook(aws, receiver.url)
    trk.order("PX-1")
    shipment_id = trk.ship("PX-1", "SBX-DELAY-0001")
    trk.follow([("PX-1", shipment_id)], until=aws.now + timedelta(days=6))
    for _ in range(3):
        aws.pump_queue("ReturnEventsQueue")
    # A redelivered notice check: the conversation is not opened again, its announcement POSTs nothing more.
    tracked = DynamoTrackingStore().load(MERCHANT, "PX-1", shipment_id)
    assert proactive.open_for_shipment(tracked, aws.clock.now()) is None
    for _ in range(3):
        aws.pump_queue("ReturnEventsQueue")
    [(_, event)] = created_events(receiver)
    assert (event["source"], event["status"], event["intent"], event["order_id"], event["first_message"]) == (
        "proactive", "open", "where_is_my_order", "PX-1", "")
