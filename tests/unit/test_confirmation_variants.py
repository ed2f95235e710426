"""Which confirmation an order gets (the merchant's rules, first match wins) and what the
composition fetches for it: a coupon and the referral code for "enticing", products for
"recommendations"; anything missing or failing falls back to "reassuring", never a lost email."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from postpurchase.messaging.confirmation import (
    compose_confirmation,
    confirmation_request,
    confirmation_variant,
    with_fallback,
)
from postpurchase.messaging.requests import OfferNotice, ProductCard, ReferralInvite
from postpurchase.messaging.settings import ConfirmationRule, MessagingSettings, OfferSpec
from postpurchase.orders.models import Order

from test_rendering import make_order

NOW = datetime(2026, 11, 20, 23, 31, tzinfo=timezone.utc)
URL = "https://shop.example/pages/m-1/orders/o-9f2?token=t"


def order(total: str = "36.00", categories: tuple[str | None, ...] = ("scarves", None)) -> Order:
    data = make_order(totals={"total": total})
    for item, category in zip(data["items"], categories):
        item["category"] = category
    return Order.model_validate(data)


@dataclass
class Recorded:
    merchant_id: str
    order: Order
    is_first_order: bool
    customer_id: str = "c-1"


def rules(*specs: dict) -> list[ConfirmationRule]:
    return [ConfirmationRule(**spec) for spec in specs]


# --- the rules ------------------------------------------------------------------------------


def test_no_rules_means_plain():
    assert confirmation_variant([], order(), True) == "plain"


def test_the_default_rules_welcome_a_first_order_and_reassure_a_repeat_one():
    default = MessagingSettings().confirmation_rules
    assert confirmation_variant(default, order(), True) == "welcome"
    assert confirmation_variant(default, order(), False) == "reassuring"


def test_the_first_matching_rule_wins():
    chosen = rules({"variant": "enticing", "min_total": "30"}, {"variant": "welcome", "first_order": True})
    assert confirmation_variant(chosen, order("36.00"), True) == "enticing"
    assert confirmation_variant(chosen, order("29.99"), True) == "welcome"
    assert confirmation_variant(chosen, order("29.99"), False) == "plain"


@pytest.mark.parametrize("first_order,is_first,matches", [(True, True, True), (True, False, False),
                                                          (False, False, True), (False, True, False),
                                                          (None, True, True), (None, False, True)])
def test_first_order_condition(first_order, is_first, matches):
    chosen = rules({"variant": "recommendations", "first_order": first_order})
    assert (confirmation_variant(chosen, order(), is_first) == "recommendations") is matches


def test_min_total_is_inclusive():
    chosen = rules({"variant": "enticing", "min_total": "36.00"})
    assert confirmation_variant(chosen, order("36.00"), False) == "enticing"
    assert confirmation_variant(chosen, order("35.99"), False) == "plain"


def test_categories_match_any_item_ignoring_case():
    chosen = rules({"variant": "recommendations", "categories": ["Books", "SCARVES"]})
    assert confirmation_variant(chosen, order(categories=("scarves", None)), False) == "recommendations"
    assert confirmation_variant(chosen, order(categories=(None, "books")), False) == "recommendations"
    assert confirmation_variant(chosen, order(categories=("mugs", None)), False) == "plain"
    assert confirmation_variant(chosen, order(categories=(None, None)), False) == "plain"


def test_all_conditions_of_a_rule_must_hold():
    chosen = rules({"variant": "enticing", "first_order": False, "min_total": "50", "categories": ["scarves"]})
    assert confirmation_variant(chosen, order("60"), False) == "enticing"
    assert confirmation_variant(chosen, order("60"), True) == "plain"
    assert confirmation_variant(chosen, order("40"), False) == "plain"
    assert confirmation_variant(chosen, order("60", categories=("mugs", None)), False) == "plain"


def test_the_old_call_still_works():
    assert confirmation_variant(True) == "welcome" and confirmation_variant(False) == "plain"
    request = confirmation_request(Recorded("m-1", order(), False), URL, NOW)
    assert request.variant == "plain" and request.offer is None and request.products == []
    assert confirmation_request(Recorded("m-1", order(), True), URL, NOW).variant == "welcome"


OFFER = OfferNotice(code="THANKS-1", discount_type="percent", value=Decimal("10"))
REFERRAL = ReferralInvite(code="AYSE-42", share_url="https://shop.example/r/AYSE-42")
PRODUCTS = [ProductCard(product_id=f"p{i}", title=f"P{i}") for i in range(6)]


@pytest.mark.parametrize("variant,offer,referral,products,expected", [
    ("enticing", None, None, [], "reassuring"),
    ("enticing", OFFER, None, [], "enticing"),
    ("enticing", None, REFERRAL, [], "enticing"),
    ("recommendations", None, None, [], "reassuring"),
    ("recommendations", None, None, PRODUCTS[:1], "recommendations"),
    ("welcome", None, None, [], "welcome"),
    ("plain", OFFER, REFERRAL, PRODUCTS, "plain"),
])
def test_a_variant_without_its_data_falls_back(variant, offer, referral, products, expected):
    assert with_fallback(variant, offer=offer, referral=referral, products=products) == expected


def test_the_request_carries_only_what_its_variant_shows():
    recorded = Recorded("m-1", order(), False)
    plain = confirmation_request(recorded, URL, NOW, variant="plain", offer=OFFER, referral=REFERRAL, products=PRODUCTS)
    assert plain.offer is None and plain.referral is None and plain.products == []
    enticing = confirmation_request(recorded, URL, NOW, variant="enticing", offer=OFFER, products=PRODUCTS)
    assert enticing.offer == OFFER and enticing.products == []


# --- the composition, with fakes for rewards and recommendations ---------------------------------


class FakeCoupons:
    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.issued: dict[tuple[str, str], OfferNotice] = {}

    def issue(self, merchant_id, customer_id, spec, *, campaign, ref, currency, now):
        self.calls.append({"merchant_id": merchant_id, "customer_id": customer_id, "spec": spec,
                           "campaign": campaign, "ref": ref, "currency": currency, "now": now})
        key = (campaign, ref)  # idempotent on (campaign, ref), like the real issuer
        if key not in self.issued:
            self.issued[key] = OfferNotice(code=f"C{len(self.issued) + 1}", discount_type=spec.discount_type,
                                           value=spec.value, currency=currency, min_spend=spec.min_spend,
                                           expires_at=now + timedelta(days=spec.valid_days))
        return self.issued[key]


class FakeReferrals:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def invite_for(self, merchant_id, customer_id, now):
        self.calls.append((merchant_id, customer_id, now))
        return REFERRAL


class FakeRecommender:
    def __init__(self, products=PRODUCTS) -> None:
        self.products = products
        self.calls: list[dict] = []

    def for_customer(self, merchant_id, customer_id, *, limit=4, order=None):
        self.calls.append({"merchant_id": merchant_id, "customer_id": customer_id, "limit": limit, "order": order})
        return list(self.products)  # a sloppy recommender may return more than asked


def not_wired():
    raise NotImplementedError("not merged yet")


def broken():
    raise RuntimeError("ProvisionedThroughputExceeded")


SPEC = OfferSpec(discount_type="percent", value=Decimal("15"), min_spend=Decimal("50"), valid_days=30)
ENTICING = MessagingSettings(confirmation_rules=rules({"variant": "enticing"}), confirmation_offer=SPEC)
RECOMMEND = MessagingSettings(confirmation_rules=rules({"variant": "recommendations"}))


def test_enticing_issues_the_confirmation_coupon_and_the_referral_code():
    coupons, referrals, recommender = FakeCoupons(), FakeReferrals(), FakeRecommender()
    recorded = Recorded("m-1", order(), False)
    request = compose_confirmation(recorded, URL, NOW, settings=ENTICING, coupons=lambda: coupons,
                                   referrals=lambda: referrals, recommender=lambda: recommender)
    assert request.variant == "enticing" and request.offer.code == "C1" and request.referral == REFERRAL
    assert coupons.calls == [{"merchant_id": "m-1", "customer_id": "c-1", "spec": SPEC, "campaign": "confirmation",
                              "ref": "o-9f2", "currency": "USD", "now": NOW}]
    assert referrals.calls == [("m-1", "c-1", NOW)]
    assert recommender.calls == []  # only what the chosen variant needs

    # An SQS redelivery composes again: the same coupon, not a second one.
    again = compose_confirmation(recorded, URL, NOW, settings=ENTICING, coupons=lambda: coupons,
                                 referrals=lambda: referrals)
    assert again.offer == request.offer and len(coupons.issued) == 1


def test_enticing_without_a_configured_offer_asks_for_no_coupon():
    coupons = FakeCoupons()
    settings = MessagingSettings(confirmation_rules=rules({"variant": "enticing"}))
    request = compose_confirmation(Recorded("m-1", order(), False), URL, NOW, settings=settings,
                                   coupons=lambda: coupons, referrals=lambda: FakeReferrals())
    assert coupons.calls == [] and request.variant == "enticing" and request.offer is None and request.referral


@pytest.mark.parametrize("failure", [not_wired, broken])
def test_enticing_falls_back_to_reassuring_when_rewards_are_not_available(failure, monkeypatch):
    from postpurchase.messaging import confirmation

    logged: list[str] = []
    monkeypatch.setattr(confirmation, "logger", type("Log", (), {
        "info": lambda self, message, **kw: logged.append(message),
        "warning": lambda self, message, **kw: logged.append(message)})())
    request = compose_confirmation(Recorded("m-1", order(), False), URL, NOW, settings=ENTICING,
                                   coupons=failure, referrals=failure)
    assert request.variant == "reassuring" and request.offer is None and request.referral is None
    assert len(logged) == 2 and all("confirmation extra" in message for message in logged)  # offer, referral


def test_only_the_referral_failing_keeps_the_coupon():
    coupons = FakeCoupons()
    request = compose_confirmation(Recorded("m-1", order(), False), URL, NOW, settings=ENTICING,
                                   coupons=lambda: coupons, referrals=broken)
    assert request.variant == "enticing" and request.offer is not None and request.referral is None


def test_recommendations_ask_for_four_complementing_this_order():
    recommender = FakeRecommender()
    recorded = Recorded("m-1", order(), True)
    request = compose_confirmation(recorded, URL, NOW, settings=RECOMMEND, recommender=lambda: recommender,
                                   coupons=not_wired)
    assert request.variant == "recommendations" and request.products == PRODUCTS[:4]
    assert recommender.calls == [{"merchant_id": "m-1", "customer_id": "c-1", "limit": 4, "order": recorded.order}]


@pytest.mark.parametrize("recommender", [lambda: FakeRecommender(products=[]), not_wired, broken, None])
def test_recommendations_without_products_fall_back_to_reassuring(recommender):
    request = compose_confirmation(Recorded("m-1", order(), False), URL, NOW, settings=RECOMMEND,
                                   recommender=recommender)
    assert request.variant == "reassuring" and request.products == []


@pytest.mark.parametrize("settings", [None, not_wired, broken])
def test_settings_that_cannot_be_read_mean_the_defaults(settings):
    first = compose_confirmation(Recorded("m-1", order(), True), URL, NOW, settings=settings)
    repeat = compose_confirmation(Recorded("m-1", order(), False), URL, NOW, settings=settings)
    assert (first.variant, repeat.variant) == ("welcome", "reassuring")


def test_settings_are_read_through_the_callable():
    request = compose_confirmation(Recorded("m-1", order(), False), URL, NOW, settings=lambda: RECOMMEND,
                                   recommender=lambda: FakeRecommender())
    assert request.variant == "recommendations"


def test_without_a_customer_id_the_orders_customer_is_used():
    @dataclass
    class Bare:
        merchant_id: str
        order: Order
        is_first_order: bool

    coupons = FakeCoupons()
    recorded = Bare("m-1", order(), False)
    compose_confirmation(recorded, URL, NOW, settings=ENTICING, coupons=lambda: coupons)
    assert coupons.calls[0]["customer_id"] == recorded.order.customer.customer_id()
