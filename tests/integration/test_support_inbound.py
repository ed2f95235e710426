"""functions/support_inbound against moto: a raw email SES stored in S3 -> a conversation -> an
automated answer in the SES outbox (threaded under the customer's Message-ID), attachments in S3,
the loop cases (auto-submitted, bulk, our own mail, bounces), duplicates, and bad mail recorded
and flagged without raising."""
from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from infra.local.runtime import load_function_module

DOMAIN = "support.shop.test"
MERCHANT = "demo-store"
CUSTOMER = "ayse.yilmaz@example.com"
FIXTURES = Path(__file__).resolve().parents[2] / "events" / "support"


@pytest.fixture
def mail(aws, monkeypatch):
    from postpurchase import config

    monkeypatch.setenv("SUPPORT_MAIL_DOMAIN", DOMAIN)
    config.reset()
    assert aws.post_order(aws.api_order("1001")).status_code == 202
    aws.pump.drain()
    assert aws.post_shipment("1001", {"carrier": "usps", "tracking_number": "SBX-OK-0001"}).status_code == 201
    aws.pump.drain()
    aws.clock.advance(timedelta(hours=1))
    return Mail(aws, load_function_module("functions/support_inbound", "fn_support_inbound"))


class Mail:
    def __init__(self, aws, module):
        import boto3

        self.aws, self.module = aws, module
        self.bucket = aws.refs["SupportMailBucket"]
        self.s3 = boto3.client("s3", region_name="us-east-1")

    def store(self, raw: bytes, key: str) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=f"inbound/{key}", Body=raw)
        return f"inbound/{key}"

    def event(self, key: str, form: str = "eventbridge") -> dict:
        if form == "s3":
            return {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": self.bucket},
                                                                  "object": {"key": key.replace(" ", "+")}}}]}
        return {"detail-type": "Object Created", "source": "aws.s3",
                "detail": {"bucket": {"name": self.bucket}, "object": {"key": key}}}

    def receive(self, raw: bytes, key: str, form: str = "eventbridge") -> list[str]:
        return self.aws.invoke(self.module, self.event(self.store(raw, key), form))["processed"]

    def conversations(self, status: str = "open") -> list[dict]:
        return self.aws.client.get(f"/v1/support/conversations?status={status}",
                                   headers=self.aws.auth()).json_body["conversations"]

    def thread(self, conversation_id: str) -> dict:
        return self.aws.client.get(f"/v1/support/conversations/{conversation_id}", headers=self.aws.auth()).json_body

    def sent_after(self, before: int) -> list:
        self.aws.pump.drain()
        return self.aws.sent_emails()[before:]


