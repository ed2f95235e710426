"""Proactive support conversations (issue 14 item 6), against moto: the tracking worker following
sandbox parcels opens one conversation per (shipment, problem) before the customer writes."""
from __future__ import annotations

from datetime import timedelta

from test_tracking import MERCHANT, Tracking, trk  # noqa: F401  (the fixture)


def proactive_conversations():
    from postpurchase.storage.support import DynamoSupportStore

    rows, _ = DynamoSupportStore().page(MERCHANT, "open", limit=100, cursor=None)
    return [row for row in rows if row.source.value == "proactive"]


def test_an_exception_opens_one_conversation_for_the_merchant(trk: Tracking):
    trk.order("PX-1")
    shipment_id = trk.ship("PX-1", "SBX-DELAY-0001")

    trk.follow([("PX-1", shipment_id)], until=trk.aws.now + timedelta(days=6))

    assert "exception" in trk.kinds(shipment_id)
    [conversation] = proactive_conversations()
    assert conversation.status.value == "open"
    assert conversation.order_id == "PX-1"
    assert conversation.intent == "where_is_my_order"
    assert conversation.customer_email == "ayse.yilmaz@example.com"
    assert conversation.messages == 0 and conversation.last_customer_message_at is None
    assert conversation.subject.startswith("exception:")


def test_a_stalled_parcel_opens_a_conversation_and_a_repeated_check_does_not_open_another(trk: Tracking):
    from postpurchase.storage.tracking import DynamoTrackingStore
    from postpurchase.support import proactive

    trk.order("PS-1")
    shipment_id = trk.ship("PS-1", "SBX-STALL-0001")
    trk.follow([("PS-1", shipment_id)], until=trk.aws.now + timedelta(days=5, hours=12))

    [conversation] = proactive_conversations()
    assert conversation.subject.startswith("stalled:")
    # A redelivered notice check / tracking event: the (shipment, reason) receipt holds it to one.
    tracked = DynamoTrackingStore().load(MERCHANT, "PS-1", shipment_id)
    assert proactive.open_for_shipment(tracked, trk.aws.clock.now()) is None
    assert [c.conversation_id for c in proactive_conversations()] == [conversation.conversation_id]
    # The customer's first message about that order joins it.
    assert proactive.joinable(MERCHANT, "PS-1").conversation_id == conversation.conversation_id
    assert proactive.joinable(MERCHANT, "OTHER-1") is None


def test_a_parcel_without_trouble_opens_nothing(trk: Tracking):
    trk.order("PO-1")
    shipment_id = trk.ship("PO-1", "SBX-OK-00001")
    trk.follow([("PO-1", shipment_id)], until=trk.aws.now + timedelta(days=6))

    assert "delivered" in trk.kinds(shipment_id)
    assert proactive_conversations() == []


def test_the_customers_message_joins_the_proactive_conversation_and_its_reply_is_counted(trk: Tracking):
    """Intake (support/service.py) finds the conversation the exception opened, and every save
    passes the conversation as read, so the support metrics count the step."""
    aws = trk.aws
    trk.order("PJ-1")
    shipment_id = trk.ship("PJ-1", "SBX-DELAY-0002")
    trk.follow([("PJ-1", shipment_id)], until=aws.now + timedelta(days=6))
    [opened] = proactive_conversations()

    answer = aws.client.post("/v1/support/messages", headers=aws.auth(), body=aws.encode({
        "email": "ayse.yilmaz@example.com", "order_id": "PJ-1", "text": "Siparişim nerede? Kargo gecikti."}))
    assert answer.status_code == 201, answer.body
    assert answer.json_body["conversation_id"] == opened.conversation_id
    aws.pump.drain()
    auto_reply = [e for e in aws.sent_emails() if e["Auto-Submitted"] == "auto-replied"][-1]
    # the proactive conversation's own subject ("exception: <code>") is the merchant's, not the customer's
    assert "exception" not in str(auto_reply["Subject"]) and "SBX-DELAY" not in str(auto_reply["Subject"])
    reply = aws.client.post(f"/v1/support/conversations/{opened.conversation_id}/replies", headers=aws.auth(),
                            body=aws.encode({"text": "Kargo firmasıyla görüştük, yarın teslim edilecek."}))
    assert reply.status_code in (200, 201), reply.body
    metrics = aws.client.get("/v1/support/metrics?days=30", headers=aws.auth())
    assert metrics.status_code == 200, metrics.body
    body = metrics.json_body
    # The auto-reply to the joined conversation is counted (it waits 72 h to count as automated);
    # a proactive conversation is not timed for first response (we spoke first).
    assert (body["conversations"], body["proactive"], body["wismo"]["count"]) == (1, 1, 1), body
    assert body["automated"]["pending"] == 1 and body["first_response"]["count"] == 0, body
