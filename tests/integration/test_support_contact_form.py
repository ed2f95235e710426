"""The order page's "message us" form (signed link, CSRF, same origin) through the real API
handler against moto: a support message about this order, answered like any other channel, in
the page's language; bad input comes back at the field."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.test_pages import ORDER_PAGE, get, hidden, html, link, post_form, shipped_order

CONTACT = "/pages/demo-store/orders/1001/messages"


def fields(page: str, **overrides) -> dict:
    values = {"token": hidden(page, "token", CONTACT), "csrf_token": hidden(page, "csrf_token", CONTACT),
              "lang": "en", "form_id": hidden(page, "form_id", CONTACT), "message": "Where is my order? It's late."}
    values.update(overrides)
    return values


def conversations(aws, status):
    return aws.client.get(f"/v1/support/conversations?status={status}", headers=aws.auth()).json_body["conversations"]


def test_a_message_from_the_order_page_is_answered_and_the_page_says_so(aws):
    shipped_order(aws)
    page = html(get(aws, ORDER_PAGE, token=link(aws), lang="en"))
    assert 'id="contact-form"' in page and "Message us" in page
    form = fields(page)
    response = post_form(aws, CONTACT, form)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert urlsplit(location).path == ORDER_PAGE
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["notice"] == "message_sent"
    assert post_form(aws, CONTACT, form).status_code == 303  # a double submit is one message
    [conversation] = conversations(aws, "waiting_on_customer")
    assert conversation["channel"] == "form" and conversation["order_id"] == "1001"
    assert conversation["customer_email"] == "ayse.yilmaz@example.com" and conversation["auto_replies"] == 1
    shown = html(get(aws, ORDER_PAGE, **query))
    assert "we've received your message" in shown.replace("&#39;", "'")
    before = len(aws.sent_emails())
    aws.pump.drain()
    [answer] = aws.sent_emails()[before:]
    assert answer["Auto-Submitted"] == "auto-replied" and "SBX-OK-1001" in answer.get_body(("plain",)).get_content()


@pytest.mark.parametrize("lang,heading", [("tr", "Bize yazın"), ("ar", "راسلنا"), ("ru", "Напишите нам"),
                                          ("th", "ส่งข้อความถึงเรา"), ("id", "Kirim pesan kepada kami")])
def test_the_form_is_in_the_pages_language(aws, lang, heading):
    shipped_order(aws)
    assert heading in html(get(aws, ORDER_PAGE, token=link(aws), lang=lang))


def test_a_forged_or_foreign_form_records_nothing(aws):
    shipped_order(aws)
    page = html(get(aws, ORDER_PAGE, token=link(aws)))
    assert post_form(aws, CONTACT, fields(page), origin="https://evil.example").status_code == 403
    assert post_form(aws, CONTACT, fields(page, csrf_token="forged")).status_code == 403
    assert post_form(aws, CONTACT, fields(page, token=link(aws, "1002"))).status_code == 403
    assert conversations(aws, "open") == [] and conversations(aws, "waiting_on_customer") == []


@pytest.mark.parametrize("message", ["", "   ", "x" * 4001])
def test_an_empty_or_too_long_message_comes_back_at_the_field(aws, message):
    shipped_order(aws)
    page = html(get(aws, ORDER_PAGE, token=link(aws)))
    response = post_form(aws, CONTACT, fields(page, message=message))
    assert response.status_code == 422
    assert 'id="contact-message-error"' in html(response) and 'aria-invalid="true"' in html(response)
    assert conversations(aws, "open") == []
