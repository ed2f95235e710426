"""storage.orders.newest_orders, the one read of a customer's newest orders (referrals read the
referrer's, support the sender's): one Query of gsi1, newest first, only that customer's, and
only orders (the customer -> orders partition holds nothing else today, but the prefix says so)."""
from __future__ import annotations

from datetime import timedelta

from infra.aws_requests import count_aws_requests


def place(aws, order_id: str, customer_id: str, at) -> None:
    order = aws.api_order(order_id, placed_at=at)
    order["customer"]["id"] = customer_id
    assert aws.post_order(order).status_code == 202


def test_newest_first_within_the_limit_and_only_the_customers_own(aws):
    from postpurchase.storage.orders import newest_orders

    start = aws.clock.now()
    for step, (order_id, customer) in enumerate([("1001", "c-1"), ("1002", "c-2"), ("1003", "c-1"),
                                                 ("1004", "c-1")]):
        place(aws, order_id, customer, start - timedelta(days=10 - step))
    aws.pump.drain()

    with count_aws_requests() as requests:
        two = newest_orders("demo-store", "c-1", limit=2)
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    assert [order.order_id for order in two] == ["1004", "1003"]
    assert [order.order_id for order in newest_orders("demo-store", "c-1", limit=10)] == ["1004", "1003", "1001"]
    assert [order.order_id for order in newest_orders("demo-store", "c-2", limit=10)] == ["1002"]
    assert newest_orders("other-store", "c-1", limit=10) == []


def test_the_referral_store_reads_the_referrers_orders_through_it(aws, monkeypatch):
    from postpurchase.storage import orders, referrals

    seen = []
    monkeypatch.setattr(referrals, "newest_orders",
                        lambda m, c, limit: seen.append((m, c, limit)) or orders.newest_orders(m, c, limit))
    place(aws, "1001", "c-1", aws.clock.now())
    aws.pump.drain()
    assert [o.order_id for o in referrals.DynamoReferralStore().orders_of("demo-store", "c-1")] == ["1001"]
    assert seen == [("demo-store", "c-1", referrals.REFERRER_ORDERS_READ)]
