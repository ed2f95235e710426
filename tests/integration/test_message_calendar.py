"""The communication calendar end to end on moto: order -> scheduled message -> message_scheduler
(gsi3 sweep) -> outbound-email queue -> email_sender (MessageDue) -> one email, whatever repeats."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from infra.local.runtime import load_function_module

M = "demo-store"
SCHEDULED_KINDS = {"review_request", "review_reminder", "birthday_offer", "anniversary", "win_back", "campaign",
                   "points_expiring"}


@dataclass
class Rendered:
    subject: str
    html: str
    text: str


@pytest.fixture
def cal(aws, monkeypatch):
    """The aws fixture plus the scheduler, and a render stand-in for the kinds whose templates
    the templates capability writes (it records every scheduled request it renders)."""
    real_render = aws.email_sender.render_email
    rendered: list = []

    def render(request, merchant):
        if request.kind not in SCHEDULED_KINDS:
            return real_render(request, merchant)
        rendered.append(request)
        return Rendered(f"{request.kind} {request.ref}", f"<p>{request.kind}</p>", request.kind)

    monkeypatch.setattr(aws.email_sender, "render_email", render)
    aws.scheduler = load_function_module("functions/message_scheduler", "fn_message_scheduler")
    aws.rendered = rendered
    return aws


def sweep(aws) -> dict:
    """Scheduler runs until it has caught up with the clock (a test jumps days at once; each run
    reads a bounded number of hour buckets, as every 5 minutes in production). The runs' totals."""
    total: dict = {"enqueued": 0, "skipped": 0, "bucket_queries": 0}
    for _ in range(400):
        result = aws.invoke(aws.scheduler, {})
        for name in total:
            total[name] += result[name]
        total["cursor"] = result["cursor"]
        if result["caught_up"]:
            return total
    raise AssertionError("the scheduler never caught up")


def scheduled(aws, kind: str, ref: str, scope: str = "order", scope_id: str = "1001") -> dict | None:
    pk = f"M#{M}#O#{scope_id}" if scope == "order" else f"M#{M}#C#{scope_id}"
    return aws.item(pk, f"SCHED#{kind}#{ref}")


def place_order(aws, order_id: str = "1001", placed_at: datetime | None = None, **fields) -> None:
    response = aws.post_order(aws.api_order(order_id, placed_at or aws.clock.now(), **fields))
    assert response.status_code == 202, response.body
    aws.pump_queue("OrderEventsQueue")
    aws.pump_queue("OutboundEmailQueue")  # the confirmation


def deliver_order(aws, order_id: str = "1001") -> None:
    from postpurchase import services
    from postpurchase.orders.reactions import after_order_delivered

    # What tracking.effects does on the first delivery scan.
    services.order_store().record_delivery(M, order_id, aws.clock.now())
    after_order_delivered(M, order_id, aws.clock.now(), aws.clock.now())


def scheduled_emails(aws) -> list:
    return [m for m in aws.sent_emails() if m["Subject"].split(" ")[0] in SCHEDULED_KINDS]


def test_delivered_order_gets_one_review_request_then_a_reminder(cal) -> None:
    place_order(cal)
    deliver_order(cal)
    item = scheduled(cal, "review_request", "1001")
    # 7 days (default) after delivery, at 10:00 in Istanbul (UTC+3).
    assert item["status"] == "pending" and item["due_at"].startswith("2026-11-27T07:00:00")
    assert item["gsi3pk"].startswith("DUE#2026-11-27#")

    assert sweep(cal)["enqueued"] == 0  # not due yet
    cal.clock.set(datetime(2026, 11, 27, 7, 1, tzinfo=timezone.utc))
    assert sweep(cal)["enqueued"] == 1
    assert sweep(cal)["enqueued"] == 0  # a re-run: claimed already, in the retry bucket
    assert scheduled(cal, "review_request", "1001")["status"] == "enqueued"
    cal.pump_queue("OutboundEmailQueue")

    [email] = scheduled_emails(cal)
    assert email["Subject"] == "review_request 1001" and email["To"] == "ayse.yilmaz@example.com"
    [request] = cal.rendered
    assert request.order.order_id == "1001" and [i.sku for i in request.review_items] == ["MUG-1"]
    assert "/feedback/" in request.review_items[0].rating_url and request.unsubscribe_url and request.preferences_url
    item = scheduled(cal, "review_request", "1001")
    assert item["status"] == "sent" and "gsi3pk" not in item and "gsi3sk" not in item

    reminder = scheduled(cal, "review_reminder", "1001")
    assert reminder["status"] == "pending" and reminder["due_at"].startswith("2026-12-02T07:00:00")
    # Answered in the meantime (the feedback capability writes FEEDBACK# items): no reminder.
    import boto3

    boto3.resource("dynamodb", region_name="us-east-1").Table(cal.refs["Table"]).put_item(
        Item={"pk": f"M#{M}#O#1001", "sk": "FEEDBACK#MUG-1", "type": "feedback", "rating": 5})
    cal.clock.set(datetime(2026, 12, 2, 7, 1, tzinfo=timezone.utc))
    assert sweep(cal)["enqueued"] == 1
    cal.pump_queue("OutboundEmailQueue")
    assert len(scheduled_emails(cal)) == 1
    reminder = scheduled(cal, "review_reminder", "1001")
    assert (reminder["status"], reminder["reason"]) == ("cancelled", "answered")


