"""Support conversations through the real API handler and email sender against moto: a customer's
question matched to their order, answered from live tracking / return data (threaded,
Auto-Submitted, in their language), everything else handed to the merchant; the loop rules; the
hand-off API (list, thread, reply, status), tenant isolation and duplicates."""
from __future__ import annotations

from datetime import timedelta

import pytest

MERCHANT = "demo-store"
EMAIL = "ayse.yilmaz@example.com"  # events/storefronts/api/order.json


@pytest.fixture
def shop(aws):
    response = aws.post_order(aws.api_order("1001"))
    assert response.status_code == 202, response.json_body
    aws.pump.drain()
    shipped = aws.post_shipment("1001", {"carrier": "usps", "tracking_number": "SBX-OK-0001"})
    assert shipped.status_code == 201, shipped.json_body
    aws.pump.drain()
    aws.clock.advance(timedelta(hours=1))
    return aws


def ask(aws, body, api_key=None, key=None):
    headers = aws.auth(api_key)
    if key:
        headers["Idempotency-Key"] = key
    return aws.client.post("/v1/support/messages", headers=headers, body=aws.encode(body))


def test_a_wismo_question_is_answered_from_live_tracking_threaded_and_auto_submitted(shop):
    aws = shop
    response = ask(aws, {"email": EMAIL, "text": "Hi, where is my order 1001? It hasn't arrived yet.",
                         "subject": "Where is my order?"})
    assert response.status_code == 201, response.json_body
    body = response.json_body
    assert body["intent"] == "where_is_my_order" and body["auto_answered"] is True
    assert body["order_id"] == "1001" and body["status"] == "waiting_on_customer"
    before = len(aws.sent_emails())
    aws.pump.drain()
    [reply] = aws.sent_emails()[before:]
    assert reply["To"].addresses[0].addr_spec == EMAIL
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["Subject"] == "Re: Where is my order?"
    text = reply.get_body(("plain",)).get_content()
    assert "SBX-OK-0001" in text and "/pages/demo-store/orders/1001?token=" in text
    assert "automatic answer" in text

    thread = aws.client.get(f"/v1/support/conversations/{body['conversation_id']}", headers=aws.auth()).json_body
    assert [(m["direction"], m["author"]) for m in thread["messages"]] == [("in", "customer"), ("out", "automation")]
    assert thread["messages"][1]["email_message_id"] == reply["Message-ID"]
    assert thread["conversation"]["first_response_at"] is not None


def test_the_answer_is_in_the_customers_language(shop):
    aws = shop
    response = ask(aws, {"email": EMAIL, "text": "Merhaba, 1001 numaralı siparişim nerede? Kargom hâlâ gelmedi."})
    assert response.status_code == 201, response.json_body
    assert response.json_body["language"] == "tr" and response.json_body["auto_answered"] is True
    before = len(aws.sent_emails())
    aws.pump.drain()
    [reply] = aws.sent_emails()[before:]
    text = reply.get_body(("plain",)).get_content()
    assert "SBX-OK-0001" in text and "automatic answer" not in text


@pytest.mark.parametrize("text,intent", [
    ("My order 1001 arrived and the mug is broken, cracked in half.", "damaged_wrong_item"),
    ("Please cancel my order 1001, I ordered by mistake.", "cancel_change"),
    ("WHERE IS MY ORDER 1001??? THIS IS RIDICULOUS!!!", None),
    ("Do you sell gift cards?", None),
])
def test_damaged_cancel_angry_and_unknown_go_to_a_human_with_the_order(shop, text, intent):
    aws = shop
    response = ask(aws, {"email": EMAIL, "text": text})
    assert response.status_code == 201, response.json_body
    body = response.json_body
    assert body["auto_answered"] is False and body["status"] == "open"
    if intent:
        assert body["intent"] == intent
    before = len(aws.sent_emails())
    aws.pump.drain()
    assert aws.sent_emails()[before:] == []
    listed = aws.client.get("/v1/support/conversations?status=open", headers=aws.auth()).json_body
    [conversation] = [c for c in listed["conversations"] if c["conversation_id"] == body["conversation_id"]]
    assert conversation["needs_human"] is True
    if "1001" in text:
        assert conversation["order_id"] == "1001"


