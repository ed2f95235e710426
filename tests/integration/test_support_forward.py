"""The helpdesk forward against moto: with `support_forward_address` set (PUT /v1/settings/messaging,
validated), every customer message that needs a person is emailed there once (a retried call or
redelivered message forwards nothing more), Reply-To the customer, Auto-Submitted: auto-forwarded,
with the words, the order and its parcel, and the conversation's link; automated answers are not
forwarded, and nothing is without the setting."""
from __future__ import annotations

from datetime import timedelta

import pytest

MERCHANT = "demo-store"
EMAIL = "ayse.yilmaz@example.com"
HELPDESK = "help@desk.example"


@pytest.fixture
def shop(aws):
    assert aws.post_order(aws.api_order("1001")).status_code == 202
    aws.pump.drain()
    assert aws.post_shipment("1001", {"carrier": "usps", "tracking_number": "SBX-OK-0001"}).status_code == 201
    aws.pump.drain()
    aws.clock.advance(timedelta(hours=1))
    return aws


def set_forward(aws, address):
    return aws.client.put("/v1/settings/messaging", headers=aws.auth(),
                          body=aws.encode({"support_forward_address": address}))


def ask(aws, text: str, key: str) -> dict:
    headers = {**aws.auth(), "Idempotency-Key": key}
    response = aws.client.post("/v1/support/messages", headers=headers,
                               body=aws.encode({"email": EMAIL, "name": "Ayşe", "text": text, "subject": "Broken"}))
    assert response.status_code == 201, response.json_body
    return response.json_body


def forwards(aws, before: int) -> list:
    aws.pump.drain()
    return [m for m in aws.sent_emails()[before:] if "support_forward#" in m["X-Postpurchase-Message"]]


def test_the_setting_is_validated_and_read_back(aws):
    bad = set_forward(aws, "not-an-address")
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "support_forward_address"
    assert set_forward(aws, HELPDESK).status_code == 200
    got = aws.client.get("/v1/settings/messaging", headers=aws.auth()).json_body
    assert got["support_forward_address"] == HELPDESK


def test_a_message_for_a_person_is_forwarded_once_with_the_order_and_reply_to_the_customer(shop):
    aws = shop
    assert set_forward(aws, HELPDESK).status_code == 200
    before = len(aws.sent_emails())
    body = ask(aws, "My order 1001 arrived and the mug is broken, cracked in half.", "k-broken")
    [mail] = forwards(aws, before)
    assert mail["To"].addresses[0].addr_spec == HELPDESK
    assert mail["Reply-To"].addresses[0].addr_spec == EMAIL and mail["Reply-To"].addresses[0].display_name == "Ayşe"
    assert mail["Auto-Submitted"] == "auto-forwarded"
    assert mail["Subject"] == "Fwd: Broken [order 1001]"
    text = mail.get_body(("plain",)).get_content()
    assert "the mug is broken, cracked in half" in text
    assert "Order 1001" in text and "SBX-OK-0001" in text
    assert f"/v1/support/conversations/{body['conversation_id']}" in text
    html = mail.get_body(("html",)).get_content()
    assert "SBX-OK-0001" in html and "Open the conversation" in html

    # The same call again (a retry: the message is redelivered and its forward re-published).
    again = ask(aws, "My order 1001 arrived and the mug is broken, cracked in half.", "k-broken")
    assert again["duplicate"] is True
    assert forwards(aws, before + 1) == []


def test_an_automated_answer_is_not_forwarded_and_nothing_is_without_the_setting(shop):
    aws = shop
    before = len(aws.sent_emails())
    ask(aws, "My order 1001 arrived and the mug is broken, cracked in half.", "k-1")  # no setting yet
    assert forwards(aws, before) == []
    assert set_forward(aws, HELPDESK).status_code == 200
    answered = ask(aws, "Hi, where is my order 1001? It hasn't arrived yet.", "k-2")
    assert answered["auto_answered"] is True
    assert forwards(aws, before) == []


def test_the_console_messaging_page_sets_and_clears_the_forward_address(aws):
    from tests.integration.test_console import html, sign_in
    from tests.integration.test_console_settings import form_of, save

    cookie = sign_in(aws)
    bad = save(aws, cookie, "messaging", support_forward_address="nope")
    assert bad.status_code == 400 and 'id="support_forward_address-error"' in html(bad)
    assert save(aws, cookie, "messaging", support_forward_address=HELPDESK).status_code == 303
    assert aws.client.get("/v1/settings/messaging", headers=aws.auth()).json_body["support_forward_address"] == HELPDESK
    assert form_of(aws, cookie, "messaging")[1]["support_forward_address"] == HELPDESK
    assert save(aws, cookie, "messaging", support_forward_address="").status_code == 303
    assert aws.client.get("/v1/settings/messaging", headers=aws.auth()).json_body["support_forward_address"] is None
