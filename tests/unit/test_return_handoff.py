"""Handing a resolved return to the merchant (returns/handoff.py) and the return-events consumer
(returns/effects.py) with fake ports: notices, the ReturnResolved event, the signed webhook."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from postpurchase.errors import NotFound, RetryLater
from postpurchase.orders.events import StorefrontReturnChanged
from postpurchase.returns import effects, handoff
from postpurchase.returns import rma as lifecycle
from postpurchase.returns.messages import DeliverReturnWebhook, ReturnChanged
from postpurchase.returns.rma import ReturnRequest, RmaStatus as S
from postpurchase.returns.storefront_sync import apply_storefront_change

from test_return_service import (
    CUSTOMER_ACCESS,
    MERCHANT_ID,
    NOW,
    ORDER_ID,
    World,
    body,
    changed,
    command,
    make_world,
    walk_to_inspected,
)

SECRET = "whsec_test"
URL = "https://merchant.example/hooks/returns"


def order_page_url(merchant_id: str, order_id: str) -> str:
    return f"https://orders.example/{merchant_id}/{order_id}"


@dataclass
class Target:
    returns_url: str | None = URL
    secret: str | None = SECRET


class FakePorts:
    def __init__(self, world: World, target: Target | None = None) -> None:
        self.store, self.policies = world.store, world.policies
        self.target = target
        self.emails: list = []
        self.events: list[tuple[str, dict]] = []
        self.queued: list[DeliverReturnWebhook] = []
        self.posts: list[tuple[str, bytes, dict]] = []
        self.targets_asked: list[str] = []
        self.tracked: list[tuple] = []
        self.resolved: list[tuple] = []
        self.delivered: set[tuple[str, str, str]] = set()
        self.later: list[tuple[DeliverReturnWebhook, int]] = []
        self.failing_posts = 0  # how many of the next POSTs the merchant's endpoint refuses
        self.tallies: list = []  # analytics facts counted (the real port counts each key once)

    def request_email(self, request) -> None:
        self.emails.append(request)

    def publish_event(self, detail_type: str, detail: dict) -> None:
        self.events.append((detail_type, detail))

    def enqueue(self, message: DeliverReturnWebhook) -> None:
        self.queued.append(message)

    def return_resolved(self, merchant_id: str, order_id: str, rma, now: datetime) -> None:
        self.resolved.append((merchant_id, order_id, rma.rma_id))

    def track_return_parcel(self, merchant_id: str, order_id: str, rma_id: str, carrier: str, tracking_number: str,
                            now: datetime) -> None:
        self.tracked.append((merchant_id, order_id, rma_id, carrier, tracking_number, now))

    def webhook_target(self, merchant_id: str) -> Target | None:
        self.targets_asked.append(merchant_id)
        return self.target

    def count(self, tally, now: datetime) -> None:
        self.tallies.append(tally)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.posts.append((url, body, headers))
        if self.failing_posts:
            self.failing_posts -= 1
            raise RetryLater("merchant webhook answered 503")
        return 200

    def webhook_delivered(self, merchant_id: str, order_id: str, delivery_id: str) -> bool:
        return (merchant_id, order_id, delivery_id) in self.delivered

    def record_webhook_delivered(self, merchant_id: str, order_id: str, delivery_id: str, now: datetime) -> None:
        self.delivered.add((merchant_id, order_id, delivery_id))

    def enqueue_later(self, message: DeliverReturnWebhook, delay_seconds: int) -> None:
        self.later.append((message, delay_seconds))


def refunded_world(amount: str = "17.55") -> tuple[World, ReturnRequest]:
    """MUG-1 x2 requested by the customer, auto-approved, labelled, received, inspected (1 of 2
    accepted) and refunded by the merchant through the API."""
    world = make_world()
    rma, _ = world.request(body(("MUG-1", 2), ("TEE-1", 1)))
    world.step(rma.rma_id, command("approve"))
    walk_to_inspected(world, rma.rma_id, {"MUG-1": 1, "TEE-1": 1})
    rma, _ = world.step(rma.rma_id, command("resolve", resolution={"kind": "refund", "amount": amount}))
    return world, rma


def handle(world: World, message: ReturnChanged, ports: FakePorts | None = None) -> FakePorts:
    ports = ports or FakePorts(world)
    assert effects.handle_return_changed(message, ports, order_page_url, NOW) == "handled"
    return ports


# --- return_resolved ----------------------------------------------------------------------------


def test_return_resolved_says_what_was_accepted_and_what_is_owed():
    world, rma = refunded_world("20.00")
    order = world.store.partitions[(MERCHANT_ID, ORDER_ID)].order
    revision = len(rma.history)
    detail = handoff.return_resolved(rma, order, revision, "api")
    assert detail == {
        "event_id": f"{rma.rma_id}:{revision}",
        "type": "ReturnResolved",
        "merchant_id": MERCHANT_ID,
        "order_id": ORDER_ID,
        "order_number": "#1001",
        "rma_id": rma.rma_id,
        "resolved_at": NOW.isoformat(),
        "resolution": "refund",
        "amount": "20.00",
        "currency": "USD",
        "store_credit_code": None,
        "exchange_order_id": None,
        "inspection_outcome": "partially_accepted",
        "lines": [
            {"sku": "MUG-1", "quantity_requested": 2, "quantity_accepted": 1, "reason": "doesnt_fit",
             "unit_price": "12.50"},
            {"sku": "TEE-1", "quantity_requested": 1, "quantity_accepted": 1, "reason": "doesnt_fit",
             "unit_price": "20.00"},
        ],
        "origin": "api",
        "refund_already_issued": False,
        "customer_email": "ayse.yilmaz@example.com",
    }
    assert json.loads(handoff.body_bytes(detail)) == detail  # every value is JSON as it is


def test_a_storefront_resolution_says_the_refund_was_already_issued():
    world, rma = refunded_world()
    order = world.store.partitions[(MERCHANT_ID, ORDER_ID)].order
    detail = handoff.return_resolved(rma, order, 7, "shopify")
    assert detail["refund_already_issued"] is True and detail["origin"] == "shopify"
    assert detail["event_id"] == f"{rma.rma_id}:7"


def test_an_exchange_has_no_amount_and_the_orders_currency():
    world = make_world()
    rma, _ = world.request(body(("TEE-1", 1), resolution="exchange"))
    world.step(rma.rma_id, command("approve"))
    walk_to_inspected(world, rma.rma_id, {"TEE-1": 1})
    rma, _ = world.step(rma.rma_id, command("resolve", resolution={"kind": "exchange", "exchange_order_id": "2002"}))
    rma = lifecycle.close(rma, lifecycle.SYSTEM, NOW + timedelta(days=1))  # still describable once closed
    detail = handoff.return_resolved(rma, world.store.partitions[(MERCHANT_ID, ORDER_ID)].order, 8, "api")
    assert (detail["resolution"], detail["amount"], detail["currency"], detail["exchange_order_id"]) == (
        "exchange", None, "USD", "2002")
    assert detail["resolved_at"] == NOW.isoformat()


def test_a_return_that_is_not_resolved_cannot_be_handed_off():
    world = make_world()
    rma, _ = world.request(body(("MUG-1", 1)))
    with pytest.raises(ValueError, match="not resolved"):
        handoff.return_resolved(rma, world.store.partitions[(MERCHANT_ID, ORDER_ID)].order, 2, "api")


def test_body_bytes_are_compact_sorted_utf8():
    assert handoff.body_bytes({"b": "Ş", "a": [1, None]}) == '{"a":[1,null],"b":"Ş"}'.encode()


# --- signatures ---------------------------------------------------------------------------------

BODY = b'{"event_id":"R-ABCDEFGHJK:7"}'


def test_signature_has_the_stripe_shape_and_verifies():
    header = handoff.signature(SECRET, BODY, NOW)
    timestamp, mac = header.split(",")
    assert timestamp == f"t={int(NOW.timestamp())}" and mac.startswith("v1=") and len(mac) == 3 + 64
    assert handoff.verify_signature(SECRET, header, BODY, NOW)
    assert handoff.verify_signature(SECRET, header, BODY, NOW + timedelta(seconds=handoff.SIGNATURE_TOLERANCE_SECONDS))


def test_the_signature_covers_the_timestamp_and_the_exact_body():
    header = handoff.signature(SECRET, BODY, NOW)
    assert not handoff.verify_signature(SECRET, header, BODY + b" ", NOW)
    assert not handoff.verify_signature(SECRET, header, BODY.replace(b"7", b"8"), NOW)
    moved = header.replace(f"t={int(NOW.timestamp())}", f"t={int(NOW.timestamp()) + 1}")
    assert not handoff.verify_signature(SECRET, moved, BODY, NOW)


def test_a_wrong_secret_does_not_verify():
    assert not handoff.verify_signature("other", handoff.signature(SECRET, BODY, NOW), BODY, NOW)


@pytest.mark.parametrize("seconds", [handoff.SIGNATURE_TOLERANCE_SECONDS + 1, -handoff.SIGNATURE_TOLERANCE_SECONDS - 1,
                                     86_400])
def test_a_timestamp_beyond_the_tolerance_does_not_verify(seconds):
    header = handoff.signature(SECRET, BODY, NOW)
    assert not handoff.verify_signature(SECRET, header, BODY, NOW + timedelta(seconds=seconds))
    assert handoff.verify_signature(SECRET, header, BODY, NOW + timedelta(seconds=seconds), tolerance_seconds=86_401)


def test_the_timestamp_is_utc_seconds_whatever_the_zone():
    istanbul = NOW.astimezone(timezone(timedelta(hours=3)))
    assert handoff.signature(SECRET, BODY, istanbul) == handoff.signature(SECRET, BODY, NOW)


@pytest.mark.parametrize("header", [None, "", "garbage", "t=abc,v1=00", "v1=00", "t=1", "t=,v1=", ",", "t=1;v1=2",
                                    "v1=" + "0" * 64])
def test_a_malformed_header_does_not_verify(header):
    assert handoff.verify_signature(SECRET, header, BODY, NOW) is False


@pytest.mark.parametrize("header", [f"t={int(NOW.timestamp())},v1=é", "t=" + "9" * 400 + ",v1=00"],
                         ids=["non_ascii_v1", "huge_t"])
def test_a_hostile_header_does_not_verify_either(header):
    assert handoff.verify_signature(SECRET, header, BODY, NOW) is False


# --- effects: handle_return_changed -------------------------------------------------------------


def test_a_request_with_auto_approval_queues_the_requested_email_only():
    world = make_world()
    rma, _ = world.request(body(("MUG-1", 1)))
    (message,) = world.notify
    ports = handle(world, message)
    assert [email.variant for email in ports.emails] == ["requested"]
    email = ports.emails[0]
    assert email.ref == rma.rma_id and email.order_page_url == order_page_url(MERCHANT_ID, ORDER_ID)
    assert email.requested_at == NOW
    assert ports.events == [] and ports.queued == []


def test_the_request_is_counted_for_the_analytics_from_its_slice_only():
    world = make_world()
    rma, _ = world.request(body(("MUG-1", 2), ("TEE-1", 1)))
    world.step(rma.rma_id, command("approve"))
    handled = [handle(world, message) for message in world.notify]
    assert len(handled) == 2
    [first], later = handled[0].tallies, [t for ports in handled[1:] for t in ports.tallies]
    assert later == [] and first.event_key == f"rma#{rma.rma_id}#requested"
    amounts = {(metric, dimension): n for (_, metric, dimension), n in first.merged().items()}
    assert amounts[("returns", "all")] == 1 and amounts[("returned_sku", "MUG-1")] == 2
    assert amounts[("returned_sku", "TEE-1")] == 1 and sum(n for (m, _), n in amounts.items() if m == "returned_reason") == 3


def test_each_slice_queues_the_notices_of_its_own_transitions():
    world = make_world()
    rma, _ = world.request(body(("MUG-1", 2)))
    world.step(rma.rma_id, command("issue_label", carrier="ups", tracking_number="1ZRET"))
    world.step(rma.rma_id, command("mark_in_transit"))
    world.step(rma.rma_id, command("receive"))
    handled = [handle(world, message) for message in world.notify]
    assert [(m.from_revision, m.to_revision) for m in world.notify] == [(0, 2), (2, 3), (3, 4), (4, 5)]
    assert [[email.variant for email in ports.emails] for ports in handled] == [
        ["requested"], ["approved"], [], ["received"]]
    # The carrier label's parcel is tracked back, from the slice that issued it only.
    assert [ports.tracked for ports in handled] == [
        [], [(MERCHANT_ID, ORDER_ID, rma.rma_id, "ups", "1ZRET", NOW)], [], []]


def test_a_drop_off_code_has_no_parcel_to_track():
    world = make_world()
    rma, _ = world.request(body(("MUG-1", 2)))
    world.step(rma.rma_id, command("issue_drop_off_code", drop_off_code="QR-1"))
    ports = handle(world, world.notify[-1])
    assert [email.variant for email in ports.emails] == ["approved"] and ports.tracked == []


def test_a_resolve_publishes_return_resolved_once_and_queues_the_webhook():
    world, rma = refunded_world()
    message = world.notify[-1]
    revision = len(rma.history)
    assert (message.from_revision, message.to_revision) == (revision - 1, revision)
    ports = handle(world, message)
    assert [email.variant for email in ports.emails] == ["refunded"]
    assert ports.resolved == [(MERCHANT_ID, ORDER_ID, rma.rma_id)]  # loyalty reverses points from here
    (event,) = ports.events
    assert event == (handoff.RETURN_RESOLVED, handoff.return_resolved(rma, world.store.partitions[
        (MERCHANT_ID, ORDER_ID)].order, revision, "api"))
    assert ports.queued == [DeliverReturnWebhook(merchant_id=MERCHANT_ID, order_id=ORDER_ID, rma_id=rma.rma_id,
                                                 revision=revision)]


def test_a_slice_over_the_whole_history_publishes_for_the_resolve_only():
    world, rma = refunded_world()
    closed, _ = world.step(rma.rma_id, command("close"))
    ports = handle(world, changed(rma.rma_id, 0, len(closed.history)))
    resolve_revision = next(i for i, t in enumerate(closed.history, 1) if t.command == "resolve")
    assert [detail["event_id"] for _, detail in ports.events] == [f"{rma.rma_id}:{resolve_revision}"]
    assert [message.revision for message in ports.queued] == [resolve_revision]
    assert [email.variant for email in ports.emails] == ["approved", "received", "refunded"]


def test_a_slice_without_the_resolve_publishes_nothing():
    world, rma = refunded_world()
    closed, _ = world.step(rma.rma_id, command("close"))
    ports = handle(world, world.notify[-1])
    assert closed.status is S.closed and ports.events == [] and ports.queued == [] and ports.emails == []


def test_a_storefront_resolution_is_published_without_a_webhook():
    world, rma = refunded_world()
    message = world.notify[-1].model_copy(update={"origin": "shopify"})
    ports = handle(world, message)
    (event,) = ports.events
    assert event[1]["refund_already_issued"] is True
    assert ports.queued == []


def test_a_revision_not_yet_readable_is_retried_later():
    world = make_world()
    rma, _ = world.request(body(("MUG-1", 1)))
    ports = FakePorts(world)
    with pytest.raises(RetryLater):
        effects.handle_return_changed(changed(rma.rma_id, 2, 3), ports, order_page_url, NOW)
    assert ports.emails == [] and ports.events == []


def test_an_unknown_rma_is_not_found():
    world = make_world()
    with pytest.raises(NotFound):
        effects.handle_return_changed(changed("R-NOPE", 0, 1), FakePorts(world), order_page_url, NOW)


def test_a_replayed_request_does_not_turn_a_storefront_refund_into_one_to_pay():
    world = make_world()
    rma, _ = world.request(body(("MUG-1", 2)), "key-1")
    world.step(rma.rma_id, command("issue_label", carrier="ups", tracking_number="1ZRET"))
    world.step(rma.rma_id, command("mark_in_transit"))
    refund = StorefrontReturnChanged(event_id="refund-1", merchant_id=MERCHANT_ID, source="shopify",
                                     received_at=NOW, order_id=ORDER_ID, action="refunded", occurred_at=NOW,
                                     lines=[{"sku": "MUG-1", "quantity": 2}], refund_amount=Decimal("30.00"),
                                     currency="USD")
    assert apply_storefront_change(refund, store=world.store, policies=world.policies, notify=world.notify,
                                   now=NOW) == "updated"
    shopify_ports = handle(world, world.notify[-1])
    assert shopify_ports.queued == [] and shopify_ports.events[0][1]["refund_already_issued"] is True
    again, created = world.request(body(("MUG-1", 2)), "key-1", access=CUSTOMER_ACCESS)
    assert not created and again.status is S.resolved
    ports = handle(world, world.notify[-1])
    assert ports.queued == []
    assert all(detail["refund_already_issued"] for _, detail in ports.events)


# --- effects: deliver_webhook -------------------------------------------------------------------


def test_the_webhook_posts_the_signed_body_with_its_delivery_id():
    world, rma = refunded_world()
    ports = handle(world, world.notify[-1])
    (message,) = ports.queued
    delivery = FakePorts(world, Target())
    later = NOW + timedelta(minutes=2)
    assert effects.deliver_webhook(message, delivery, later) == "webhook_sent"
    ((url, sent, headers),) = delivery.posts
    order = world.store.partitions[(MERCHANT_ID, ORDER_ID)].order
    assert url == URL
    assert sent == handoff.body_bytes(handoff.return_resolved(rma, order, message.revision, "api"))
    assert json.loads(sent)["event_id"] == f"{rma.rma_id}:{message.revision}"
    assert set(headers) == {handoff.SIGNATURE_HEADER, handoff.DELIVERY_HEADER}
    assert headers[handoff.DELIVERY_HEADER] == f"{rma.rma_id}:{message.revision}"
    assert headers[handoff.SIGNATURE_HEADER] == handoff.signature(SECRET, sent, later)
    assert handoff.verify_signature(SECRET, headers[handoff.SIGNATURE_HEADER], sent, later + timedelta(seconds=5))
    assert delivery.targets_asked == [MERCHANT_ID]


@pytest.mark.parametrize("target", [None, Target(returns_url=None), Target(secret=None), Target(returns_url="")],
                         ids=["none", "no_url", "no_secret", "empty_url"])
def test_no_webhook_configured_posts_nothing(target):
    world, rma = refunded_world()
    message = DeliverReturnWebhook(merchant_id=MERCHANT_ID, order_id=ORDER_ID, rma_id=rma.rma_id,
                                   revision=len(rma.history))
    ports = FakePorts(world, target)
    reads = len(world.store.reads)
    assert effects.deliver_webhook(message, ports, NOW) == "no_webhook"
    assert ports.posts == [] and len(world.store.reads) == reads  # not even a read


def test_a_retried_webhook_has_the_same_body_and_delivery_id():
    world, rma = refunded_world()
    message = DeliverReturnWebhook(merchant_id=MERCHANT_ID, order_id=ORDER_ID, rma_id=rma.rma_id,
                                   revision=len(rma.history))
    world.step(rma.rma_id, command("close"))  # the RMA moved on since
    ports = FakePorts(world, Target())
    ports.failing_posts = 1
    assert effects.deliver_webhook(message, ports, NOW) == "webhook_retry_scheduled"
    ((retry, _),) = ports.later
    assert effects.deliver_webhook(retry, ports, NOW + timedelta(hours=1)) == "webhook_sent"
    (first_url, first, first_headers), (_, second, second_headers) = ports.posts
    assert first == second
    assert first_headers[handoff.DELIVERY_HEADER] == second_headers[handoff.DELIVERY_HEADER]
    assert first_headers[handoff.SIGNATURE_HEADER] != second_headers[handoff.SIGNATURE_HEADER]


def test_a_redelivered_webhook_that_was_answered_posts_nothing_again():
    world, rma = refunded_world()
    message = DeliverReturnWebhook(merchant_id=MERCHANT_ID, order_id=ORDER_ID, rma_id=rma.rma_id,
                                   revision=len(rma.history))
    ports = FakePorts(world, Target())
    assert effects.deliver_webhook(message, ports, NOW) == "webhook_sent"
    assert effects.deliver_webhook(message, ports, NOW + timedelta(minutes=7)) == "already_delivered"
    assert len(ports.posts) == 1


def test_an_endpoint_down_for_hours_is_retried_on_our_schedule_then_left_to_the_queue():
    world, rma = refunded_world()
    message = DeliverReturnWebhook(merchant_id=MERCHANT_ID, order_id=ORDER_ID, rma_id=rma.rma_id,
                                   revision=len(rma.history))
    ports = FakePorts(world, Target())
    ports.failing_posts = 10_000
    now, delays = NOW, []
    while True:
        try:
            assert effects.deliver_webhook(message, ports, now) == "webhook_retry_scheduled"
        except RetryLater:
            break  # past the window: the queue's redrive (and the DLQ alarm) take over
        message, delay = ports.later[-1]
        delays.append(delay)
        now += timedelta(seconds=delay)
    assert message.first_attempt_at == NOW and message.attempt == len(delays)
    assert delays[:4] == [30, 60, 120, 240] and max(delays) == 900  # SQS's longest delay
    assert now - NOW >= timedelta(hours=24) and now - NOW < timedelta(hours=24, minutes=15)
    assert ports.delivered == set()


def test_an_endpoint_back_within_the_window_gets_the_delivery_once():
    world, rma = refunded_world()
    message = DeliverReturnWebhook(merchant_id=MERCHANT_ID, order_id=ORDER_ID, rma_id=rma.rma_id,
                                   revision=len(rma.history))
    ports = FakePorts(world, Target())
    ports.failing_posts = 12  # down for about two hours of retries
    now = NOW
    while effects.deliver_webhook(message, ports, now) == "webhook_retry_scheduled":
        message, delay = ports.later[-1]
        now += timedelta(seconds=delay)
    assert len(ports.posts) == 13 and len(ports.delivered) == 1
    assert effects.deliver_webhook(message, ports, now) == "already_delivered"
