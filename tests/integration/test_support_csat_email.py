"""The CSAT survey email of a resolved conversation, through the real API and email sender
against moto: one per resolution (a repeated resolve or a redelivered request sends nothing
more), threaded under the conversation, its link withdrawn when the conversation reopens, a new
survey for a new resolution; none without an address, to an opted-out customer, or for a
proactive conversation the customer never wrote in."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest

MERCHANT = "demo-store"
EMAIL = "ayse.yilmaz@example.com"  # events/storefronts/api/order.json


@pytest.fixture
def shop(aws):
    assert aws.post_order(aws.api_order("1001")).status_code == 202
    aws.pump.drain()
    assert aws.post_shipment("1001", {"carrier": "usps", "tracking_number": "SBX-OK-0001"}).status_code == 201
    aws.pump.drain()
    aws.clock.advance(timedelta(hours=1))
    return aws


def ask(aws, text: str, email: str = EMAIL) -> dict:
    response = aws.client.post("/v1/support/messages", headers=aws.auth(),
                               body=aws.encode({"email": email, "text": text, "subject": "Where is my order?"}))
    assert response.status_code == 201, response.json_body
    aws.pump.drain()
    return response.json_body


def set_status(aws, cid: str, status: str):
    response = aws.client.post(f"/v1/support/conversations/{cid}/status", headers=aws.auth(),
                               body=aws.encode({"status": status}))
    assert response.status_code == 200, response.json_body
    return response.json_body["conversation"]


def surveys(aws, before: int) -> list:
    aws.pump.drain()
    return [m for m in aws.sent_emails()[before:] if "support_csat#" in m["X-Postpurchase-Message"]]


def score_links(message) -> list[str]:
    text = message.get_body(("plain",)).get_content()
    return [line.split(": ", 1)[1] for line in text.splitlines() if "/csat/" in line]


def test_resolving_sends_one_threaded_survey_and_a_repeat_sends_nothing_more(shop):
    aws = shop
    asked = ask(aws, "Hi, where is my order 1001? It hasn't arrived yet.")
    cid = asked["conversation_id"]
    thread = aws.client.get(f"/v1/support/conversations/{cid}", headers=aws.auth()).json_body
    answer_id = thread["messages"][-1]["email_message_id"]
    before = len(aws.sent_emails())
    aws.clock.advance(timedelta(minutes=5))
    assert set_status(aws, cid, "resolved")["status"] == "resolved"
    [survey] = surveys(aws, before)
    assert survey["To"].addresses[0].addr_spec == EMAIL
    assert survey["In-Reply-To"] == answer_id and answer_id in survey["References"]
    assert survey["Auto-Submitted"] == "auto-generated"
    links = score_links(survey)
    assert [urlparse(link).query.split("&")[0] for link in links] == [f"score={n}" for n in range(1, 6)]

    # The same resolve again (a retried request), and the survey's request redelivered: no second email.
    set_status(aws, cid, "resolved")
    assert surveys(aws, before + 1) == []
    stored = aws.client.get(f"/v1/support/conversations/{cid}", headers=aws.auth()).json_body["messages"]
    assert [m["flags"] for m in stored if "csat_survey" in m["flags"]] == [["csat_survey"]]
    assert stored[-1]["email_message_id"] == survey["Message-ID"]

    # One click records the score.
    link = urlparse(links[3])
    page = aws.client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200


def test_reopening_withdraws_the_link_and_a_new_resolution_sends_a_new_survey(shop):
    aws = shop
    cid = ask(aws, "My order 1001 arrived and the mug is broken, cracked in half.")["conversation_id"]
    before = len(aws.sent_emails())
    set_status(aws, cid, "resolved")
    [first] = surveys(aws, before)
    aws.clock.advance(timedelta(hours=2))
    set_status(aws, cid, "open")
    link = urlparse(score_links(first)[4])
    assert aws.client.get(f"{link.path}?{link.query}").status_code == 409  # withdrawn
    aws.clock.advance(timedelta(hours=2))
    set_status(aws, cid, "resolved")
    [second] = surveys(aws, before + 1)
    assert second["Message-ID"] != first["Message-ID"]
    newer = urlparse(score_links(second)[4])
    assert aws.client.get(f"{newer.path}?{newer.query}").status_code == 200


def test_a_customers_reply_to_the_survey_reopens_the_conversation(shop):
    """The survey's Message-ID is in the thread: a reply to it joins the conversation (email channel)."""
    aws = shop
    cid = ask(aws, "My order 1001 arrived and the mug is broken, cracked in half.")["conversation_id"]
    before = len(aws.sent_emails())
    set_status(aws, cid, "resolved")
    [survey] = surveys(aws, before)
    from postpurchase.services import support_store

    found = support_store().conversations_for(MERCHANT, [survey["Message-ID"]])
    assert found == {survey["Message-ID"]: cid}


def test_an_opted_out_customer_gets_no_survey(shop):
    aws = shop
    from postpurchase.messaging.preferences import Preferences
    from postpurchase.services import customer_store, order_store

    order = order_store().get_order(MERCHANT, "1001")
    customer_store().save_preferences(MERCHANT, order.customer.customer_id(),
                                      Preferences(all_marketing_off=True, source="preferences_page"), aws.clock.now())
    cid = ask(aws, "My order 1001 arrived and the mug is broken, cracked in half.")["conversation_id"]
    before = len(aws.sent_emails())
    set_status(aws, cid, "resolved")
    assert surveys(aws, before) == []  # the email sender's gate, the same as for every email


def test_no_survey_without_an_address_or_for_a_proactive_conversation_nobody_wrote_in(shop):
    aws = shop
    from postpurchase.storage.support import DynamoSupportStore, Write
    from postpurchase.support import model

    now = aws.clock.now()
    store = DynamoSupportStore()
    silent = model.start(conversation_id="c-proactive", merchant_id=MERCHANT, channel=model.Channel.EMAIL,
                         source=model.Source.PROACTIVE, customer_email=EMAIL, now=now)
    nobody = model.customer_wrote(model.start(conversation_id="c-nobody", merchant_id=MERCHANT,
                                              channel=model.Channel.API, now=now), now=now, intent="other")
    for conversation in (silent, nobody):
        store.record(Write(conversation=conversation, previous_revision=None))
    before = len(aws.sent_emails())
    for cid in ("c-proactive", "c-nobody"):
        assert set_status(aws, cid, "resolved")["status"] == "resolved"
    assert surveys(aws, before) == []
