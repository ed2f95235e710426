"""Analytics through the real consumers (moto): events -> counters -> the console's analytics page.

Orders (order_events), the confirmation email (email_sender), a parcel followed by the sandbox
carrier to delivery through an exception (tracking_poller + tracking_worker), a return asked for
and refunded (API + return_events), a rating (feedback API), a hard bounce (ses_feedback) and
loyalty points (the ledger's transaction): each shows on the page, read with ONE Query; a
redelivered event counts once; another shop sees none of it."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from infra.aws_requests import count_aws_requests
from infra.local.runtime import load_function_module

from test_console import BASE, get, html, sign_in
from test_loyalty_api import SETTINGS
from test_ses_feedback import notification

MERCHANT = "demo-store"
LABEL = {"action": "issue_label", "carrier": "ups", "tracking_number": "1Z999AA10123456784",
         "label_url": "https://labels.example/1Z999AA10123456784.pdf"}


def counters(aws, merchant: str = MERCHANT) -> dict[str, int]:
    """Every stored counter of the merchant: "{day}#{metric}#{shard}#{dimension}" -> count."""
    return {item["sk"]: int(item["count"]) for item in aws.table_items() if item["pk"] == f"M#{merchant}#STATS"}


def total(found: dict[str, int], metric: str, dimension: str | None = None) -> int:
    return sum(count for sk, count in found.items()
               if sk.split("#", 3)[1] == metric and (dimension is None or sk.split("#", 3)[3] == dimension))


def place(aws, order_id: str) -> dict:
    order = aws.api_order(order_id, placed_at=aws.clock.now())
    assert aws.post_order(order).status_code == 202
    aws.pump.drain()
    return order


def follow_to_delivery(aws, poller, order_id: str, shipment_id: str) -> None:
    for _ in range(60):  # a sweep every three hours, up to a week and a half
        aws.clock.advance(timedelta(hours=3))
        aws.invoke(poller, {})
        aws.pump.drain()
        item = aws.item(f"M#{MERCHANT}#O#{order_id}", f"SHIP#{shipment_id}")
        if item["status"] == "delivered":
            return
    raise AssertionError(f"{shipment_id} was not delivered: {item['status']}")


def rate(aws, order_id: str, sku: str, rating: int):
    from postpurchase.messaging.links import rating_url

    token = urlsplit(rating_url(MERCHANT, order_id, sku, aws.clock.now())).path.rstrip("/").rsplit("/", 1)[-1]
    response = aws.client.post(f"/v1/feedback/{token}", headers={"Content-Type": "application/json"},
                               body=aws.encode({"rating": rating}))
    assert response.status_code in (200, 201), response.body
    return response


@pytest.fixture
def poller(aws):
    return load_function_module("functions/tracking_poller", "fn_tracking_poller")


def test_events_through_the_consumers_show_on_the_analytics_page(aws, poller):
    assert aws.client.put("/v1/settings/loyalty", headers=aws.auth(), body=aws.encode(SETTINGS)).status_code == 200
    order = place(aws, "A-1")
    place(aws, "A-2")
    units = sum(item["quantity"] for item in order["items"]) * 2
    sku = order["items"][0]["sku"]

    response = aws.post_shipment("A-1", {"carrier": "usps", "tracking_number": "SBX-DELAY-0001"})
    assert response.status_code == 201
    aws.pump.drain()
    follow_to_delivery(aws, poller, "A-1", response.json_body["shipment_id"])

    rma = aws.client.post("/v1/orders/A-1/returns", headers=aws.auth(), body=aws.encode(
        {"items": [{"sku": sku, "quantity": 1}], "reason": "damaged", "resolution": "refund"})).json_body
    aws.pump.drain()
    aws.clock.advance(timedelta(days=2))
    for command in (LABEL, {"action": "receive"}, {"action": "inspect", "lines": [{"sku": sku, "accepted_quantity": 1}]},
                    {"action": "resolve", "resolution": {"kind": "refund", "amount": "1.00"}}):
        step = aws.client.post(f"/v1/orders/A-1/returns/{rma['rma_id']}/transitions", headers=aws.auth(),
                               body=aws.encode(command))
        assert step.status_code == 200, (command, step.body)
    aws.pump.drain()
    rate(aws, "A-1", sku, 4)
    rate(aws, "A-1", sku, 2)  # changed: the count moves from 4 to 2 stars
    feedback = load_function_module("functions/ses_feedback", "fn_ses_feedback")
    bounce = notification("bounce", email="someone@example.com")
    assert aws.deliver(feedback, aws.sqs_event([bounce], "SesFeedbackQueue")) == []

    found = counters(aws)
    assert total(found, "orders") == 2 and total(found, "units") == units
    assert total(found, "shipped", "usps") == 1 and total(found, "delivered", "usps") == 1
    assert total(found, "exceptions", "usps") == 1  # SBX-DELAY meets one exception on the way
    assert total(found, "delivery_days") == 1 and total(found, "eta_known", "usps") == 1
    assert total(found, "returns") == 1 and total(found, "returned_reason", "damaged") == 1
    assert total(found, "returned_sku", sku) == 1 and total(found, "refund_days") == 1
    assert total(found, "emails", "sent#order_confirmation") == 2
    assert total(found, "emails", "bounced#unknown") == 1  # the sample notification carries no kind tag
    assert total(found, "ratings", "2") == 1 and total(found, "ratings", "4") == 0
    assert total(found, "points", "issued") > 0

    cookie = sign_in(aws)
    get(aws, f"{BASE}/analytics", cookie)  # merchant settings cached per container
    with count_aws_requests() as requests:
        page = get(aws, f"{BASE}/analytics", cookie, days="30")
    assert page.status_code == 200, html(page)[:500]
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    body = html(page)
    assert 'aria-current="page">Analytics' in body and "<script" not in body
    assert re.search(r'<svg [^>]*role="img"[^>]*aria-labelledby="orders-title"', body)
    assert '<title id="orders-title">Orders per day</title>' in body
    assert ": 2." in body  # "Orders from ... to ...: 2."
    assert re.search(r"<th scope=\"row\"><bdi class=\"mono\">usps</bdi></th>\s*<td>1</td>\s*<td>1</td>", body)
    assert "Damaged or defective" in body and f">{sku}</bdi>" in body
    assert "Order confirmation" in body and "Refunds: 1." in body
    assert "2 stars: 1" in body  # the bar's tooltip
    assert "No data yet" not in body.split('id="loyalty-heading"')[1]  # points were issued


def test_a_redelivered_event_is_counted_once(aws):
    assert aws.post_order(aws.api_order("D-1", placed_at=aws.clock.now())).status_code == 202
    [body] = aws.take("OrderEventsQueue")
    assert aws.deliver(aws.order_events, aws.sqs_event([body], "OrderEventsQueue")) == []
    aws.pump.drain()
    before = counters(aws)
    assert total(before, "orders") == 1 and total(before, "emails", "sent#order_confirmation") == 1
    # SQS delivers the same message again (twice in one batch, then once more after the email).
    assert aws.deliver(aws.order_events, aws.sqs_event([body, body], "OrderEventsQueue")) == []
    aws.pump.drain()
    feedback = load_function_module("functions/ses_feedback", "fn_ses_feedback")
    bounce = notification("bounce", email="twice@example.com")
    assert aws.deliver(feedback, aws.sqs_event([bounce], "SesFeedbackQueue")) == []
    assert aws.deliver(feedback, aws.sqs_event([bounce], "SesFeedbackQueue")) == []
    after = counters(aws)
    assert total(after, "orders") == 1 and total(after, "units") == total(before, "units")
    assert total(after, "emails", "sent#order_confirmation") == 1  # the ledger said duplicate: counted once
    assert total(after, "emails", "bounced#unknown") == 1


def test_another_shop_sees_none_of_it_and_days_is_checked(aws, other_store):
    place(aws, "O-1")
    theirs = sign_in(aws, other_store, base="/console/other-store")
    page = html(get(aws, "/console/other-store/analytics", theirs))
    assert "Orders from" in page and "No data yet: the numbers appear" in page and "O-1" not in page
    assert ": 0." in page
    # Their session does not open ours.
    refused = get(aws, f"{BASE}/analytics", theirs)
    assert refused.status_code == 401 and 'name="api_key"' in html(refused)
    ours = sign_in(aws)
    for bad in ("0", "91", "abc", "-1", "1e3"):
        answer = get(aws, f"{BASE}/analytics", ours, days=bad)
        assert answer.status_code == 400, bad
    assert get(aws, f"{BASE}/analytics", ours, days="7").status_code == 200


def test_an_unsubscribe_counts_when_it_changes_something_and_a_tagged_complaint_under_its_kind(aws):
    from postpurchase.messaging.links import unsubscribe_url

    place(aws, "U-1")
    path = unsubscribe_url(MERCHANT, "c-1", "campaign", aws.clock.now()).removeprefix(aws.public_base_url)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for _ in range(2):  # the second POST (a provider retry) changes nothing: not counted again
        assert aws.client.post(path, headers=form, body=b"List-Unsubscribe=One-Click").status_code == 200
    complaint = json.loads(json.loads(notification("complaint", email="c@example.com"))["Message"])
    complaint["mail"]["tags"]["kind"] = ["order_confirmation"]
    feedback = load_function_module("functions/ses_feedback", "fn_ses_feedback")
    body = json.dumps({"Type": "Notification", "Message": json.dumps(complaint)})
    assert aws.deliver(feedback, aws.sqs_event([body, body], "SesFeedbackQueue")) == []
    found = counters(aws)
    assert total(found, "emails", "unsubscribed#campaign") == 1
    assert total(found, "emails", "complained#order_confirmation") == 1
    # The marker keeps no address in its key.
    assert not any("c@example.com" in item["pk"] for item in aws.table_items())


def test_a_fact_with_more_counters_than_a_transaction_holds_is_counted_once_in_parts(aws):
    from postpurchase.analytics import counters as c
    from postpurchase.storage.stats import DynamoStats

    stats, now = DynamoStats(), aws.clock.now()
    tally = c.order_placed(MERCHANT, "BIG-1", now, [(f"SKU-{n:03d}", 1) for n in range(150)])
    assert len(tally.merged()) == 152  # orders, units and 150 SKUs: two transactions
    assert stats.record(tally, now) is True
    assert stats.record(tally, now) is False
    found = counters(aws)
    assert total(found, "orders") == 1 and total(found, "units") == 150 and total(found, "sold") == 150
    markers = [item["pk"] for item in aws.table_items() if item["pk"].startswith(f"M#{MERCHANT}#STATSEV#order#BIG-1")]
    assert sorted(markers) == [f"M#{MERCHANT}#STATSEV#order#BIG-1", f"M#{MERCHANT}#STATSEV#order#BIG-1#p1"]
    rows = stats.read(MERCHANT, now.date(), now.date())
    assert sum(n for _, metric, _, n in rows if metric == "sold") == 150
