"""Coupon codes (alphabet, entropy, what a cashier types) and the redemption rule."""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from postpurchase.messaging.settings import OfferSpec
from postpurchase.rewards.coupons import (
    ALPHABET,
    CODE_LENGTH,
    Coupon,
    check_redemption,
    make_coupon,
    new_code,
    normalise_code,
)

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
TEN_OFF = OfferSpec(discount_type="amount", value=Decimal("10"), min_spend=Decimal("50"), valid_days=30)
FIFTEEN_PERCENT = OfferSpec(discount_type="percent", value=Decimal("15"))


def coupon(spec: OfferSpec = TEN_OFF, **changes) -> Coupon:
    made = make_coupon("demo-store", "c-1", spec, campaign="birthday", ref="2026", currency="usd", now=NOW)
    return made.model_copy(update=changes)


# ------------------------------------------------------------------------------ codes


def test_the_alphabet_has_no_look_alikes_and_codes_carry_at_least_60_bits() -> None:
    assert not set("0O1IL") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET)
    assert CODE_LENGTH * math.log2(len(ALPHABET)) >= 60


def test_codes_are_grouped_by_four_from_the_alphabet_and_do_not_repeat() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    pattern = re.compile(rf"^[{ALPHABET}]{{4}}(-[{ALPHABET}]{{4}}){{3}}$")
    assert all(pattern.match(code) for code in codes)
    # every symbol gets used: drawn from the whole alphabet, not a slice of it
    assert set("".join(codes).replace("-", "")) == set(ALPHABET)


@pytest.mark.parametrize("typed", ["k7qm-3xpd-9twa-r4hn", " K7QM 3XPD 9TWA R4HN ", "K7QM3XPD9TWAR4HN",
                                   "k7qm_3xpd.9twa–r4hn", "Ｋ７ＱＭ-３ＸＰＤ-９ＴＷＡ-Ｒ４ＨＮ"])
def test_what_a_cashier_types_becomes_the_canonical_code(typed: str) -> None:
    assert normalise_code(typed) == "K7QM-3XPD-9TWA-R4HN"


@pytest.mark.parametrize("typed", ["", "K7QM-3XPD-9TWA", "K7QM-3XPD-9TWA-R4HN-2", "K7QM-3XPD-9TWA-R4H0",
                                   "K7QM-3XPD-9TWA-R4HO", "K7QM-3XPD-9TWA-R4H1", "K7QM-3XPD-9TWA-R4HI",
                                   "K7QM-3XPD-9TWA-R4H#", "x" * 200])
def test_anything_that_cannot_be_a_code_is_refused_without_a_lookup(typed: str) -> None:
    assert normalise_code(typed) is None


def test_an_amount_needs_a_currency() -> None:
    with pytest.raises(ValueError):
        make_coupon("demo-store", "c-1", TEN_OFF, campaign="c", ref="r", currency=None, now=NOW)
    percent = make_coupon("demo-store", "c-1", FIFTEEN_PERCENT, campaign="c", ref="r", currency=None, now=NOW)
    assert percent.currency is None and percent.expires_at == NOW + timedelta(days=30)


# ------------------------------------------------------------------------------ redemption rule


def test_a_valid_coupon_takes_its_amount_off_and_never_more_than_the_total() -> None:
    result = check_redemption(coupon(), now=NOW, order_id="9", order_total=Decimal("80.00"), currency="USD")
    assert result.ok and result.discount_amount == Decimal("10")
    small = coupon(min_spend=None)
    assert check_redemption(small, now=NOW, order_total=Decimal("4.00"), currency="USD").discount_amount == Decimal("4.00")


def test_a_percent_is_rounded_to_cents_half_up() -> None:
    result = check_redemption(coupon(FIFTEEN_PERCENT), now=NOW, order_total=Decimal("10.10"), currency="EUR")
    assert result.ok and result.discount_amount == Decimal("1.52")  # 1.515, in any currency


def test_a_percent_with_a_minimum_spend_is_bound_to_its_currency() -> None:
    spec = OfferSpec(discount_type="percent", value=Decimal("15"), min_spend=Decimal("20"))
    assert check_redemption(coupon(spec), now=NOW, order_total=Decimal("30"), currency="EUR").reason == "currency_mismatch"


@pytest.mark.parametrize("changes, kwargs, reason", [
    ({"state": "void", "void_reason": "order_cancelled"}, {}, "void"),
    ({"state": "redeemed", "redeemed_order_id": "8"}, {"order_id": "9"}, "already_used"),
    ({}, {"customer_id": "c-2"}, "wrong_customer"),
    ({"valid_from": NOW + timedelta(seconds=1)}, {}, "not_yet_valid"),
    ({"expires_at": NOW}, {}, "expired"),
    ({}, {"currency": "EUR"}, "currency_mismatch"),
    ({}, {"order_total": Decimal("49.99")}, "min_spend_not_met"),
])
def test_each_refusal_names_its_reason(changes: dict, kwargs: dict, reason: str) -> None:
    arguments = {"order_id": "9", "order_total": Decimal("80"), "currency": "USD", **kwargs}
    result = check_redemption(coupon(**changes), now=NOW, **arguments)
    assert (result.ok, result.reason) == (False, reason)


def test_unknown_is_its_own_reason() -> None:
    assert check_redemption(None, now=NOW).reason == "unknown"


def test_the_same_order_again_is_the_same_success() -> None:
    used = coupon(state="redeemed", redeemed_order_id="9", discount_amount=Decimal("10"))
    result = check_redemption(used, now=NOW, order_id="9", order_total=Decimal("80"), currency="USD")
    assert result.ok and result.replay and result.discount_amount == Decimal("10")


def test_the_customer_is_checked_only_when_both_sides_name_one() -> None:
    assert check_redemption(coupon(), now=NOW, order_total=Decimal("80"), currency="USD", customer_id="c-1").ok
    assert check_redemption(coupon(customer_id=None), now=NOW, order_total=Decimal("80"), currency="USD",
                            customer_id="c-2").ok


def test_statuses_over_time() -> None:
    pending = coupon(valid_from=NOW + timedelta(days=3), expires_at=NOW + timedelta(days=33))
    assert pending.status(NOW) == "pending"
    assert pending.status(NOW + timedelta(days=3)) == "valid"
    assert pending.status(NOW + timedelta(days=33)) == "expired"
    assert coupon(state="void").status(NOW) == "void"