def test_an_order_number_of_someone_else_is_not_answered(shop):
    aws = shop
    response = ask(aws, {"email": "stranger@example.net", "text": "Where is my order 1001?"})
    body = response.json_body
    assert body["auto_answered"] is False and body["order_id"] is None
    assert body["not_answered_because"] == "no_order_matched"
    thread = aws.client.get(f"/v1/support/conversations/{body['conversation_id']}", headers=aws.auth()).json_body
    assert thread["conversation"]["mentioned_orders"] == ["1001"]


def test_an_order_id_passed_by_the_api_for_another_address_is_not_answered(shop):
    """A chat widget may pass on the number a visitor typed: through the API the order must be the
    sender's too (the order page's signed form is what proves an order by itself)."""
    aws = shop
    body = ask(aws, {"email": "stranger@example.net", "order_id": "1001", "text": "Where is my order?"}).json_body
    assert body["auto_answered"] is False and body["order_id"] is None
    thread = aws.client.get(f"/v1/support/conversations/{body['conversation_id']}", headers=aws.auth()).json_body
    assert thread["conversation"]["mentioned_orders"] == ["1001"]
    aws.pump.drain()
    assert not [e for e in aws.sent_emails() if "stranger@example.net" in str(e["To"])]


def test_a_tracking_number_matches_the_order(shop):
    aws = shop
    body = ask(aws, {"email": EMAIL, "text": "Where is my package? The tracking number is SBX-OK-0001."}).json_body
    assert body["order_id"] == "1001" and body["auto_answered"] is True


def test_a_return_question_gets_the_window_and_the_start_link(shop):
    aws = shop
    body = ask(aws, {"email": EMAIL, "order_id": "1001", "text": "How can I return the mug? I want to send it back."}
               ).json_body
    assert body["intent"] == "return_exchange", body
    assert body["auto_answered"] is True, body
    before = len(aws.sent_emails())
    aws.pump.drain()
    [reply] = aws.sent_emails()[before:]
    html = reply.get_body(("html",)).get_content()
    assert "/pages/demo-store/orders/1001?token=" in html and "#returns" in html
    assert "Ceramic mug: return by December 25, 2026" in reply.get_body(("plain",)).get_content()


def test_a_duplicate_call_is_one_message_and_one_email(shop):
    aws = shop
    first = ask(aws, {"email": EMAIL, "text": "Where is my order 1001?"}, key="k-1").json_body
    again = ask(aws, {"email": EMAIL, "text": "Where is my order 1001?"}, key="k-1").json_body
    assert again["conversation_id"] == first["conversation_id"] and again["duplicate"] is True
    before = len(aws.sent_emails())
    aws.pump.drain()
    assert len(aws.sent_emails()[before:]) == 1
    thread = aws.client.get(f"/v1/support/conversations/{first['conversation_id']}", headers=aws.auth()).json_body
    assert len(thread["messages"]) == 2


@pytest.mark.parametrize("body,field", [
    ({"text": "hi"}, "email"),
    ({"email": "not-an-email", "text": "hi"}, "email"),
    ({"email": EMAIL}, "text"),
    ({"email": EMAIL, "text": "   "}, "text"),
    ({"email": EMAIL, "text": "hi", "language": "fr"}, "language"),
    ({"email": EMAIL, "text": "hi", "order_id": "a b"}, "order_id"),
    ({"email": EMAIL, "text": "hi", "extra": 1}, "extra"),
])
def test_bad_bodies_are_400_naming_the_field(aws, body, field):
    response = ask(aws, body)
    assert response.status_code == 400
    assert response.json_body["error"]["field"] == field


