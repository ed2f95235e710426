"""The email sender, called with Lambda SQS events: SES (moto) and the send ledger."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

EMAIL_QUEUE = "OutboundEmailQueue"


def email_request(aws, order_id: str = "M-1", *, placed_at=None, customer: dict | None = None, **fields) -> str:
    """The request the order-events consumer enqueues for a new order (taken off the queue)."""
    from postpurchase.orders.events import OrderPlaced
    from postpurchase.orders.models import Order

    data = aws.api_order(order_id, placed_at or aws.now, **fields)
    if customer is not None:
        data["customer"] = customer
        data["email"] = customer["email"]
    event = OrderPlaced(event_id=f"api:{order_id}", merchant_id="demo-store", source="api", received_at=aws.now,
                        order=Order.model_validate(data)).model_dump_json()
    assert aws.deliver(aws.order_events, aws.sqs_event([event])) == []
    [body] = aws.take(EMAIL_QUEUE)
    return body


def send(aws, *bodies: str) -> tuple[dict, list[str]]:
    event = aws.sqs_event(bodies, queue_id=EMAIL_QUEUE)
    return event, aws.deliver(aws.email_sender, event)


def ledger(aws, order_id: str = "M-1") -> dict | None:
    return aws.item(f"M#demo-store#O#{order_id}", f"MSG#order_confirmation#{order_id}")


def order_link(html: str) -> str:
    [href] = {unescape(h) for h in re.findall(r'href="(https://shop\.test/pages/[^"]+)"', html)}
    return href


# ------------------------------------------------------------------ one email


def test_one_request_sends_one_multipart_email(aws):
    from postpurchase.security.tokens import Keyring, verify_order_token

    body = email_request(aws, "M-1", order_number="#1001")
    _, failed = send(aws, body)

    assert failed == []
    [message] = aws.sent_emails()
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert str(message["From"]) == "Demo Store <orders@demo-store.example>"
    assert str(message["To"]) == "ayse.yilmaz@example.com"
    assert "#1001" in str(message["Subject"])
    assert str(message["X-Postpurchase-Message"]) == "demo-store/order_confirmation#M-1"

    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Ayşe" in text and "Ceramic mug" in html
    link = order_link(html)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "shop.test", "/pages/demo-store/orders/M-1")
    [token] = parse_qs(parts.query)["token"]
    assert verify_order_token(aws.link_keys, "demo-store", "M-1", token, aws.now)
    assert not verify_order_token(aws.link_keys, "demo-store", "M-2", token, aws.now)
    assert not verify_order_token(aws.link_keys, "other-store", "M-1", token, aws.now)
    assert token.startswith(f"{aws.link_keys.active}.")  # signed by the keyring's active key
    other_key = Keyring.single("another-secret-another-secret-123", aws.link_keys.active)
    assert not verify_order_token(other_key, "demo-store", "M-1", token, aws.now)
    assert link in text  # the plain-text part carries the same link

    entry = ledger(aws)
    assert entry["state"] == "sent"
    assert entry["sent_at"] and entry["provider_message_id"]
    assert "ayse" not in json.dumps(entry, default=str)  # only the recipient's hash is kept


def test_customer_text_is_escaped_in_the_html(aws):
    from html.parser import HTMLParser

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.attributes, self.text = set(), set(), []

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.attributes.update(name for name, _ in attrs)

        def handle_data(self, data):
            self.text.append(data)

    hostile = "<script>alert(1)</script><b>Mug</b> & <img src=x onerror=alert(2)>"
    items = [{"sku": "MUG-1", "title": hostile, "quantity": 1, "price": "12.50",
              "image_url": "https://demo-store.example/img/mug.jpg"}]
    customer = {"id": "c-1", "email": "ayse.yilmaz@example.com", "first_name": "<i>Ayşe</i>"}
    _, failed = send(aws, email_request(aws, customer=customer, items=items))

    assert failed == []
    [message] = aws.sent_emails()
    parser = Tags()
    parser.feed(message.get_body(preferencelist=("html",)).get_content())
    assert not parser.tags & {"script", "b", "i"}
    assert not [name for name in parser.attributes if name.startswith("on")]
    assert hostile in "".join(parser.text)


# ------------------------------------------------------------------ duplicates


def test_the_same_request_in_two_events_sends_once(aws):
    body = email_request(aws)
    _, first = send(aws, body)
    _, second = send(aws, body)

    assert first == second == []
    assert len(aws.sent_emails()) == 1
    assert ledger(aws)["state"] == "sent"


def test_the_same_request_twice_in_one_batch_sends_once(aws):
    body = email_request(aws)
    _, failed = send(aws, body, body)

    assert failed == []
    assert len(aws.sent_emails()) == 1


def test_a_redelivered_request_for_an_order_from_another_source_sends_once(aws):
    """Shopify's orders/create and orders/paid: two events, one order, one email."""
    body = email_request(aws)
    request = json.loads(body)
    request["requested_at"] = (aws.now + timedelta(minutes=3)).isoformat()
    _, failed = send(aws, body, json.dumps(request))

    assert failed == []
    assert len(aws.sent_emails()) == 1


