"""The console's messages view through the real handlers (API, order events, email sender, SES
feedback) against moto: sends, skips and bounces land on the merchant's index as they happen,
a page is one Query, kinds filter, a cursor pages, a customer is found by email, and another
shop's staff see none of it."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from infra.aws_requests import count_aws_requests
from infra.local.runtime import load_function_module
from tests.integration.test_admin_cli import cli  # noqa: F401 - the operator CLI fixture
from tests.integration.test_console import BASE, get, html, sign_in

EVENTS = Path(__file__).resolve().parents[2] / "events"
EMAIL = "ayse.yilmaz@example.com"


@pytest.fixture
def feedback(aws):
    return load_function_module("functions/ses_feedback", "fn_ses_feedback")


def bounce(message_id: str, email: str = EMAIL, merchant: str = "demo-store") -> str:
    note = json.loads((EVENTS / "ses" / "bounce_notification.json").read_text(encoding="utf-8"))
    note["mail"]["tags"] = {"merchant": [merchant], "kind": ["order_confirmation"]}
    note["mail"]["messageId"] = message_id
    note["bounce"]["bouncedRecipients"][0]["emailAddress"] = email
    return json.dumps({"Type": "Notification", "Message": json.dumps(note)})


def place(aws, order_id: str) -> None:
    assert aws.post_order(aws.api_order(order_id, placed_at=aws.clock.now())).status_code == 202
    aws.pump.drain()


def orders_listed(page: str) -> list[str]:
    return re.findall(r'returns\?q=([^"&]+)"', page)


def test_sent_skipped_and_bounced_each_have_their_tab_and_a_page_is_one_query(aws, feedback):
    place(aws, "1001")
    [sent] = [item for item in aws.items_of_type("message") if item["state"] == "sent"]
    assert sent["gsi1pk"] == "M#demo-store#MSGS#sent" and sent["kind"] == "order_confirmation"
    assert aws.deliver(feedback, aws.sqs_event([bounce(sent["provider_message_id"])], "SesFeedbackQueue")) == []
    # a redelivered bounce is one entry
    assert aws.deliver(feedback, aws.sqs_event([bounce(sent["provider_message_id"])], "SesFeedbackQueue")) == []
    place(aws, "1002")  # the address is suppressed now: skipped
    cookie = sign_in(aws)

    with count_aws_requests() as requests:
        page = get(aws, f"{BASE}/messages", cookie)
    assert page.status_code == 200, html(page)[:500]
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    assert orders_listed(html(page)) == ["1001"] and "Order confirmation" in html(page)

    skipped = html(get(aws, f"{BASE}/messages", cookie, outcome="skipped"))
    assert orders_listed(skipped) == ["1002"] and "The address bounced or complained before" in skipped
    bounced = html(get(aws, f"{BASE}/messages", cookie, outcome="bounced"))
    assert bounced.count('class="pill pill-bounced"') == 1 and "Permanent/General" in bounced
    assert 'class="pill' not in html(get(aws, f"{BASE}/messages", cookie, outcome="failed"))


def test_a_kind_filters_the_same_query_and_newest_come_first(aws):
    place(aws, "1001")
    aws.clock.advance(timedelta(minutes=5))
    place(aws, "1002")
    cookie = sign_in(aws)
    page = html(get(aws, f"{BASE}/messages", cookie, kind="order_confirmation"))
    assert orders_listed(page) == ["1002", "1001"]
    with count_aws_requests() as requests:
        other_kind = html(get(aws, f"{BASE}/messages", cookie, kind="review_request"))
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    assert orders_listed(other_kind) == [] and "No emails here yet." in other_kind


def test_pages_follow_a_cursor_of_their_own_partition(aws, monkeypatch):
    from postpurchase.storage import message_log

    for number in range(3):
        aws.clock.advance(timedelta(minutes=1))
        place(aws, f"100{number}")
    cookie = sign_in(aws)
    real = message_log.messages_page
    monkeypatch.setattr(message_log, "messages_page", lambda *args, **kw: real(*args, **{**kw, "limit": 2}))
    first = html(get(aws, f"{BASE}/messages", cookie))
    assert orders_listed(first) == ["1002", "1001"]
    cursor = re.search(r'next=([^"&]+)', first).group(1)
    second = html(get(aws, f"{BASE}/messages", cookie, next=cursor))
    assert orders_listed(second) == ["1000"]
    # the sent tab's cursor opens nothing in another tab
    assert get(aws, f"{BASE}/messages", cookie, outcome="skipped", next=cursor).status_code == 400


def test_search_by_email_lists_the_customers_sends_and_bounces(aws, feedback):
    guest = aws.api_order("1001", placed_at=aws.clock.now())
    guest["customer"].pop("id", None)
    assert aws.post_order(guest).status_code == 202
    aws.pump.drain()
    [sent] = [item for item in aws.items_of_type("message") if item["state"] == "sent"]
    aws.deliver(feedback, aws.sqs_event([bounce(sent["provider_message_id"])], "SesFeedbackQueue"))
    cookie = sign_in(aws)
    page = html(get(aws, f"{BASE}/messages", cookie, q=guest["email"]))
    assert orders_listed(page) == ["1001"] and 'pill-bounced' in page and 'pill-sent' in page


def test_search_by_email_finds_a_storefront_customer_too(aws):
    order = aws.api_order("1001", placed_at=aws.clock.now())
    order["customer"]["id"] = "shop-customer-7"
    order["customer"]["email"] = order["email"] = "Ayse.Yilmaz@Example.com"
    assert aws.post_order(order).status_code == 202
    aws.pump.drain()
    cookie = sign_in(aws)
    by_email = html(get(aws, f"{BASE}/messages", cookie, q="ayse.yilmaz@example.com"))
    assert orders_listed(by_email) == ["1001"]
    assert orders_listed(html(get(aws, f"{BASE}/messages", cookie, q="shop-customer-7"))) == ["1001"]
    assert "No email matches your search." in html(get(aws, f"{BASE}/messages", cookie, q="nobody@example.com"))


def _guest_orders(aws, *order_ids: str) -> dict:
    for order_id in order_ids:
        aws.clock.advance(timedelta(minutes=1))
        guest = aws.api_order(order_id, placed_at=aws.clock.now())
        guest["customer"].pop("id", None)
        assert aws.post_order(guest).status_code == 202
        aws.pump.drain()
    return guest


def test_a_search_is_one_query_however_many_orders_the_customer_has(aws, feedback):
    guest = _guest_orders(aws, "1001", "1002", "1003")
    sent = sorted((item for item in aws.items_of_type("message") if item["state"] == "sent"), key=lambda i: i["sk"])
    aws.deliver(feedback, aws.sqs_event([bounce(sent[0]["provider_message_id"])], "SesFeedbackQueue"))
    cookie = sign_in(aws)
    with count_aws_requests() as requests:
        page = html(get(aws, f"{BASE}/messages", cookie, q=guest["email"].upper()))
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    assert orders_listed(page) == ["1003", "1002", "1001"] and 'class="pill pill-bounced"' in page
    with count_aws_requests() as requests:
        other_kind = html(get(aws, f"{BASE}/messages", cookie, q=guest["email"], kind="review_request"))
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    assert orders_listed(other_kind) == [] and 'class="pill pill-bounced"' not in other_kind


def test_a_search_by_customer_id_reads_the_profile_then_one_query(aws):
    order = aws.api_order("1001", placed_at=aws.clock.now())
    order["customer"]["id"] = "shop-customer-7"
    assert aws.post_order(order).status_code == 202
    aws.pump.drain()
    aws.clock.advance(timedelta(minutes=1))
    place(aws, "1002")  # another customer (c-1), same address: a message to the address all the same
    cookie = sign_in(aws)
    with count_aws_requests() as requests:
        page = html(get(aws, f"{BASE}/messages", cookie, q="shop-customer-7"))
    assert dict(requests) == {("DynamoDB", "GetItem"): 1, ("DynamoDB", "Query"): 1}
    assert orders_listed(page) == ["1002", "1001"]
    with count_aws_requests() as requests:
        unknown = html(get(aws, f"{BASE}/messages", cookie, q="nobody-here"))
    assert dict(requests) == {("DynamoDB", "GetItem"): 1}
    assert orders_listed(unknown) == []


def test_backfill_indexes_entries_written_before_the_search_index(aws, cli, feedback):
    from postpurchase.storage.table import MessageRecord

    guest = _guest_orders(aws, "1001", "1002")
    [sent, *_] = [item for item in aws.items_of_type("message") if item["state"] == "sent"]
    aws.deliver(feedback, aws.sqs_event([bounce(sent["provider_message_id"])], "SesFeedbackQueue"))
    for record in MessageRecord.scan():  # as written before gsi5 existed
        record.update(actions=[MessageRecord.gsi5pk.remove(), MessageRecord.gsi5sk.remove()])
    cookie = sign_in(aws)
    assert orders_listed(html(get(aws, f"{BASE}/messages", cookie, q=guest["email"]))) == []

    status, dry = cli("messages", "backfill", "--merchant", "demo-store", "--dry-run")
    entries = len(aws.items_of_type("message"))
    assert status == 0 and dry["scanned"] == dry["would_be_set"] == entries >= 3, dry
    assert orders_listed(html(get(aws, f"{BASE}/messages", cookie, q=guest["email"]))) == []  # nothing written
    status, done = cli("messages", "backfill", "--merchant", "demo-store")
    assert status == 0 and done["set"] == entries, done
    page = html(get(aws, f"{BASE}/messages", cookie, q=guest["email"]))
    assert orders_listed(page) == ["1002", "1001"] and 'class="pill pill-bounced"' in page
    written_since = {(i["pk"], i["sk"]): (i["gsi5pk"], i["gsi5sk"]) for i in aws.items_of_type("message")}
    status, again = cli("messages", "backfill")  # every merchant; idempotent
    assert status == 0 and again.get("scanned", 0) == 0 and "set" not in again, again
    assert {(i["pk"], i["sk"]): (i["gsi5pk"], i["gsi5sk"]) for i in aws.items_of_type("message")} == written_since


@pytest.mark.parametrize("query", [{"outcome": "everything"}, {"kind": "spam"}, {"next": "not-a-cursor"},
                                   {"q": "not@an@email"}])
def test_bad_filters_are_400_pages(aws, query):
    cookie = sign_in(aws)
    assert get(aws, f"{BASE}/messages", cookie, **query).status_code == 400


def test_the_view_needs_a_session_of_this_shop(aws, other_store):
    place(aws, "1001")
    assert get(aws, f"{BASE}/messages").status_code == 401
    theirs = sign_in(aws, other_store, base="/console/other-store")
    assert get(aws, f"{BASE}/messages", theirs).status_code == 401
    page = get(aws, "/console/other-store/messages", theirs)
    assert page.status_code == 200 and orders_listed(html(page)) == []
    assert orders_listed(html(get(aws, "/console/other-store/messages", theirs, q=EMAIL))) == []