def test_hand_off_reply_status_and_tenant_isolation(shop, other_store):
    aws = shop
    body = ask(aws, {"email": EMAIL, "text": "The mug in order 1001 arrived broken.", "name": "Ayşe"}).json_body
    cid = body["conversation_id"]
    assert aws.client.get(f"/v1/support/conversations/{cid}", headers=aws.auth(other_store)).status_code == 404
    assert aws.client.post(f"/v1/support/conversations/{cid}/replies", headers=aws.auth(other_store),
                           body=aws.encode({"text": "x"})).status_code == 404
    assert aws.client.post(f"/v1/support/conversations/{cid}/status", headers=aws.auth(other_store),
                           body=aws.encode({"status": "resolved"})).status_code == 404
    assert aws.client.get("/v1/support/conversations", headers=aws.auth(other_store)).json_body["conversations"] == []

    replied = aws.client.post(f"/v1/support/conversations/{cid}/replies", headers={**aws.auth(), "Idempotency-Key": "r1"},
                              body=aws.encode({"text": "So sorry!\n\nA new mug ships today.", "author_name": "Deniz"}))
    assert replied.status_code == 201, replied.json_body
    assert replied.json_body["conversation"]["status"] == "waiting_on_customer"
    again = aws.client.post(f"/v1/support/conversations/{cid}/replies", headers={**aws.auth(), "Idempotency-Key": "r1"},
                            body=aws.encode({"text": "So sorry!\n\nA new mug ships today.", "author_name": "Deniz"}))
    assert again.json_body["message"]["message_id"] == replied.json_body["message"]["message_id"]
    before = len(aws.sent_emails())
    aws.pump.drain()
    [email] = aws.sent_emails()[before:]
    assert email["Auto-Submitted"] is None
    assert "A new mug ships today." in email.get_body(("plain",)).get_content()
    assert email["Message-ID"] == replied.json_body["message"]["email_message_id"]

    waiting = aws.client.get("/v1/support/conversations?status=waiting_on_customer", headers=aws.auth()).json_body
    assert [c["conversation_id"] for c in waiting["conversations"]] == [cid]
    resolved = aws.client.post(f"/v1/support/conversations/{cid}/status", headers=aws.auth(),
                               body=aws.encode({"status": "resolved", "assignee": "deniz@shop"}))
    assert resolved.status_code == 200, resolved.json_body
    assert resolved.json_body["conversation"]["status"] == "resolved"
    assert resolved.json_body["conversation"]["assignee"] == "deniz@shop"
    assert aws.client.get("/v1/support/conversations?status=open", headers=aws.auth()).json_body["conversations"] == []
    bad = aws.client.post(f"/v1/support/conversations/{cid}/status", headers=aws.auth(),
                          body=aws.encode({"status": "closed"}))
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "status"
    assert aws.client.get("/v1/support/conversations?status=nope", headers=aws.auth()).status_code == 400
    assert aws.client.get("/v1/support/conversations?cursor=xyz", headers=aws.auth()).status_code == 400


def test_the_list_pages_newest_first(aws):
    ids = []
    for n in range(3):
        aws.clock.advance(timedelta(minutes=1))
        ids.append(ask(aws, {"email": f"c{n}@example.com", "text": f"Question number {n} about gift cards"}
                       ).json_body["conversation_id"])
    first = aws.client.get("/v1/support/conversations?status=open&limit=2", headers=aws.auth()).json_body
    assert [c["conversation_id"] for c in first["conversations"]] == ids[::-1][:2] and first["next_cursor"]
    second = aws.client.get(f"/v1/support/conversations?status=open&limit=2&cursor={first['next_cursor']}",
                            headers=aws.auth()).json_body
    assert [c["conversation_id"] for c in second["conversations"]] == ids[:1]