# ------------------------------------------------------------------ crash between send and ledger


def test_crash_after_sending_never_sends_twice(aws, monkeypatch):
    from postpurchase.storage.ledger import DynamoSendLedger

    real_mark_sent = DynamoSendLedger.mark_sent
    crashes = {"left": 1}

    def mark_sent_crashing_once(self, claim, provider_message_id, now):
        if crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("Lambda timed out right after SES accepted the message")
        return real_mark_sent(self, claim, provider_message_id, now)

    monkeypatch.setattr(DynamoSendLedger, "mark_sent", mark_sent_crashing_once)
    body = email_request(aws)

    event, failed = send(aws, body)
    assert failed == [event["Records"][0]["messageId"]]
    assert len(aws.sent_emails()) == 1
    assert ledger(aws)["state"] == "claimed"

    # Redelivered while the claim may still be in flight: retried later, nothing sent.
    from postpurchase.config import settings

    timeout = timedelta(seconds=settings().email_claim_timeout_seconds)
    aws.clock.advance(timeout - timedelta(seconds=30))
    event, failed = send(aws, body)
    assert failed == [event["Records"][0]["messageId"]]
    assert len(aws.sent_emails()) == 1
    assert ledger(aws)["state"] == "claimed"

    # Redelivered after the claim timed out: the outcome is unknown, and it stays that way.
    aws.clock.advance(timedelta(seconds=31))
    _, failed = send(aws, body)
    assert failed == []
    assert len(aws.sent_emails()) == 1
    assert ledger(aws)["state"] == "unknown"

    _, failed = send(aws, body)  # and any later copy is settled too
    assert failed == []
    assert len(aws.sent_emails()) == 1
    assert aws.get_order("M-1").json_body["notifications"][0]["state"] == "unknown"


# ------------------------------------------------------------------ SES errors


def test_ses_throttling_releases_the_claim_and_a_later_delivery_sends_once(aws, monkeypatch):
    from postpurchase.adapters.ses import SesMailer
    from postpurchase.errors import MailerUnavailable

    calls = []

    def throttled(self, **kwargs):
        calls.append(kwargs["recipient"])
        raise MailerUnavailable("TooManyRequestsException")

    body = email_request(aws)
    with monkeypatch.context() as patch:
        patch.setattr(SesMailer, "send", throttled)
        event, failed = send(aws, body)

    assert calls == ["ayse.yilmaz@example.com"]
    assert failed == [event["Records"][0]["messageId"]]
    assert ledger(aws) is None  # released: the retry may send
    assert aws.sent_emails() == []

    _, failed = send(aws, body)

    assert failed == []
    assert len(aws.sent_emails()) == 1
    assert ledger(aws)["state"] == "sent"


