"""Referral codes, share links, normalisation and every fraud rule."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from postpurchase.orders.models import Address, Order
from postpurchase.rewards.coupons import ALPHABET
from postpurchase.rewards.referrals import (
    ReferrerFacts,
    fully_returned,
    judge,
    new_referral_code,
    normalise_address,
    normalise_email,
    normalise_referral_code,
    share_url,
    vesting_time,
)

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
HOME = {"name": "Ayşe Yılmaz", "address1": "İstiklal Caddesi 12", "city": "İstanbul", "zip": "34433",
        "country_code": "TR"}


def order(order_id: str = "2001", email: str = "friend@example.com", address: dict | None = None,
          fingerprint: str | None = None, customer_id: str = "c-2") -> Order:
    return Order.model_validate({
        "order_id": order_id, "placed_at": NOW.isoformat(), "currency": "USD", "email": email,
        "customer": {"id": customer_id, "email": email},
        "items": [{"sku": "MUG-1", "title": "Mug", "quantity": 2, "price": "12.50"}],
        "shipping_address": address or {"address1": "Baker Street 221b", "city": "London", "zip": "NW1 6XE",
                                        "country_code": "GB"},
        "totals": {"subtotal": "25.00", "total": "25.00"}, "referral_code": "RF-7KQ3MX9A",
        "payment_fingerprint": fingerprint})


REFERRER = ReferrerFacts.gather("c-1", "Ayse.Yilmaz@Gmail.com",
                                [order("1001", "ayse.yilmaz@gmail.com", HOME, "card-abc", "c-1")])


def decide(new: Order, *, had_order_before: bool = False, accepted: int = 0, cap: int = 5,
           referrer: ReferrerFacts | None = REFERRER, customer_id: str = "c-2"):
    return judge(referrer, new, new_customer_id=customer_id, had_order_before=had_order_before,
                 accepted_this_month=accepted, monthly_cap=cap)


def test_referral_codes_are_short_unambiguous_and_forgiving_when_typed() -> None:
    codes = {new_referral_code() for _ in range(500)}
    assert len(codes) == 500
    assert all(re.fullmatch(rf"RF-[{ALPHABET}]{{8}}", code) for code in codes)
    assert normalise_referral_code(" rf-7kq3 mx9a ") == "RF-7KQ3MX9A"
    assert normalise_referral_code("7KQ3MX9A") == "RF-7KQ3MX9A"
    assert normalise_referral_code("RF-7KQ3MX90") is None  # 0 is never in a code
    assert normalise_referral_code("RF-7KQ3") is None
    assert normalise_referral_code(None) is None


def test_the_share_link_is_the_merchants_shop_else_ours() -> None:
    assert share_url("RF-7KQ3MX9A", "https://shop.example", "https://pp.test") == "https://shop.example/?ref=RF-7KQ3MX9A"
    assert (share_url("RF-7KQ3MX9A", "https://shop.example/tr?utm=x&ref=OLD", "https://pp.test")
            == "https://shop.example/tr?utm=x&ref=RF-7KQ3MX9A")
    assert share_url("RF-7KQ3MX9A", None, "https://pp.test/api") == "https://pp.test/api/?ref=RF-7KQ3MX9A"


@pytest.mark.parametrize("a, b", [
    ("A.B+promo@GMAIL.com", "ab@gmail.com"),
    ("a.b@googlemail.com", "ab@gmail.com"),
    (" Someone+x@Example.COM ", "someone@example.com"),
])
def test_emails_are_normalised(a: str, b: str) -> None:
    assert normalise_email(a) == b


def test_dots_count_outside_gmail() -> None:
    assert normalise_email("a.b@example.com") != normalise_email("ab@example.com")


def test_addresses_ignore_case_accents_punctuation_and_spacing() -> None:
    same = Address.model_validate({"address1": "istiklal  caddesi, 12", "city": "ISTANBUL", "zip": "34433",
                                   "country_code": "tr", "name": "Someone else"})
    assert normalise_address(same) == normalise_address(Address.model_validate(HOME))
    other = Address.model_validate({**HOME, "address1": "İstiklal Caddesi 14"})
    assert normalise_address(other) != normalise_address(Address.model_validate(HOME))


def test_a_new_customer_with_nothing_in_common_is_accepted() -> None:
    decision = decide(order())
    assert (decision.status, decision.reasons) == ("accepted", ())


@pytest.mark.parametrize("new, reason", [
    (order(email="ayseyilmaz+friend@gmail.com"), "self_referral_email"),
    (order(address={**HOME, "address1": "Istiklal Caddesi 12."}), "self_referral_address"),
    (order(fingerprint="card-abc"), "self_referral_payment"),
])
def test_self_referrals_are_refused(new: Order, reason: str) -> None:
    decision = decide(new)
    assert (decision.status, decision.reasons) == ("refused", (reason,))


def test_the_referrer_using_their_own_code_is_refused() -> None:
    assert decide(order(), customer_id="c-1").reasons == ("self_referral_email",)


def test_a_fingerprint_the_referrer_never_used_is_fine() -> None:
    assert decide(order(fingerprint="card-xyz")).status == "accepted"


def test_existing_customers_cannot_be_referred() -> None:
    decision = decide(order(), had_order_before=True)
    assert (decision.status, decision.reasons) == ("refused", ("existing_customer",))


def test_every_reason_that_applies_is_given() -> None:
    decision = decide(order(email="ayse.yilmaz@gmail.com", address=HOME, fingerprint="card-abc"),
                      had_order_before=True)
    assert decision.reasons == ("self_referral_email", "self_referral_address", "self_referral_payment",
                                "existing_customer")


def test_an_unknown_code_is_refused() -> None:
    assert decide(order(), referrer=None).reasons == ("unknown_code",)


def test_past_the_monthly_cap_it_waits_for_the_merchant() -> None:
    assert decide(order(), accepted=4, cap=5).status == "accepted"
    decision = decide(order(), accepted=5, cap=5)
    assert (decision.status, decision.reasons) == ("flagged", ("monthly_cap_reached",))
    # a fraud refusal wins over the cap
    assert decide(order(fingerprint="card-abc"), accepted=5).status == "refused"


def test_rewards_vest_when_the_longest_window_has_closed() -> None:
    assert vesting_time(NOW, [14, 30], 7) == NOW + timedelta(days=37)
    assert vesting_time(NOW, [], 7) == NOW + timedelta(days=7)
    delivered = NOW + timedelta(days=2)
    assert vesting_time(NOW, [30], 7, delivered_at=delivered) == delivered + timedelta(days=30)


def test_fully_returned_means_every_unit_accepted_back() -> None:
    assert fully_returned({"MUG-1": 2, "CUP": 1}, {"MUG-1": 2, "CUP": 1})
    assert not fully_returned({"MUG-1": 2, "CUP": 1}, {"MUG-1": 2})
    assert not fully_returned({"MUG-1": 2}, {"MUG-1": 1})