def _incoming(text, **fields):
    from postpurchase.support.model import Channel
    from postpurchase.support.service import Incoming

    return Incoming(**{"merchant_id": MERCHANT, "channel": Channel.EMAIL, "identity": f"s3://mail/{text}",
                       "text": text, "email": EMAIL, "subject": "Order 1001", **fields})


def test_one_auto_reply_per_conversation_per_day_and_never_to_automated_mail(shop):
    from postpurchase.support.service import receive_message

    aws = shop
    first = receive_message(_incoming("Where is my order 1001?", email_message_id="<a1@mail.example>"),
                            aws.clock.now())
    assert first.auto_answered
    ours = first.reply.email_message_id
    aws.clock.advance(timedelta(hours=2))
    same_day = receive_message(_incoming("Still, where is my order 1001?", email_message_id="<a2@mail.example>",
                                         in_reply_to=ours, references=("<a1@mail.example>", ours)), aws.clock.now())
    assert same_day.conversation.conversation_id == first.conversation.conversation_id  # threaded by our Message-ID
    assert not same_day.auto_answered and same_day.why_not_answered == "auto_reply_today"
    assert same_day.conversation.status.value == "open" and same_day.conversation.needs_human
    aws.clock.advance(timedelta(days=1))
    next_day = receive_message(_incoming("Where is my package now?", email_message_id="<a3@mail.example>",
                                         in_reply_to=ours), aws.clock.now())
    assert next_day.auto_answered and next_day.conversation.auto_replies == 2
    # The second answer is threaded under everything before it.
    request = next_day.requests[0]
    assert request.support.in_reply_to == "<a3@mail.example>"
    assert request.support.references[:2] == ["<a1@mail.example>", ours]

    automated = receive_message(_incoming("Where is my order 1001? (out of office)", automated="auto-submitted",
                                          email_message_id="<ooo@mail.example>"), aws.clock.now())
    assert not automated.auto_answered and automated.why_not_answered == "automated:auto-submitted"
    assert "automated:auto-submitted" in automated.message.flags


def test_a_resolved_conversation_reopens_when_the_customer_writes(shop):
    from postpurchase.support.service import receive_message, set_status

    aws = shop
    first = receive_message(_incoming("My mug from order 1001 arrived broken", email_message_id="<b1@mail.example>"),
                            aws.clock.now())
    cid = first.conversation.conversation_id
    assert set_status(MERCHANT, cid, "resolved", aws.clock.now()).status.value == "resolved"
    aws.clock.advance(timedelta(hours=1))
    again = receive_message(_incoming("It is still broken", email_message_id="<b2@mail.example>",
                                      in_reply_to="<b1@mail.example>"), aws.clock.now())
    assert again.conversation.conversation_id == cid and again.conversation.status.value == "open"
    # Someone else quoting the Message-ID does not join the customer's conversation.
    other = receive_message(_incoming("hello", email="else@example.net", email_message_id="<b3@mail.example>",
                                      in_reply_to="<b1@mail.example>"), aws.clock.now())
    assert other.conversation.conversation_id != cid


def test_a_guests_address_finds_their_newest_order_when_no_number_is_given(aws):
    guest = aws.api_order("G-7", email="guest@example.org",
                          customer={"email": "guest@example.org", "first_name": "Dewi", "locale": "id-ID"})
    assert aws.post_order(guest).status_code == 202
    aws.pump.drain()
    assert aws.post_shipment("G-7", {"carrier": "usps", "tracking_number": "SBX-OK-0077"}).status_code == 201
    aws.pump.drain()
    found = ask(aws, {"email": "guest@example.org", "text": "Di mana pesanan saya? Paket belum sampai."}).json_body
    assert found["order_id"] == "G-7" and found["auto_answered"] is True, found
    # A storefront customer's id is not derived from the address: no guess, a person asks.
    other = ask(aws, {"email": EMAIL, "text": "Where is my package?"}).json_body
    assert other["order_id"] is None and other["not_answered_because"] == "no_order_matched"