def test_real_ses_throttling_error_is_retried(aws, monkeypatch):
    """The adapter's own classification: a throttling ClientError is transient."""
    from botocore.exceptions import ClientError

    from postpurchase.adapters import aws as aws_clients

    ses = aws_clients.client("sesv2")

    def throttled(**kwargs):
        raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Maximum sending rate exceeded"}},
                          "SendEmail")

    monkeypatch.setattr(ses, "send_email", throttled)
    event, failed = send(aws, email_request(aws))

    assert failed == [event["Records"][0]["messageId"]]
    assert ledger(aws) is None


def test_refused_message_is_failed_for_good_without_retry(aws, monkeypatch):
    from postpurchase.adapters.ses import SesMailer
    from postpurchase.errors import MessageRefused

    def refused(self, **kwargs):
        raise MessageRefused("MessageRejected")

    body = email_request(aws)
    with monkeypatch.context() as patch:
        patch.setattr(SesMailer, "send", refused)
        _, failed = send(aws, body)

    assert failed == []
    assert aws.sent_emails() == []
    entry = ledger(aws)
    assert entry["state"] == "failed" and "MessageRejected" in entry["failure"]

    _, failed = send(aws, body)  # a redelivery does not try again
    assert failed == []
    assert aws.sent_emails() == []


# ------------------------------------------------------------------ merchant settings


def test_request_for_a_merchant_without_settings_is_retried_then_dead_lettered(aws):
    request = json.loads(email_request(aws))
    request["merchant_id"] = "ghost-store"
    body = json.dumps(request)

    event, failed = send(aws, body)
    assert failed == [event["Records"][0]["messageId"]]

    aws.send(EMAIL_QUEUE, body)
    aws.pump.drain()

    assert aws.sent_emails() == []
    assert aws.queue_depth(EMAIL_QUEUE) == 0
    assert aws.queue_depth("OutboundEmailDLQ") == 1


def test_a_bad_request_fails_only_itself(aws):
    good = email_request(aws)
    event, failed = send(aws, "not json", json.dumps({"kind": "newsletter"}), good)

    assert sorted(failed) == sorted(record["messageId"] for record in event["Records"][:2])
    assert len(aws.sent_emails()) == 1


# ------------------------------------------------------------------ variants


def test_first_order_gets_the_welcome_and_the_second_the_reassuring_confirmation(aws):
    first = email_request(aws, "M-1")
    aws.clock.advance(timedelta(days=1))
    second = email_request(aws, "M-2", placed_at=aws.clock.now())

    assert json.loads(first)["variant"] == "welcome"
    assert json.loads(second)["variant"] == "reassuring"  # the default rules (MessagingSettings)
    _, failed = send(aws, first, second)

    assert failed == []
    subjects = {str(message["Subject"]) for message in aws.sent_emails()}
    [welcome] = [s for s in subjects if "M-1" in s]
    [plain] = [s for s in subjects if "M-2" in s]
    # The welcome subject names the shop (in the customer's language, Turkish here); plain does not.
    assert "Demo Store" in welcome and "hoş geldiniz" in welcome
    assert "Demo Store" not in plain


@pytest.mark.parametrize("locale,timezone", [("th-TH", "Asia/Bangkok"), ("ar-SA", "Asia/Riyadh"),
                                             ("ru-RU", "Europe/Moscow"), (None, None)])
def test_emails_render_for_customers_in_any_locale(aws, locale, timezone):
    customer = {"id": "c-9", "email": "customer@example.org", "first_name": "สมชาย", "last_name": "Иванов",
                "locale": locale, "timezone": timezone}
    _, failed = send(aws, email_request(aws, "M-9", customer=customer))

    assert failed == []
    [message] = aws.sent_emails()
    assert str(message["To"]) == "customer@example.org"
    assert "สมชาย" in message.get_body(preferencelist=("plain",)).get_content()
