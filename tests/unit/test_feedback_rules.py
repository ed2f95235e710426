"""Feedback answers: the rules (pure) and submit() with in-memory fakes for every port."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from postpurchase.errors import Conflict, NotAllowed, NotFound, RetryLater
from postpurchase.feedback.delivery import deliver_webhook
from postpurchase.feedback.messages import DeliverFeedbackWebhook
from postpurchase.feedback.model import (
    KEEP_COMMENT,
    MAX_COMMENT,
    Feedback,
    answer,
    clean_comment,
    delivery_id,
    parse_rating,
)
from postpurchase.feedback.service import Loaded, StaleFeedback, submit
from postpurchase.messaging.requests import OfferNotice
from postpurchase.messaging.settings import OfferSpec
from postpurchase.orders.models import Order
from postpurchase.returns.handoff import verify_signature

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
ORDER = Order.model_validate({**json.loads((Path(__file__).resolve().parents[2] / "events" / "storefronts" / "api"
                                            / "order.json").read_text(encoding="utf-8")),
                              "order_id": "1001", "placed_at": "2026-11-10T10:00:00Z"})
SKU = ORDER.items[0].sku


def _first(**overrides) -> Feedback:
    values = dict(merchant_id="m", order_id="1001", sku=SKU, customer_id="c-1", product_title="Mug", rating=4,
                  comment=None, source="api", now=NOW)
    values.update(overrides)
    return answer(None, **values)[0]


# --- rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [(1, 1), (5, 5), ("3", 3), (" 4 ", 4)])
def test_ratings_one_to_five_from_json_or_text(value, expected):
    assert parse_rating(value) == expected


@pytest.mark.parametrize("value", [0, 6, -1, "0", "6", "five", "", None, True, 3.5, "3.0", [3], "１"])
def test_anything_else_is_refused_naming_rating(value):
    with pytest.raises(NotAllowed) as refused:
        parse_rating(value)
    assert refused.value.field == "rating" and refused.value.status == 422


def test_comment_is_stripped_empty_is_none_and_capped():
    assert clean_comment("  lovely mug \n") == "lovely mug"
    assert clean_comment("   ") is None and clean_comment(None) is None
    assert clean_comment("x" * MAX_COMMENT) == "x" * MAX_COMMENT
    assert clean_comment("  " + "x" * MAX_COMMENT + "  ") == "x" * MAX_COMMENT  # counted after stripping
    for bad in ("x" * (MAX_COMMENT + 1), 42, ["a"]):
        with pytest.raises(NotAllowed) as refused:
            clean_comment(bad)
        assert refused.value.field == "comment"


def test_a_second_answer_updates_and_records_the_change():
    first = _first(comment="ok")
    later = NOW + timedelta(hours=2)
    second, changed = answer(first, merchant_id="m", order_id="1001", sku=SKU, customer_id="c-1",
                             product_title="Mug", rating=2, comment="chipped", source="page", now=later)
    assert changed
    assert (second.rating, second.comment, second.version, second.source) == (2, "chipped", 2, "page")
    assert (second.submitted_at, second.updated_at) == (NOW, later)
    [change] = second.history
    assert (change.rating, change.comment, change.at, change.source) == (4, "ok", NOW, "api")


def test_the_same_answer_again_changes_nothing_and_a_left_out_comment_is_kept():
    first = _first(comment="ok")
    again, changed = answer(first, merchant_id="m", order_id="1001", sku=SKU, customer_id="c-1", product_title="Mug",
                            rating=4, comment=KEEP_COMMENT, source="page", now=NOW + timedelta(days=1))
    assert not changed and again is first
    cleared, changed = answer(first, merchant_id="m", order_id="1001", sku=SKU, customer_id="c-1",
                              product_title="Mug", rating=4, comment=None, source="api", now=NOW)
    assert changed and cleared.comment is None and cleared.version == 2


def test_an_out_of_order_clock_never_moves_updated_at_back():
    first = _first()
    second, _ = answer(first, merchant_id="m", order_id="1001", sku=SKU, customer_id="c-1", product_title=None,
                       rating=1, source="api", now=NOW - timedelta(minutes=5))
    assert second.updated_at == NOW and second.product_title == "Mug"


# --- submit() with fakes ----------------------------------------------------------------------


class FakeStore:
    def __init__(self, order: Order | None = ORDER) -> None:
        self.order = order
        self.answers: dict[tuple[str, str], tuple[Feedback, int]] = {}
        self.saves = 0
        self.conflicts = 0  # the next N saves lose to a concurrent writer

    def load(self, merchant_id, order_id, sku):
        if self.order is None or order_id != self.order.order_id:
            return None
        stored = self.answers.get((order_id, sku))
        return Loaded(self.order, stored[0] if stored else None, stored[1] if stored else 0)

    def save(self, feedback, previous):
        stored = self.answers.get((feedback.order_id, feedback.sku))
        if self.conflicts:
            self.conflicts -= 1
            raise StaleFeedback("lost")
        if (stored[0].version if stored else None) != (previous.version if previous else None):
            raise StaleFeedback("stale")
        self.saves += 1
        self.answers[(feedback.order_id, feedback.sku)] = (feedback, stored[1] if stored else 0)

    def mark_notified(self, merchant_id, order_id, sku, version):
        feedback, notified = self.answers[(order_id, sku)]
        self.answers[(order_id, sku)] = (feedback, max(notified, version))


class FakePorts:
    def __init__(self, *, offer: OfferSpec | None = None, webhook: bool = True, schedule: bool = True,
                 loyalty: bool = True) -> None:
        self.store = FakeStore()
        self.offer, self.webhook, self.schedule, self.loyalty = offer, webhook, schedule, loyalty
        self.queued: list[DeliverFeedbackWebhook] = []
        self.cancelled: list[tuple] = []
        self.coupons: dict[tuple[str, str], OfferNotice] = {}
        self.coupon_calls = 0
        self.bonuses: list[tuple] = []

    def wants_webhook(self, merchant_id):
        return self.webhook

    def enqueue(self, message):
        self.queued.append(message)

    def cancel_reminder(self, merchant_id, order_id, now):
        if not self.schedule:
            raise NotImplementedError
        self.cancelled.append((merchant_id, order_id))

    def thank_you_offer(self, merchant_id):
        return self.offer

    def issue_coupon(self, merchant_id, customer_id, spec, *, ref, currency, now):
        self.coupon_calls += 1
        key = ("feedback", ref)
        if key not in self.coupons:  # idempotent on (campaign, ref), as the port promises
            self.coupons[key] = OfferNotice(code=f"THANKS-{len(self.coupons) + 1}", discount_type=spec.discount_type,
                                            value=spec.value, currency=currency)
        return self.coupons[key]

    def award_review_bonus(self, merchant_id, customer_id, order_id, sku, now):
        if not self.loyalty:
            raise NotImplementedError
        self.bonuses.append((merchant_id, customer_id, order_id, sku))

    def follow_review(self, feedback, order, now, known=None):
        self.reviewed = [*getattr(self, "reviewed", []), (feedback.order_id, feedback.sku, feedback.version)]


def test_first_answer_is_stored_and_its_effects_follow():
    ports = FakePorts(offer=OfferSpec(discount_type="percent", value=Decimal(10)))
    result = submit(ports, "m", "1001", SKU, rating=5, comment="great", source="api", now=NOW)
    assert result.created and result.changed
    assert result.feedback.customer_id == ORDER.customer.customer_id()
    assert result.feedback.product_title == ORDER.items[0].title
    [message] = ports.queued
    assert (message.order_id, message.sku, message.version, message.body["rating"]) == ("1001", SKU, 1, 5)
    assert ports.reviewed == [("1001", SKU, 1)]  # its storefront review follows the answer
    assert message.body["event_id"] == delivery_id(result.feedback) and message.body["type"] == "FeedbackSubmitted"
    assert ports.cancelled == [("m", "1001")]
    assert result.coupon is not None and result.coupon.code == "THANKS-1"
    assert ports.bonuses == [("m", ORDER.customer.customer_id(), "1001", SKU)]


def test_answering_again_updates_not_duplicates_and_the_webhook_goes_once_per_version():
    ports = FakePorts(offer=OfferSpec(discount_type="percent", value=Decimal(10)))
    first = submit(ports, "m", "1001", SKU, rating=5, source="page", now=NOW)
    same = submit(ports, "m", "1001", SKU, rating=5, source="page", now=NOW + timedelta(minutes=1))
    changed = submit(ports, "m", "1001", SKU, rating=3, comment="hmm", source="api", now=NOW + timedelta(hours=1))
    assert (first.created, same.created, same.changed, changed.created, changed.changed) == (True, False, False,
                                                                                             False, True)
    assert len(ports.store.answers) == 1 and ports.store.saves == 2
    assert [m.version for m in ports.queued] == [1, 2]
    # The thank-you coupon is the same code every time (issued once per item).
    assert first.coupon == same.coupon == changed.coupon and len(ports.coupons) == 1


def test_a_webhook_not_yet_queued_is_queued_by_the_retry():
    ports = FakePorts()
    original = ports.enqueue

    def failing(message):
        raise RetryLater("sqs down")

    ports.enqueue = failing
    with pytest.raises(RetryLater):
        submit(ports, "m", "1001", SKU, rating=4, source="api", now=NOW)
    ports.enqueue = original
    retry = submit(ports, "m", "1001", SKU, rating=4, source="api", now=NOW)
    assert not retry.changed and [m.version for m in ports.queued] == [1]
    submit(ports, "m", "1001", SKU, rating=4, source="api", now=NOW)
    assert len(ports.queued) == 1


def test_no_webhook_configured_queues_nothing():
    ports = FakePorts(webhook=False)
    submit(ports, "m", "1001", SKU, rating=4, source="api", now=NOW)
    assert ports.queued == []


def test_a_concurrent_answer_is_read_again_and_the_loser_gives_up_after_three_tries():
    ports = FakePorts()
    ports.store.conflicts = 2
    assert submit(ports, "m", "1001", SKU, rating=4, source="api", now=NOW).feedback.rating == 4
    ports.store.conflicts = 3
    with pytest.raises(Conflict):
        submit(ports, "m", "1001", SKU, rating=1, source="api", now=NOW)


def test_missing_ports_are_skipped_and_no_offer_means_no_coupon():
    ports = FakePorts(schedule=False, loyalty=False)
    result = submit(ports, "m", "1001", SKU, rating=4, source="api", now=NOW)
    assert result.coupon is None and ports.coupon_calls == 0 and ports.cancelled == [] and ports.bonuses == []
    assert result.skipped == ("review_reminder_cancel", "review_bonus")
    assert ports.store.saves == 1


def test_an_unknown_order_or_item_is_not_found():
    ports = FakePorts()
    for order_id, sku in (("9999", SKU), ("1001", "NOT-IN-ORDER")):
        with pytest.raises(NotFound):
            submit(ports, "m", order_id, sku, rating=4, source="api", now=NOW)
    assert ports.store.saves == 0


# --- the webhook delivery ----------------------------------------------------------------------


class Target:
    def __init__(self, url, secret):
        self.feedback_url, self.secret, self.returns_url = url, secret, None


class Sender:
    def __init__(self, target):
        self.target, self.posts = target, []

    def webhook_target(self, merchant_id):
        return self.target

    def post(self, url, body, headers):
        self.posts.append((url, body, headers))
        return 200

    def webhook_delivered(self, merchant_id, order_id, delivery_id):
        return False

    def record_webhook_delivered(self, merchant_id, order_id, delivery_id, now):
        pass

    def enqueue_later(self, message, delay_seconds):
        raise AssertionError("the endpoint answered; nothing to retry")


def test_the_webhook_is_signed_like_the_returns_one():
    message = DeliverFeedbackWebhook(merchant_id="m", order_id="1001", sku=SKU, version=2,
                                     body={"type": "FeedbackSubmitted", "rating": 5, "comment": "ça va"})
    sender = Sender(Target("https://merchant.example/fb", "whsec_x"))
    assert deliver_webhook(message, sender, NOW) == "webhook_sent"
    [(url, body, headers)] = sender.posts
    assert url == "https://merchant.example/fb" and json.loads(body)["comment"] == "ça va"
    assert verify_signature("whsec_x", headers["X-PostPurchase-Signature"], body, NOW)
    assert headers["X-PostPurchase-Delivery"] == f"1001:{SKU}:2"
    for target in (None, Target(None, "whsec_x"), Target("https://merchant.example/fb", None)):
        assert deliver_webhook(message, Sender(target), NOW) == "no_webhook"
