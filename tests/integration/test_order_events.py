"""The order-events consumer, called with Lambda SQS events (and once through the pump)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

ORDER_QUEUE = "OrderEventsQueue"
EMAIL_QUEUE = "OutboundEmailQueue"


def order_placed(aws, order_id: str = "E-1", *, placed_at: datetime | None = None, event_id: str | None = None,
                 customer: dict | None = None, **fields) -> str:
    from postpurchase.orders.events import OrderPlaced
    from postpurchase.orders.models import Order

    data = aws.api_order(order_id, placed_at or aws.now, **fields)
    if customer is not None:
        data["customer"] = customer
        data["email"] = customer["email"]
    return OrderPlaced(event_id=event_id or f"api:{order_id}", merchant_id="demo-store", source="api",
                       received_at=aws.now, order=Order.model_validate(data)).model_dump_json()


def shipment_created(aws, order_id: str, shipment_id: str = "S-1") -> str:
    from postpurchase.orders.events import ShipmentCreated
    from postpurchase.orders.models import Shipment

    return ShipmentCreated(event_id=f"api:{order_id}:{shipment_id}", merchant_id="demo-store", source="api",
                           received_at=aws.now, order_id=order_id,
                           shipment=Shipment(shipment_id=shipment_id, carrier="dhl", tracking_number="JD0123456789",
                                             created_at=aws.now)).model_dump_json()


def order_cancelled(aws, order_id: str) -> str:
    from postpurchase.orders.events import OrderCancelled

    return OrderCancelled(event_id=f"api:{order_id}:cancel", merchant_id="demo-store", source="api",
                          received_at=aws.now, order_id=order_id, cancelled_at=aws.now + timedelta(hours=1),
                          reason="customer").model_dump_json()


def handle(aws, *bodies: str) -> tuple[dict, list[str]]:
    """Invoke the handler with one batch; (event, failed message ids)."""
    event = aws.sqs_event(bodies)
    return event, aws.deliver(aws.order_events, event)


def order_item(aws, order_id: str) -> dict | None:
    return aws.item(f"M#demo-store#O#{order_id}", "ORDER")


def profile_item(aws, customer_id: str = "c-1") -> dict | None:
    return aws.item(f"M#demo-store#C#{customer_id}", "PROFILE")


# ------------------------------------------------------------------ OrderPlaced


def test_order_placed_stores_order_profile_and_requests_one_email(aws):
    _, failed = handle(aws, order_placed(aws, "E-1"))

    assert failed == []
    order = order_item(aws, "E-1")
    assert order is not None
    assert (order["type"], order["merchant_id"], order["order_id"], order["customer_id"]) == (
        "order", "demo-store", "E-1", "c-1")
    assert order["status"] == "placed" and order["is_first_order"] is True
    assert order["gsi1pk"] == "M#demo-store#C#c-1"
    assert order["gsi1sk"].startswith("O#2026-11-20T10:00:00") and order["gsi1sk"].endswith("#E-1")
    assert json.loads(order["document"])["totals"]["total"] == "30.00"

    profile = profile_item(aws)
    assert profile["type"] == "customer"
    assert (profile["email"], profile["first_name"], profile["last_name"]) == (
        "ayse.yilmaz@example.com", "Ayşe", "Yılmaz")
    assert (profile["locale"], profile["timezone"], profile["birthday"]) == ("tr-TR", "Europe/Istanbul", "1990-04-02")
    assert profile["order_count"] == 1 and profile["first_order_id"] == "E-1"

    [request] = [json.loads(body) for body in aws.take(EMAIL_QUEUE)]
    assert (request["kind"], request["variant"], request["ref"], request["recipient"]) == (
        "order_confirmation", "welcome", "E-1", "ayse.yilmaz@example.com")
    assert request["order_page_url"].startswith("https://shop.test/pages/demo-store/orders/E-1?token=")


def test_customer_orders_are_queryable_through_gsi1(aws):
    _, failed = handle(aws, order_placed(aws, "E-1"), order_placed(aws, "E-2", placed_at=aws.now + timedelta(hours=1)))
    assert failed == []

    import boto3
    from boto3.dynamodb.conditions import Key

    table = boto3.resource("dynamodb", region_name="us-east-1").Table(aws.refs["Table"])
    items = table.query(IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq("M#demo-store#C#c-1"))["Items"]
    assert [item["order_id"] for item in items] == ["E-1", "E-2"]  # oldest first


def test_duplicate_delivery_stores_once_and_sends_one_email(aws):
    body = order_placed(aws, "E-1")
    handle(aws, body)
    _, failed = handle(aws, body)  # SQS delivers at least once

    assert failed == []
    assert [item["order_id"] for item in aws.items_of_type("order")] == ["E-1"]
    assert profile_item(aws)["order_count"] == 1
    assert order_item(aws, "E-1")["is_first_order"] is True

    # Both deliveries ask for the confirmation; the send ledger lets one through.
    assert aws.queue_depth(EMAIL_QUEUE) == 2
    aws.pump.drain()
    assert len(aws.sent_emails()) == 1
    assert aws.queue_depth("OutboundEmailDLQ") == 0


def test_duplicate_delivery_inside_one_batch(aws):
    body = order_placed(aws, "E-1")
    _, failed = handle(aws, body, body)

    assert failed == []
    assert profile_item(aws)["order_count"] == 1
    aws.pump.drain()
    assert len(aws.sent_emails()) == 1


# ------------------------------------------------------------------ bad messages


def test_partial_batch_failure_names_exactly_the_bad_messages(aws):
    invalid_event = json.dumps({"type": "OrderPlaced", "garbage": True})
    event, failed = handle(aws, order_placed(aws, "E-1"), "this is not JSON {", invalid_event)

    ids = [record["messageId"] for record in event["Records"]]
    assert sorted(failed) == sorted(ids[1:])
    assert order_item(aws, "E-1") is not None
    assert aws.queue_depth(EMAIL_QUEUE) == 1


@pytest.mark.parametrize("body", [
    json.dumps({"type": "OrderShipped", "event_id": "x", "merchant_id": "demo-store", "source": "api",
                "received_at": "2026-11-20T10:00:00Z"}),
    json.dumps([1, 2, 3]),
    "",
], ids=["unknown-type", "array", "empty"])
def test_other_unusable_bodies_fail_only_themselves(aws, body):
    event, failed = handle(aws, body, order_placed(aws, "E-2"))

    assert failed == [event["Records"][0]["messageId"]]
    assert order_item(aws, "E-2") is not None


def test_poison_message_ends_in_the_dlq_after_five_receives(aws):
    from infra.local.pump import Consumer, QueuePump

    deliveries: dict[str, int] = {}
    real = aws.order_events.lambda_handler

    def counting(event, context):
        for record in event["Records"]:
            deliveries[record["body"]] = deliveries.get(record["body"], 0) + 1
        return real(event, context)

    consumer = aws.consumers[ORDER_QUEUE]
    pump = QueuePump([Consumer(consumer.function_id, consumer.queue_url, consumer.queue_arn, consumer.batch_size,
                               counting, consumer.timeout)], retry_delay_seconds=0)
    poison = "{not json"
    good = order_placed(aws, "E-1")
    # Same batch: both are sent before the first receive.
    aws.send(ORDER_QUEUE, poison)
    aws.send(ORDER_QUEUE, good)

    pump.drain()

    assert deliveries[poison] == 5
    assert deliveries[good] == 1
    assert order_item(aws, "E-1") is not None
    assert aws.queue_depth(ORDER_QUEUE) == 0
    assert aws.queue_depth("OrderEventsDLQ") == 1
    import boto3

    [dead] = boto3.client("sqs", region_name="us-east-1").receive_message(
        QueueUrl=aws.refs["OrderEventsDLQ"], MaxNumberOfMessages=10)["Messages"]
    assert dead["Body"] == poison


# ------------------------------------------------------------------ shipments and cancellations


def test_shipment_before_its_order_is_retried_until_the_order_arrives(aws):
    shipment = shipment_created(aws, "E-1")

    event, failed = handle(aws, shipment)
    assert failed == [event["Records"][0]["messageId"]]
    assert aws.item("M#demo-store#O#E-1", "SHIP#S-1") is None

    handle(aws, order_placed(aws, "E-1"))
    _, failed = handle(aws, shipment)

    assert failed == []
    stored = aws.item("M#demo-store#O#E-1", "SHIP#S-1")
    assert (stored["type"], stored["carrier"], stored["tracking_number"], stored["status"]) == (
        "shipment", "dhl", "JD0123456789", "pending")


def test_shipment_before_its_order_through_the_pump(aws):
    aws.send(ORDER_QUEUE, shipment_created(aws, "E-1"))
    assert aws.pump_queue(ORDER_QUEUE) == 1  # fails: no order yet, back on the queue
    assert aws.queue_depth(ORDER_QUEUE) == 1

    aws.send(ORDER_QUEUE, order_placed(aws, "E-1"))
    aws.pump.drain()

    assert aws.item("M#demo-store#O#E-1", "SHIP#S-1") is not None
    assert aws.queue_depth("OrderEventsDLQ") == 0
    response = aws.get_order("E-1")
    assert [s["shipment_id"] for s in response.json_body["shipments"]] == ["S-1"]


def test_redelivered_shipment_keeps_one_item(aws):
    handle(aws, order_placed(aws, "E-1"))
    shipment = shipment_created(aws, "E-1")
    handle(aws, shipment)
    _, failed = handle(aws, shipment)

    assert failed == []
    assert len(aws.items_of_type("shipment")) == 1


def test_order_cancelled_sets_status(aws):
    handle(aws, order_placed(aws, "E-1"))

    _, failed = handle(aws, order_cancelled(aws, "E-1"))

    assert failed == []
    order = order_item(aws, "E-1")
    assert order["status"] == "cancelled"
    assert order["cancel_reason"] == "customer"
    document = aws.get_order("E-1").json_body
    assert document["status"] == "cancelled"
    assert document["cancelled_at"] == (aws.now + timedelta(hours=1)).isoformat()


def test_cancellation_before_its_order_is_retried(aws):
    event, failed = handle(aws, order_cancelled(aws, "E-1"))

    assert failed == [event["Records"][0]["messageId"]]
    assert order_item(aws, "E-1") is None  # no half-made order from a cancellation


# ------------------------------------------------------------------ first orders


def test_second_order_of_a_customer_is_not_first(aws):
    handle(aws, order_placed(aws, "E-1"))
    handle(aws, order_placed(aws, "E-2", placed_at=aws.now + timedelta(minutes=5)))

    assert order_item(aws, "E-1")["is_first_order"] is True
    assert order_item(aws, "E-2")["is_first_order"] is False
    assert profile_item(aws)["order_count"] == 2
    variants = sorted(json.loads(body)["variant"] for body in aws.take(EMAIL_QUEUE))
    assert variants == ["reassuring", "welcome"]  # the default rules (MessagingSettings)


def test_concurrent_first_orders_of_a_new_customer_make_one_first(aws, monkeypatch):
    """Both invocations read "no profile yet" before either writes (stale read simulated)."""
    from pynamodb.exceptions import DoesNotExist

    from postpurchase.errors import RetryLater
    from postpurchase.orders.models import Order
    from postpurchase.storage.orders import DynamoOrderStore
    from postpurchase.storage.table import CustomerRecord

    store = DynamoOrderStore()
    first = Order.model_validate(aws.api_order("E-1"))
    second = Order.model_validate(aws.api_order("E-2", aws.now + timedelta(seconds=1)))

    recorded_first = store.record_order("demo-store", first, aws.now)
    assert recorded_first.is_first_order is True

    real_get = CustomerRecord.get.__func__

    def stale_get(cls, *args, **kwargs):
        raise DoesNotExist()  # what the second invocation read before the first one wrote

    monkeypatch.setattr(CustomerRecord, "get", classmethod(stale_get))
    with pytest.raises(RetryLater):
        store.record_order("demo-store", second, aws.now)
    assert order_item(aws, "E-2") is None  # the transaction wrote nothing

    monkeypatch.setattr(CustomerRecord, "get", classmethod(real_get))
    retried = store.record_order("demo-store", second, aws.now)  # SQS redelivers

    assert retried.is_first_order is False and retried.newly_recorded is True
    firsts = [item["order_id"] for item in aws.items_of_type("order") if item["is_first_order"]]
    assert firsts == ["E-1"]
    profile = profile_item(aws)
    assert profile["order_count"] == 2 and profile["first_order_id"] == "E-1"


def test_concurrent_first_orders_through_the_handler(aws, monkeypatch):
    """The same race through the consumer: the loser is retried and becomes the repeat-order (reassuring) one."""
    from pynamodb.exceptions import DoesNotExist

    from postpurchase.storage.table import CustomerRecord

    handle(aws, order_placed(aws, "E-1"))
    real_get = CustomerRecord.get.__func__
    stale = {"left": 1}

    def get_once_stale(cls, *args, **kwargs):
        if stale["left"]:
            stale["left"] -= 1
            raise DoesNotExist()
        return real_get(cls, *args, **kwargs)

    monkeypatch.setattr(CustomerRecord, "get", classmethod(get_once_stale))
    second = order_placed(aws, "E-2", placed_at=aws.now + timedelta(seconds=1))
    event, failed = handle(aws, second)
    assert failed == [event["Records"][0]["messageId"]]

    _, failed = handle(aws, second)

    assert failed == []
    assert order_item(aws, "E-1")["is_first_order"] is True
    assert order_item(aws, "E-2")["is_first_order"] is False
    variants = sorted(json.loads(body)["variant"] for body in aws.take(EMAIL_QUEUE))
    assert variants == ["reassuring", "welcome"]  # the default rules (MessagingSettings)


# ------------------------------------------------------------------ confirmation age


def test_an_old_order_is_stored_but_not_confirmed(aws):
    _, failed = handle(aws, order_placed(aws, "OLD-1", placed_at=aws.now - timedelta(days=10)))

    assert failed == []
    assert order_item(aws, "OLD-1") is not None
    assert aws.queue_depth(EMAIL_QUEUE) == 0


def test_an_order_just_inside_the_confirmation_window_is_confirmed(aws):
    from postpurchase.orders.processing import CONFIRMATION_MAX_AGE

    _, failed = handle(aws, order_placed(aws, "E-1", placed_at=aws.now - CONFIRMATION_MAX_AGE + timedelta(minutes=1)))

    assert failed == []
    assert aws.queue_depth(EMAIL_QUEUE) == 1
