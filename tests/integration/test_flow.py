"""End to end inside the process: HTTP in, both consumers through the pump, one email out."""
from __future__ import annotations

from datetime import timedelta

DLQS = ("OrderEventsDLQ", "OutboundEmailDLQ")


def settled(aws) -> None:
    aws.pump.drain()
    for queue_id in ("OrderEventsQueue", "OutboundEmailQueue", *DLQS):
        assert aws.queue_depth(queue_id) == 0, queue_id


def test_api_order_to_one_email(aws):
    response = aws.post_order(aws.api_order("F-1"))
    assert response.status_code == 202
    retry = aws.post_order(aws.api_order("F-1"))  # the storefront's retry
    assert retry.status_code == 202

    settled(aws)

    [message] = aws.sent_emails()
    assert str(message["To"]) == "ayse.yilmaz@example.com"
    assert "F-1" in str(message["Subject"]) and "Demo Store" in str(message["Subject"])  # the welcome
    document = aws.get_order("F-1").json_body
    assert document["notifications"] == [{"message": "order_confirmation", "state": "sent",
                                          "sent_at": aws.now.isoformat()}]


def test_shopify_create_paid_and_duplicate_webhook_make_one_email(aws):
    body = aws.encode(aws.shopify_order())
    assert aws.shopify("orders/create", body, "wh-create").status_code == 200
    assert aws.shopify("orders/create", body, "wh-create").status_code == 200  # Shopify's retry
    assert aws.shopify("orders/paid", body, "wh-paid").status_code == 200
    assert aws.queue_depth("OrderEventsQueue") == 2

    settled(aws)

    [message] = aws.sent_emails()
    assert str(message["To"]) == "ayse.yilmaz@example.com"
    assert "#1001" in str(message["Subject"])
    assert [item["order_id"] for item in aws.items_of_type("order")] == ["820982911946154508"]
    document = aws.get_order("820982911946154508").json_body
    assert document["source"] == "shopify" and document["customer"]["id"] == "5566778899001122334"


def test_shopify_order_then_fulfillment_then_cancellation(aws):
    assert aws.shopify("orders/create", aws.encode(aws.shopify_order()), "wh-1").status_code == 200
    fulfillment = aws.storefront_json("shopify/fulfillments_create.json")
    fulfillment["created_at"] = (aws.now + timedelta(hours=2)).isoformat()
    assert aws.shopify("fulfillments/create", aws.encode(fulfillment), "wh-2").status_code == 200
    settled(aws)

    cancelled = aws.storefront_json("shopify/orders_cancelled.json")
    cancelled["created_at"] = aws.now.isoformat()
    cancelled["cancelled_at"] = (aws.now + timedelta(hours=3)).isoformat()
    assert aws.shopify("orders/cancelled", aws.encode(cancelled), "wh-3").status_code == 200
    settled(aws)

    document = aws.get_order("820982911946154508").json_body
    assert document["status"] == "cancelled"
    [shipment] = document["shipments"]
    assert (shipment["shipment_id"], shipment["carrier"], shipment["tracking_number"]) == (
        "5123498761234567890", "DHL Express", "1234567890")
    assert len(aws.sent_emails()) == 1


def test_fulfillment_webhook_before_the_order_still_lands(aws):
    fulfillment = aws.storefront_json("shopify/fulfillments_create.json")
    assert aws.shopify("fulfillments/create", aws.encode(fulfillment), "wh-early").status_code == 200
    assert aws.pump_queue("OrderEventsQueue") == 1  # no order yet: retried

    assert aws.shopify("orders/create", aws.encode(aws.shopify_order()), "wh-order").status_code == 200
    settled(aws)

    assert len(aws.get_order("820982911946154508").json_body["shipments"]) == 1


def test_woocommerce_order_to_one_email(aws):
    ping = aws.client.post(f"/webhooks/woocommerce/{aws.credentials.merchant_id}",
                           headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"webhook_id=17")
    assert ping.status_code == 200
    body = aws.encode(aws.woocommerce_order())
    assert aws.woocommerce("order.created", body, "dl-1").status_code == 200
    assert aws.woocommerce("order.created", body, "dl-1").status_code == 200  # redelivery

    settled(aws)

    [message] = aws.sent_emails()
    assert str(message["To"]) == "fatima.alotaibi@example.com"
    assert "727" in str(message["Subject"])
    assert "فاطمة" in message.get_body(preferencelist=("plain",)).get_content()
    document = aws.get_order("727").json_body
    assert document["source"] == "woocommerce" and document["currency"] == "SAR"


def test_woocommerce_order_then_cancellation(aws):
    assert aws.woocommerce("order.created", aws.encode(aws.woocommerce_order()), "dl-1").status_code == 200
    settled(aws)
    cancelled = aws.woocommerce_order("woocommerce/order_updated_cancelled.json",
                                      when=aws.now + timedelta(hours=1))
    assert aws.woocommerce("order.updated", aws.encode(cancelled), "dl-2").status_code == 200
    settled(aws)

    document = aws.get_order("727").json_body
    assert document["status"] == "cancelled"
    assert document["cancelled_at"] == (aws.now + timedelta(hours=1)).isoformat()
    assert len(aws.sent_emails()) == 1


def test_a_day_of_orders_sends_one_email_per_order(aws):
    """Several customers, repeat orders and retries: one email per order, welcome only once each."""
    customers = {
        "ayse": {"id": "c-ayse", "email": "ayse@example.com", "first_name": "Ayşe", "locale": "tr-TR"},
        "dmitri": {"id": "c-dmitri", "email": "dmitri@example.ru", "first_name": "Дмитрий", "locale": "ru-RU"},
        "somchai": {"id": "c-somchai", "email": "somchai@example.co.th", "first_name": "สมชาย", "locale": "th-TH"},
    }
    plan = [("D-1", "ayse"), ("D-2", "dmitri"), ("D-3", "ayse"), ("D-4", "somchai"), ("D-5", "dmitri")]
    for order_id, who in plan:
        order = aws.api_order(order_id, aws.clock.now(), customer=customers[who], email=customers[who]["email"])
        assert aws.post_order(order).status_code == 202
        assert aws.post_order(order).status_code == 202
        settled(aws)  # each order is processed before the customer's next one
        aws.clock.advance(timedelta(minutes=30))

    messages = aws.sent_emails()
    assert len(messages) == len(plan)
    by_order = {}
    for message in messages:
        [order_id] = [o for o, _ in plan if o in str(message["Subject"])]
        by_order[order_id] = message
    # A welcome subject names the shop, in whichever language the customer reads.
    welcomed = sorted(o for o, m in by_order.items() if "Demo Store" in str(m["Subject"]))
    assert welcomed == ["D-1", "D-2", "D-4"]
    assert str(by_order["D-3"]["To"]) == "ayse@example.com"
