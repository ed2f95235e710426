"""The helpdesk forward as an email (pure): who is forwarded, and what the merchant receives."""
from __future__ import annotations

import email
from datetime import datetime, timezone
from email import policy

from postpurchase.messaging.mime import build_mime
from postpurchase.messaging.rendering import render_email
from postpurchase.orders.models import Order
from postpurchase.support import model
from postpurchase.support.forward import forward_request, wanted
from tests.unit.test_rendering import make_merchant, make_order

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def message(flags=("needs_human",), direction=model.Direction.IN) -> model.SupportMessage:
    return model.SupportMessage(message_id="m1", conversation_id="c1", merchant_id="m-1", direction=direction,
                                author=model.Author.CUSTOMER, text="The <b>mug</b> is broken.\n\nPlease help.",
                                subject="Broken", created_at=NOW, flags=flags,
                                email_message_id="<CAF=abc@mail.example>")


def conversation() -> model.Conversation:
    return model.start(conversation_id="c1", merchant_id="m-1", channel=model.Channel.EMAIL, now=NOW,
                       customer_email="ayse@example.com", customer_name="Ayşe Yılmaz", subject="Broken")


def test_only_a_customers_message_for_a_person_is_forwarded_and_only_with_an_address():
    assert wanted(message(), "help@desk.example") is True
    assert wanted(message(), None) is False
    assert wanted(message(flags=("auto_reply",)), "help@desk.example") is False
    assert wanted(message(direction=model.Direction.OUT), "help@desk.example") is False


def test_the_forward_carries_the_words_the_order_and_answers_the_customer():
    request = forward_request(conversation(), message(), "help@desk.example", order=Order.model_validate(make_order()), shipments=[],
                              message_id="<c1.fwd.m1@support.example>",
                              conversation_url="https://api.example/v1/support/conversations/c1", now=NOW)
    assert request.message_key == "support_forward#c1.m1" and request.ledger_scope[0] == "order"
    rendered = render_email(request, make_merchant())
    assert "The <b>mug</b> is broken." in rendered.text
    assert "The &lt;b&gt;mug&lt;/b&gt; is broken." in rendered.html  # the customer's words, escaped
    assert "Not shipped yet." in rendered.text and "https://api.example/v1/support/conversations/c1" in rendered.text
    raw = build_mime(request, make_merchant(), subject=rendered.subject, html=rendered.html, text=rendered.text, now=NOW)
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert mail["Auto-Submitted"] == "auto-forwarded"
    assert mail["Reply-To"].addresses[0].addr_spec == "ayse@example.com"
    assert mail["Reply-To"].addresses[0].display_name == "Ayşe Yılmaz"
    assert mail["In-Reply-To"] == "<CAF=abc@mail.example>"