def email_bytes(text: str, *, sender: str = CUSTOMER, message_id: str = "<q1@mail.example>", to: str | None = None,
                subject: str = "Where is my order?", headers: dict | None = None, attachment: bytes | None = None,
                in_reply_to: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = f"Ayşe Yılmaz <{sender}>"
    message["To"] = to or f"{MERCHANT}@{DOMAIN}"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if attachment is not None:
        message.add_attachment(attachment, maintype="image", subtype="jpeg", filename="broken mug.jpg")
    return message.as_bytes()


def test_an_email_is_answered_from_tracking_and_the_answer_threads(mail):
    aws = mail.aws
    before = len(aws.sent_emails())
    assert mail.receive(email_bytes("Hi, where is my order 1001? It has not arrived."), "m-1") == ["recorded"]
    [answer] = mail.sent_after(before)
    assert answer["In-Reply-To"] == "<q1@mail.example>" and answer["References"] == "<q1@mail.example>"
    assert answer["Auto-Submitted"] == "auto-replied"
    assert f"{MERCHANT}@{DOMAIN}" in answer["Reply-To"]
    assert answer["Message-ID"].endswith(f"@{DOMAIN}>")
    assert "SBX-OK-0001" in answer.get_body(("plain",)).get_content()
    [conversation] = mail.conversations("waiting_on_customer")
    assert conversation["channel"] == "email" and conversation["order_id"] == "1001"
    thread = mail.thread(conversation["conversation_id"])
    assert thread["messages"][0]["raw_key"] == "inbound/m-1"

    # The customer answers our answer: the same conversation, reopened, a person's turn today.
    aws.clock.advance(timedelta(hours=1))
    before = len(aws.sent_emails())
    reply = email_bytes("That did not help, where is it really?", message_id="<q2@mail.example>",
                        subject="Re: Where is my order?", in_reply_to=answer["Message-ID"])
    assert mail.receive(reply, "m-2") == ["recorded"]
    assert mail.sent_after(before) == []
    [reopened] = mail.conversations("open")
    assert reopened["conversation_id"] == conversation["conversation_id"] and reopened["needs_human"] is True
    assert len(mail.thread(conversation["conversation_id"])["messages"]) == 3


def test_the_same_mail_twice_is_one_message_and_one_answer(mail):
    aws = mail.aws
    raw = email_bytes("Where is my order 1001?")
    before = len(aws.sent_emails())
    assert mail.receive(raw, "dup-1") == ["recorded"]
    assert mail.receive(raw, "dup-1") == ["duplicate"]  # the event redelivered
    assert mail.receive(raw, "dup-2") == ["duplicate"]  # SES stored it twice: same Message-ID
    assert len(mail.sent_after(before)) == 1
    [conversation] = mail.conversations("waiting_on_customer")
    assert len(mail.thread(conversation["conversation_id"])["messages"]) == 2


def test_the_s3_notification_form_with_an_encoded_key(mail):
    assert mail.receive(email_bytes("Where is my order 1001?"), "with space", form="s3") == ["recorded"]
    [conversation] = mail.conversations("waiting_on_customer")
    assert mail.thread(conversation["conversation_id"])["messages"][0]["raw_key"] == "inbound/with space"


@pytest.mark.parametrize("headers,why", [
    ({"Auto-Submitted": "auto-replied"}, "automated:auto-submitted"),
    ({"Precedence": "bulk"}, "automated:precedence"),
    ({"X-Auto-Response-Suppress": "All"}, "automated:x-auto-response-suppress"),
])
def test_automated_mail_is_never_answered(mail, headers, why):
    aws = mail.aws
    before = len(aws.sent_emails())
    assert mail.receive(email_bytes("Where is my order 1001?", headers=headers), "auto") == ["recorded"]
    assert mail.sent_after(before) == []
    [conversation] = mail.conversations("open")
    [message] = mail.thread(conversation["conversation_id"])["messages"]
    assert why in message["flags"]


def test_our_own_message_and_a_bounce_are_never_answered(mail):
    aws = mail.aws
    before = len(aws.sent_emails())
    own = email_bytes("Where is my order 1001?", sender=f"{MERCHANT}@{DOMAIN}", message_id=f"<x@{DOMAIN}>")
    mail.receive(own, "own")
    mail.receive((FIXTURES / "delivery_status_report.eml").read_bytes().replace(b"support@shop.test",
                                                                               f"{MERCHANT}@{DOMAIN}".encode()), "dsn")
    assert mail.sent_after(before) == []


def test_attachments_are_stored_in_s3_and_damage_goes_to_a_person(mail):
    aws = mail.aws
    before = len(aws.sent_emails())
    photo = b"\xff\xd8\xff\xe0fake-jpeg"
    raw = email_bytes("My mug from order 1001 arrived broken, photo attached.", attachment=photo,
                      subject="Broken mug")
    assert mail.receive(raw, "photo") == ["recorded"]
    assert mail.sent_after(before) == []
    [conversation] = mail.conversations("open")
    assert conversation["intent"] == "damaged_wrong_item" and conversation["order_id"] == "1001"
    [message] = mail.thread(conversation["conversation_id"])["messages"]
    [key] = message["attachments"]
    assert key.startswith("attachments/") and key.endswith("broken_mug.jpg")
    assert mail.s3.get_object(Bucket=mail.bucket, Key=key)["Body"].read() == photo


@pytest.mark.parametrize("fixture,problem", [("no_sender.eml", "no_sender"), ("truncated.eml", None),
                                             ("unknown_charset.eml", "unknown_charset")])
def test_bad_mail_is_recorded_and_flagged_not_raised(mail, fixture, problem):
    raw = (FIXTURES / fixture).read_bytes().replace(b"support@shop.test", f"{MERCHANT}@{DOMAIN}".encode())
    assert mail.receive(raw, fixture) == ["recorded"]
    [conversation] = mail.conversations("open")
    [message] = mail.thread(conversation["conversation_id"])["messages"]
    if problem:
        assert problem in message["flags"]
    assert conversation["needs_human"] is True


def test_too_large_and_unrouted_mail(mail, monkeypatch):
    from postpurchase.support import mail_intake

    monkeypatch.setattr(mail_intake, "MAX_MAIL_BYTES", 2000)
    big = email_bytes("Where is my order 1001? " + "x" * 5000)
    assert mail.receive(big, "big") == ["recorded"]
    [conversation] = mail.conversations("open")
    [message] = mail.thread(conversation["conversation_id"])["messages"]
    assert "too_large" in message["flags"]

    nobody = email_bytes("hello", to=f"nobody@{DOMAIN}", message_id="<n@mail.example>")
    assert mail.receive(nobody, "nobody") == ["unrouted"]
    tags = mail.s3.get_object_tagging(Bucket=mail.bucket, Key="inbound/nobody")["TagSet"]
    assert {"Key": "support-status", "Value": "unrouted"} in tags


def test_an_outage_raises_so_lambda_retries_then_the_dlq(mail, monkeypatch):
    from postpurchase.errors import RetryLater
    from postpurchase.support import service

    def down(*args, **kwargs):
        raise RetryLater("throttled")

    monkeypatch.setattr(service, "match_order", down)
    with pytest.raises(RetryLater):
        mail.receive(email_bytes("Where is my order 1001?"), "outage")
    assert mail.conversations("open") == []