def test_fulfilment_without_a_delivery_scan_schedules_with_the_transit_allowance(cal) -> None:
    place_order(cal)
    from postpurchase.orders.reactions import after_shipment_recorded

    after_shipment_recorded(M, "1001", "s-1", cal.clock.now())
    # 7 days transit allowance + 7 days review delay, 10:00 Istanbul.
    assert scheduled(cal, "review_request", "1001")["due_at"].startswith("2026-12-04T07:00:00")
    cal.clock.advance(timedelta(days=2))
    deliver_order(cal)  # the scan came after all: the request moves to delivery + 7 days
    assert scheduled(cal, "review_request", "1001")["due_at"].startswith("2026-11-29T07:00:00")
    after_shipment_recorded(M, "1001", "s-2", cal.clock.now())  # a later parcel does not move it back
    assert scheduled(cal, "review_request", "1001")["due_at"].startswith("2026-11-29T07:00:00")


def test_duplicate_message_due_and_a_lost_enqueue_send_one_email(cal) -> None:
    place_order(cal)
    deliver_order(cal)
    cal.clock.set(datetime(2026, 11, 27, 7, 1, tzinfo=timezone.utc))
    assert sweep(cal)["enqueued"] == 1
    [body] = cal.take("OutboundEmailQueue")  # "lost": nobody processes it yet
    assert json.loads(body)["type"] == "MessageDue"
    cal.clock.advance(timedelta(minutes=16))
    assert sweep(cal)["enqueued"] == 1  # found again in the retry bucket
    [again] = cal.take("OutboundEmailQueue")
    # SQS delivers both, the second one twice.
    assert cal.deliver(cal.email_sender, cal.sqs_event([body, again, again], "OutboundEmailQueue")) == []
    assert len(scheduled_emails(cal)) == 1
    assert scheduled(cal, "review_request", "1001")["status"] == "sent"


def test_crash_between_ses_and_the_ledger_never_sends_twice(cal, monkeypatch) -> None:
    from postpurchase.config import settings
    from postpurchase.storage.ledger import DynamoSendLedger

    real_mark_sent = DynamoSendLedger.mark_sent
    crashes = {"left": 1}

    def mark_sent_crashing_once(self, claim, provider_message_id, now):
        if crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("Lambda timed out right after SES accepted the message")
        return real_mark_sent(self, claim, provider_message_id, now)

    place_order(cal)
    deliver_order(cal)
    monkeypatch.setattr(DynamoSendLedger, "mark_sent", mark_sent_crashing_once)
    cal.clock.set(datetime(2026, 11, 27, 7, 1, tzinfo=timezone.utc))
    sweep(cal)
    [body] = cal.take("OutboundEmailQueue")
    assert len(cal.deliver(cal.email_sender, cal.sqs_event([body], "OutboundEmailQueue"))) == 1
    assert len(scheduled_emails(cal)) == 1
    assert scheduled(cal, "review_request", "1001")["status"] == "enqueued"

    cal.clock.advance(max(timedelta(seconds=settings().email_claim_timeout_seconds), timedelta(minutes=16)))
    assert sweep(cal)["enqueued"] == 1  # the retry bucket brings it back
    cal.pump_queue("OutboundEmailQueue")
    assert len(scheduled_emails(cal)) == 1
    assert cal.item(f"M#{M}#O#1001", "MSG#review_request#1001")["state"] == "unknown"
    item = scheduled(cal, "review_request", "1001")
    assert (item["status"], item["reason"]) == ("sent", "abandoned")


