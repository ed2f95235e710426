"""The order-events consumer picks the merchant's confirmation variant and fetches what it needs
(coupon + referral code, or products) through services; the email sender renders it. Rewards and
recommendations are other capabilities: faked here through their services factories."""
from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from test_order_events import EMAIL_QUEUE, handle, order_placed

PRODUCT_TITLE = "Tea <Cup> & Saucer"


class FakeCoupons:
    def __init__(self) -> None:
        self.calls = []

    def issue(self, merchant_id, customer_id, spec, *, campaign, ref, currency, now):
        from postpurchase.messaging.requests import OfferNotice

        self.calls.append((merchant_id, customer_id, campaign, ref, currency))
        return OfferNotice(code=f"THX-{ref}", discount_type=spec.discount_type, value=spec.value, currency=currency)


class FakeReferrals:
    def invite_for(self, merchant_id, customer_id, now):
        from postpurchase.messaging.requests import ReferralInvite

        return ReferralInvite(code="FRIEND-C1", share_url="https://shop.test/r/FRIEND-C1")


class FakeRecommender:
    def for_customer(self, merchant_id, customer_id, *, limit=4, order=None):
        from postpurchase.messaging.requests import ProductCard

        assert order is not None and limit == 4
        return [ProductCard(product_id="p-1", title=PRODUCT_TITLE, price=Decimal("9.50"), currency=order.currency,
                            image_url="https://cdn.shop.test/cup.png", product_url="https://shop.test/p/1")]


def _factory(adapter):
    """A services-style factory (services.reset() calls cache_clear on each) returning `adapter`."""
    def factory():
        return adapter

    factory.cache_clear = lambda: None
    return factory


def _settings(monkeypatch, **fields):
    from postpurchase.messaging.settings import MessagingSettings
    from postpurchase.storage import merchants

    settings = MessagingSettings(**fields)
    monkeypatch.setattr(merchants, "messaging_settings", lambda merchant_id: settings, raising=False)


def _confirmation(aws) -> dict:
    [body] = aws.take(EMAIL_QUEUE)
    return json.loads(body)


def test_enticing_confirmation_carries_the_coupon_and_the_referral_code(aws, monkeypatch):
    from postpurchase import services

    coupons = FakeCoupons()
    monkeypatch.setattr(services, "coupon_issuer", _factory(coupons))
    monkeypatch.setattr(services, "referral_codes", _factory(FakeReferrals()))
    _settings(monkeypatch, confirmation_rules=[{"variant": "enticing"}],
              confirmation_offer={"discount_type": "percent", "value": "10"})

    _, failed = handle(aws, order_placed(aws, "V-1"))
    assert failed == []
    request = _confirmation(aws)
    assert request["variant"] == "enticing"
    assert request["offer"]["code"] == "THX-V-1" and request["referral"]["code"] == "FRIEND-C1"
    assert [call[2:] for call in coupons.calls] == [("confirmation", "V-1", request["order"]["currency"])]

    assert aws.deliver(aws.email_sender, aws.sqs_event([json.dumps(request)], queue_id=EMAIL_QUEUE)) == []
    [message] = aws.sent_emails()
    html = message.get_body(("html",)).get_content()
    assert "THX-V-1" in html and "FRIEND-C1" in html
    assert message["List-Unsubscribe"] is None  # a confirmation is transactional


def test_recommendations_confirmation_shows_the_products(aws, monkeypatch):
    from postpurchase import services

    monkeypatch.setattr(services, "recommender", _factory(FakeRecommender()))
    _settings(monkeypatch, confirmation_rules=[{"variant": "recommendations", "first_order": True}])

    assert handle(aws, order_placed(aws, "V-2"))[1] == []
    request = _confirmation(aws)
    assert request["variant"] == "recommendations" and request["products"][0]["title"] == PRODUCT_TITLE

    assert aws.deliver(aws.email_sender, aws.sqs_event([json.dumps(request)], queue_id=EMAIL_QUEUE)) == []
    [message] = aws.sent_emails()
    html = message.get_body(("html",)).get_content()
    assert "Tea &lt;Cup&gt; &amp; Saucer" in html and "https://shop.test/p/1" in html


def test_with_the_real_rewards_the_enticing_confirmation_carries_a_code_and_a_referral(aws, monkeypatch):
    _settings(monkeypatch, confirmation_rules=[{"variant": "enticing"}],
              confirmation_offer={"discount_type": "amount", "value": "5"})

    assert handle(aws, order_placed(aws, "V-3"))[1] == []
    request = _confirmation(aws)
    assert request["variant"] == "enticing"
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", request["offer"]["code"])
    assert request["offer"]["currency"] == "USD" and request["referral"]["code"].startswith("RF-")


def test_with_no_catalog_the_recommendations_confirmation_falls_back_to_reassuring(aws, monkeypatch):
    _settings(monkeypatch, confirmation_rules=[{"variant": "recommendations"}])

    assert handle(aws, order_placed(aws, "V-5"))[1] == []
    request = _confirmation(aws)
    assert request["variant"] == "reassuring" and request["products"] == []


def test_a_redelivered_order_asks_for_the_same_coupon(aws, monkeypatch):
    from postpurchase import services

    coupons = FakeCoupons()
    monkeypatch.setattr(services, "coupon_issuer", _factory(coupons))
    _settings(monkeypatch, confirmation_rules=[{"variant": "enticing"}],
              confirmation_offer={"discount_type": "percent", "value": "10"})
    body = order_placed(aws, "V-4")
    handle(aws, body)
    handle(aws, body)  # SQS redelivers: the issuer is idempotent on (campaign, ref)

    requests = [json.loads(b) for b in aws.take(EMAIL_QUEUE)]
    assert {r["offer"]["code"] for r in requests} == {"THX-V-4"}
    assert {call[3] for call in coupons.calls} == {"V-4"}


def test_a_marketing_email_goes_out_with_one_click_unsubscribe_headers(aws):
    from postpurchase.messaging.requests import EmailRequest, OfferNotice

    unsubscribe = "https://shop.test/pages/demo-store/unsubscribe/tok"
    request = EmailRequest(kind="win_back", merchant_id="demo-store", ref="win_back-2026", recipient="ayse@example.org",
                           locale="ar-SA", customer={"id": "c-1", "email": "ayse@example.org", "first_name": "Ayşe"},
                           requested_at=aws.now, unsubscribe_url=unsubscribe,
                           preferences_url="https://shop.test/pages/demo-store/preferences/tok",
                           offer=OfferNotice(code="BACK-10", discount_type="percent", value=Decimal("10")))
    event = aws.sqs_event([request.model_dump_json()], queue_id=EMAIL_QUEUE)
    assert aws.deliver(aws.email_sender, event) == []
    [message] = aws.sent_emails()
    assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.get_body(("html",)).get_content()
    assert 'dir="rtl"' in html and f'href="{unsubscribe}"' in html and "BACK-10" in html
