"""SES feedback through the real handlers: bounces and complaints stop every later email."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.local.runtime import load_function_module

EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.fixture
def feedback(aws):
    return load_function_module("functions/ses_feedback", "fn_ses_feedback")


def notification(kind: str, email: str = "ayse.yilmaz@example.com", merchant: str | None = "demo-store") -> str:
    note = json.loads((EVENTS / "ses" / "bounce_notification.json").read_text(encoding="utf-8"))
    note["mail"]["tags"] = {"merchant": [merchant]} if merchant else {}
    if kind == "complaint":
        note = {"eventType": "Complaint", "mail": note["mail"], "complaint": {
            "timestamp": "2026-11-20T11:00:00Z", "complaintFeedbackType": "abuse",
            "complainedRecipients": [{"emailAddress": email}]}}
    else:
        note["bounce"]["bouncedRecipients"][0]["emailAddress"] = email
    return json.dumps({"Type": "Notification", "Message": json.dumps(note)})


def place(aws, order_id: str) -> list:
    before = len(aws.sent_emails())
    assert aws.post_order(aws.api_order(order_id)).status_code == 202
    aws.pump.drain()
    return aws.sent_emails()[before:]


@pytest.mark.parametrize("kind", ["bounce", "complaint"])
def test_a_suppressed_address_gets_no_more_email_of_any_kind(aws, feedback, kind):
    assert len(place(aws, "1001")) == 1
    assert aws.deliver(feedback, aws.sqs_event([notification(kind)], "SesFeedbackQueue")) == []
    [item] = aws.items_of_type("suppression")
    assert item["reason"] == kind and item["merchant_id"] == "demo-store"
    assert place(aws, "1002") == []  # the confirmation, transactional, is not sent either


def test_the_sample_event_and_a_redelivery_store_one_suppression(aws, feedback):
    event = json.loads((EVENTS / "ses_feedback_bounce.json").read_text(encoding="utf-8"))
    assert aws.invoke(feedback, event) == {"batchItemFailures": []}
    assert aws.invoke(feedback, event) == {"batchItemFailures": []}
    assert len(aws.items_of_type("suppression")) == 1


def test_another_address_and_another_merchant_are_not_affected(aws, feedback, other_store):
    aws.deliver(feedback, aws.sqs_event([notification("bounce", email="someone.else@example.com"),
                                         notification("complaint", merchant="other-store")], "SesFeedbackQueue"))
    assert len(place(aws, "1001")) == 1


def test_a_poison_message_fails_alone_and_a_soft_bounce_suppresses_nothing(aws, feedback):
    soft = json.loads(json.loads(notification("bounce"))["Message"])
    soft["bounce"]["bounceType"] = "Transient"
    event = aws.sqs_event(["not an SES notification", json.dumps(soft)], "SesFeedbackQueue")
    failed = aws.deliver(feedback, event)
    assert failed == [event["Records"][0]["messageId"]]
    assert aws.items_of_type("suppression") == []