def test_cancelled_order_cancels_its_review_request(cal) -> None:
    place_order(cal)
    deliver_order(cal)
    from postpurchase.orders.reactions import after_order_cancelled

    after_order_cancelled(M, "1001", cal.clock.now())
    item = scheduled(cal, "review_request", "1001")
    assert (item["status"], item["reason"]) == ("cancelled", "order_cancelled") and "gsi3pk" not in item
    cal.clock.set(datetime(2026, 11, 27, 7, 1, tzinfo=timezone.utc))
    assert sweep(cal)["enqueued"] == 0
    # Settled: scheduling it again (a redelivered delivery event) does not revive it.
    deliver_order(cal)
    assert scheduled(cal, "review_request", "1001")["status"] == "cancelled"


def test_a_new_order_cancels_the_win_back_and_starts_its_own(cal) -> None:
    place_order(cal)
    first = scheduled(cal, "win_back", "1001", "customer", "c-1")
    assert first["status"] == "pending" and first["due_at"].startswith("2027-02-18T07:00:00")  # +90 days
    assert scheduled(cal, "anniversary", "2027", "customer", "c-1")["status"] == "pending"
    birthday = scheduled(cal, "birthday_offer", "2027", "customer", "c-1")
    assert birthday["due_at"].startswith("2027-04-02T07:00:00")

    cal.clock.advance(timedelta(days=30))
    place_order(cal, "1002")
    assert scheduled(cal, "win_back", "1001", "customer", "c-1")["status"] == "cancelled"
    assert scheduled(cal, "win_back", "1002", "customer", "c-1")["status"] == "pending"
    assert scheduled(cal, "anniversary", "2027", "customer", "c-1")["data"] == '{"first_order_id": "1001"}'


def test_win_back_sent_with_an_offer_to_the_customer(cal, monkeypatch) -> None:
    from postpurchase import services
    from postpurchase.messaging.requests import OfferNotice
    from postpurchase.messaging.settings import MessagingSettings, OfferSpec
    from postpurchase.storage.merchants import set_messaging_settings

    issued = []

    class FakeIssuer:
        def issue(self, merchant_id, customer_id, spec, *, campaign, ref, currency, now):
            issued.append((merchant_id, customer_id, campaign, ref))
            return OfferNotice(code="BACK-1", discount_type=spec.discount_type, value=spec.value)

    factory = lambda: FakeIssuer()  # noqa: E731
    factory.cache_clear = lambda: None  # services.reset() clears every factory
    monkeypatch.setattr(services, "coupon_issuer", factory)
    set_messaging_settings(M, MessagingSettings(win_back_days=30, anniversary=False, birthday=False,
                                                win_back_offer=OfferSpec(discount_type="percent", value=Decimal(10))),
                           cal.clock.now())
    place_order(cal)
    cal.clock.set(datetime(2026, 12, 20, 7, 5, tzinfo=timezone.utc))  # 10:05 Istanbul
    assert sweep(cal)["enqueued"] == 1
    cal.pump_queue("OutboundEmailQueue")
    [request] = cal.rendered
    assert request.kind == "win_back" and request.order is None and request.customer.customer_id() == "c-1"
    assert request.offer.code == "BACK-1" and issued == [(M, "c-1", "win_back", "c-1#1001")]
    assert cal.item(f"M#{M}#C#c-1", "MSG#win_back#1001")["state"] == "sent"  # ledger under the customer


def test_expired_message_is_dropped_not_sent_late(cal) -> None:
    place_order(cal)
    deliver_order(cal)
    cal.clock.set(datetime(2026, 12, 20, 7, 0, tzinfo=timezone.utc))  # 23 days late (expiry 21)
    assert sweep(cal)["enqueued"] == 0  # its hour bucket is older than the bounded catch-up
    # A message past its expiry that does reach the sender is dropped, not sent.
    from postpurchase import services
    from postpurchase.messaging import schedule as rules

    services.message_schedule().schedule(
        rules.review_request_message(M, "1001", "c-1", datetime(2026, 11, 27, 7, tzinfo=timezone.utc)),
        cal.clock.now())
    assert sweep(cal)["enqueued"] == 1  # a due time in the past is indexed as due now
    cal.pump_queue("OutboundEmailQueue")
    assert scheduled_emails(cal) == []
    assert scheduled(cal, "review_request", "1001")["status"] == "expired"


def test_marketing_due_at_night_waits_for_the_morning(cal) -> None:
    from postpurchase import services
    from postpurchase.messaging import schedule as rules

    place_order(cal)
    night = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)  # 23:00 Istanbul
    services.message_schedule().schedule(rules.review_request_message(M, "1001", "c-1", night), cal.clock.now())
    cal.clock.set(night + timedelta(minutes=1))
    assert sweep(cal)["enqueued"] == 1
    cal.pump_queue("OutboundEmailQueue")
    assert scheduled_emails(cal) == []
    item = scheduled(cal, "review_request", "1001")
    assert (item["status"], item["reason"]) == ("pending", "quiet_hours")
    assert item["due_at"].startswith("2026-11-26T06:00:00")  # 09:00 Istanbul
    cal.clock.set(datetime(2026, 11, 26, 6, 1, tzinfo=timezone.utc))
    assert sweep(cal)["enqueued"] == 1
    cal.pump_queue("OutboundEmailQueue")
    assert len(scheduled_emails(cal)) == 1


