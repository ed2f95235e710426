"""The lookup page's "message us" form through the real API handler against moto: the message
reaches support (channel lookup_form), the page never tells whether the address or the order
exists, an automated answer goes only by email and only to the order's own address, and bad
input, forgery and floods are refused at the field / 403 / 429, never a 500."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.test_pages import get, hidden, html, post_form, shipped_order

LOOKUP = "/pages/demo-store/lookup"
CONTACT = "/pages/demo-store/lookup/messages"
OWNER = "ayse.yilmaz@example.com"


def fields(aws, lang: str = "en", **overrides) -> dict:
    page = html(get(aws, LOOKUP, lang=lang))
    values = {"form_nonce": hidden(page, "form_nonce", CONTACT), "csrf_token": hidden(page, "csrf_token", CONTACT),
              "lang": lang, "contact_email": OWNER, "contact_order_number": "1001",
              "message": "Where is my order? It's late."}
    values.update(overrides)
    return values


def conversations(aws) -> list[dict]:
    found = []
    for status in ("open", "waiting_on_customer", "resolved"):
        found += aws.client.get(f"/v1/support/conversations?status={status}",
                                headers=aws.auth()).json_body["conversations"]
    return found


def answered_to(aws, before: int) -> list[str]:
    aws.pump.drain()
    return [mail["To"] for mail in aws.sent_emails()[before:]]


def test_the_owners_question_is_answered_by_email_and_the_page_says_only_received(aws):
    shipped_order(aws)
    page = html(get(aws, LOOKUP, lang="en"))
    assert 'id="lookup-contact-form"' in page and "Message us" in page and 'name="contact_email"' in page
    before = len(aws.sent_emails())
    # The order's address in another spelling, the number as customers type it.
    response = post_form(aws, CONTACT, fields(aws, contact_email="AYSE.Yilmaz@example.com",
                                              contact_order_number="#1001"))
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == LOOKUP and parse_qs(location.query) == {"lang": ["en"], "notice": ["message_sent"]}
    shown = html(get(aws, LOOKUP, lang="en", notice="message_sent")).replace("&#39;", "'")
    assert "we've received your message. We'll answer you by email." in shown
    assert "1001" not in shown and "SBX-OK" not in shown and OWNER not in shown.casefold()
    [conversation] = conversations(aws)
    assert conversation["channel"] == "lookup_form" and conversation["order_id"] == "1001"
    assert conversation["customer_email"] == OWNER and conversation["auto_replies"] == 1
    [recipient] = answered_to(aws, before)
    assert recipient == OWNER
    [answer] = aws.sent_emails()[before:]
    assert answer["Auto-Submitted"] == "auto-replied" and "SBX-OK-1001" in answer.get_body(("plain",)).get_content()


@pytest.mark.parametrize("email,number,text", [
    ("stranger@example.com", "1001", "Where is my order?"),  # the right number, someone else's address
    (OWNER, "9999", "Where is my order?"),  # the owner's address, a number nobody has
    ("stranger@example.com", "", "Where is my order #1001?"),  # the number in the text, not theirs
    ("nobody@example.com", "", "Where is my order?"),  # an address no order has
])
def test_a_miss_looks_exactly_like_a_hit_and_sends_nothing(aws, email, number, text):
    shipped_order(aws)
    hit = post_form(aws, CONTACT, fields(aws, message="Where is my order?"))
    before = len(aws.sent_emails())
    aws.pump.drain()
    before = len(aws.sent_emails())
    miss = post_form(aws, CONTACT, fields(aws, contact_email=email, contact_order_number=number, message=text))
    assert miss.status_code == hit.status_code == 303
    assert miss.headers["Location"] == hit.headers["Location"] and miss.body == hit.body
    assert answered_to(aws, before) == []  # nothing to the stranger, nothing to the owner either
    recorded = next(c for c in conversations(aws) if c["customer_email"] == email and c["conversation_id"] !=
                    next(c["conversation_id"] for c in conversations(aws) if c.get("auto_replies")))
    assert recorded["channel"] == "lookup_form" and recorded["status"] == "open"
    if email != OWNER:
        assert recorded["order_id"] is None


def test_a_double_submit_is_one_message(aws):
    shipped_order(aws)
    form = fields(aws)
    assert post_form(aws, CONTACT, form).status_code == 303
    assert post_form(aws, CONTACT, form).status_code == 303
    [conversation] = conversations(aws)
    thread = aws.client.get(f"/v1/support/conversations/{conversation['conversation_id']}", headers=aws.auth())
    assert [m["direction"] for m in thread.json_body["messages"]] == ["in", "out"]


def test_a_forged_foreign_or_tokenless_form_records_nothing(aws):
    shipped_order(aws)
    assert post_form(aws, CONTACT, fields(aws), origin="https://evil.example").status_code == 403
    assert post_form(aws, CONTACT, fields(aws, csrf_token="k0.forged")).status_code == 403
    assert post_form(aws, CONTACT, fields(aws, form_nonce="1.aaaaaaaaaaaa")).status_code == 403
    tokenless = {k: v for k, v in fields(aws).items() if k not in ("form_nonce", "csrf_token")}
    assert post_form(aws, CONTACT, tokenless).status_code == 403
    assert conversations(aws) == []


def test_a_form_older_than_a_day_asks_to_send_again(aws):
    shipped_order(aws)
    form = fields(aws)
    aws.clock.advance(timedelta(days=1, minutes=1))
    response = post_form(aws, CONTACT, form)
    assert response.status_code == 400
    page = html(response)
    assert 'id="contact-form-error"' in page and "This form has expired" in page
    assert "Where is my order? It" in page  # what was typed is kept
    assert conversations(aws) == []


@pytest.mark.parametrize("overrides,field,code_text", [
    ({"contact_email": ""}, "email", "Please fill in this field."),
    ({"contact_email": "not-an-address"}, "email", "Please enter a valid email address."),
    ({"contact_email": "a\u202e@moc.example"}, "email", "Please enter a valid email address."),
    ({"message": "   "}, "message", "Please fill in this field."),
    ({"message": "x" * 4001}, "message", "Please check what you entered here."),
    ({"contact_order_number": "9" * 65}, "order-number", "Please check what you entered here."),
])
def test_bad_input_comes_back_at_the_field(aws, overrides, field, code_text):
    shipped_order(aws)
    response = post_form(aws, CONTACT, fields(aws, **overrides))
    assert response.status_code == 400
    page = html(response)
    start = page.index(f'id="contact-{field}-error"')
    assert code_text in page[start:page.index("</p>", start)]
    assert f'aria-describedby="contact-{field}-error"' in page
    assert conversations(aws) == []


def test_messages_are_rate_limited_per_address_and_per_client(aws):
    shipped_order(aws)
    for n in range(5):
        assert post_form(aws, CONTACT, fields(aws, contact_email="flood@example.com",
                                              message=f"Hello {n}")).status_code == 303
    limited = post_form(aws, CONTACT, fields(aws, contact_email="flood@example.com", message="Hello again"))
    assert limited.status_code == 429 and 'id="contact-form-error"' in html(limited)
    # The client's ten an hour count every attempt, the refused one too: four more addresses.
    for n in range(4):
        assert post_form(aws, CONTACT, fields(aws, contact_email=f"other{n}@example.com")).status_code == 303
    assert post_form(aws, CONTACT, fields(aws, contact_email="last@example.com")).status_code == 429
    assert len(conversations(aws)) == 9
    aws.clock.advance(timedelta(hours=1))
    assert post_form(aws, CONTACT, fields(aws, contact_email="later@example.com")).status_code == 303


@pytest.mark.parametrize("lang,heading,hint", [
    ("tr", "Bize yazın", "Siparişinizi bulamıyor musunuz"), ("ar", "راسلنا", "لم تجد طلبك"),
    ("ru", "Напишите нам", "Не можете найти заказ"), ("th", "ส่งข้อความถึงเรา", "หาคำสั่งซื้อของคุณไม่พบ"),
    ("id", "Kirim pesan kepada kami", "Tidak menemukan pesanan Anda")])
def test_the_form_is_in_the_pages_language(aws, lang, heading, hint):
    page = html(get(aws, LOOKUP, lang=lang))
    assert heading in page and hint in page
    assert ('dir="rtl"' in page) == (lang == "ar")
    response = post_form(aws, CONTACT, fields(aws, lang=lang, contact_email="x"))
    assert response.status_code == 400 and hint in html(response)
