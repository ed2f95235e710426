"""SES notifications (both formats, SNS-wrapped or raw) -> the addresses to suppress."""
from __future__ import annotations

import json

import pytest

from postpurchase.messaging.feedback import MalformedFeedback, suppressions

MAIL = {"timestamp": "2026-11-23T10:00:00.000Z", "source": "orders@demo-store.example",
        "destination": ["ayse.yilmaz@example.com"], "tags": {"merchant": ["demo-store"], "kind": ["shipment_notice"]}}


def bounce(kind_field: str, bounce_type: str = "Permanent", **extra) -> dict:
    return {kind_field: "Bounce", "mail": MAIL, "bounce": {
        "bounceType": bounce_type, "bounceSubType": "General", "timestamp": "2026-11-23T10:00:05.000Z",
        "bouncedRecipients": [{"emailAddress": "Ayse.Yilmaz@Example.com", "status": "5.1.1"}], **extra}}


def complaint(kind_field: str) -> dict:
    return {kind_field: "Complaint", "mail": MAIL, "complaint": {
        "timestamp": "2026-11-23T11:00:00Z", "complaintFeedbackType": "abuse",
        "complainedRecipients": [{"emailAddress": "ayse.yilmaz@example.com"}]}}


def sns(message: dict) -> str:
    return json.dumps({"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:t",
                       "Message": json.dumps(message), "Timestamp": "2026-11-23T10:00:06Z"})


@pytest.mark.parametrize("kind_field", ["notificationType", "eventType"])
@pytest.mark.parametrize("wrap", [sns, json.dumps], ids=["sns", "raw"])
def test_a_hard_bounce_suppresses_the_address_in_both_formats(kind_field, wrap):
    [found] = suppressions(wrap(bounce(kind_field)))
    assert (found.email, found.reason, found.merchant_id) == ("ayse.yilmaz@example.com", "bounce", "demo-store")
    assert found.detail == "Permanent/General" and found.at.isoformat().startswith("2026-11-23T10:00:05")


@pytest.mark.parametrize("kind_field", ["notificationType", "eventType"])
def test_a_complaint_suppresses_the_address(kind_field):
    [found] = suppressions(sns(complaint(kind_field)))
    assert (found.email, found.reason, found.detail) == ("ayse.yilmaz@example.com", "complaint", "abuse")


def test_a_soft_bounce_and_a_delivery_suppress_nothing():
    assert suppressions(sns(bounce("notificationType", "Transient"))) == []
    assert suppressions(sns({"eventType": "Delivery", "mail": MAIL, "delivery": {}})) == []


def test_an_email_we_did_not_tag_has_no_merchant():
    untagged = bounce("eventType")
    untagged["mail"] = {**MAIL, "tags": {}}
    assert suppressions(json.dumps(untagged))[0].merchant_id is None


@pytest.mark.parametrize("body", ["not json", "[]", json.dumps({"mail": MAIL}),
                                  json.dumps({"notificationType": "Bounce", "mail": MAIL}),
                                  json.dumps(bounce("eventType", bouncedRecipients=[{"status": "5.1.1"}]))])
def test_what_is_not_an_ses_notification_is_refused(body):
    with pytest.raises(MalformedFeedback):
        suppressions(body)