def test_frequency_cap_defers_marketing_across_kinds_or_drops_past_expiry(cal) -> None:
    from postpurchase import services
    from postpurchase.messaging import schedule as rules
    from postpurchase.messaging.scheduled import ScheduledMessage

    place_order(cal)
    store = services.message_schedule()
    at = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)  # 11:00 Istanbul
    store.schedule(rules.review_request_message(M, "1001", "c-1", at), cal.clock.now())
    for ref in ("a", "b"):
        store.schedule(ScheduledMessage(merchant_id=M, kind="campaign", scope="customer", scope_id="c-1",
                                        customer_id="c-1", ref=ref, due_at=at, expires_at=at + timedelta(days=2),
                                        data={"campaign_id": ref, "occasion": "black_friday"}), cal.clock.now())
    cal.clock.set(at + timedelta(minutes=1))
    assert sweep(cal)["enqueued"] == 3
    cal.pump_queue("OutboundEmailQueue")
    # Two per 7 days (the default cap): one of the three waits, and a campaign cannot wait 7 days.
    assert len(scheduled_emails(cal)) == 2
    statuses = sorted((k, scheduled(cal, k, r, s, i)["status"]) for k, r, s, i in (
        ("review_request", "1001", "order", "1001"), ("campaign", "a", "customer", "c-1"),
        ("campaign", "b", "customer", "c-1")))
    left = [s for s in statuses if s[1] != "sent"]
    assert len(left) == 1 and left[0][1] in ("pending", "expired")
    if left[0][0] == "campaign":
        assert left[0][1] == "expired"
    else:
        assert scheduled(cal, "review_request", "1001")["reason"] == "frequency_cap"
    profile = cal.item(f"M#{M}#C#c-1", "PROFILE")
    assert len(json.loads(profile["marketing_sends"])) == 2


def test_two_concurrent_senders_cannot_both_pass_the_cap(cal) -> None:
    from postpurchase import services
    from postpurchase.errors import RetryLater

    place_order(cal)
    store = services.message_schedule()
    seen = store.marketing_sends(M, "c-1")
    store.reserve_marketing_send(M, "c-1", seen, [], "a", cal.clock.now())
    with pytest.raises(RetryLater):
        store.reserve_marketing_send(M, "c-1", seen, [], "b", cal.clock.now())
    assert len(store.marketing_sends(M, "c-1").sends) == 1


def test_full_return_cancels_the_review_request(cal) -> None:
    place_order(cal)
    assert cal.post_shipment("1001", {"carrier": "fedex", "tracking_number": "SBX-OK-1001",
                                      "items": [{"sku": "MUG-1", "quantity": 2}]}).status_code == 201
    cal.pump_queue("OrderEventsQueue")
    deliver_order(cal)
    response = cal.client.post("/v1/orders/1001/returns", headers=cal.auth(), body=cal.encode(
        {"items": [{"sku": "MUG-1", "quantity": 2}], "reason": "changed_mind", "resolution": "refund"}))
    assert response.status_code == 201, response.body
    cal.clock.set(datetime(2026, 11, 27, 7, 1, tzinfo=timezone.utc))
    assert sweep(cal)["enqueued"] == 1
    cal.pump_queue("OutboundEmailQueue")
    assert scheduled_emails(cal) == []
    item = scheduled(cal, "review_request", "1001")
    assert (item["status"], item["reason"]) == ("cancelled", "nothing_to_review")


def test_messaging_settings_survive_other_merchant_saves(cal) -> None:
    from dataclasses import replace

    from postpurchase.messaging.settings import MessagingSettings
    from postpurchase.storage import merchants

    assert merchants.messaging_settings(M) == MessagingSettings()
    merchants.set_messaging_settings(M, MessagingSettings(win_back_days=30), cal.clock.now())
    store = merchants.DynamoMerchantStore()
    store.save(replace(store.get(M), shopify_shop_domain="rotated.myshopify.com"), cal.clock.now())
    merchants.clear_caches()
    assert merchants.messaging_settings(M).win_back_days == 30
    assert store.get(M).shopify_shop_domain == "rotated.myshopify.com"
