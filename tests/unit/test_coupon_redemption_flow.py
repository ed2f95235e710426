"""The redeem/preview use cases against an in-memory coupon store: lost races, double clicks,
lookups spared for malformed codes, the rate limit on misses."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from postpurchase.errors import Conflict, NotAllowed, NotFound, TooManyAttempts
from postpurchase.messaging.settings import OfferSpec
from postpurchase.rewards.coupons import Coupon, make_coupon
from postpurchase.rewards.service import PreviewIn, RedeemIn, preview_coupon, redeem_coupon

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
SPEC = OfferSpec(discount_type="percent", value=Decimal("20"))


class FakeStore:
    """Coupons by code; `interloper` redeems the coupon for another order just before ours lands."""

    def __init__(self, coupon: Coupon) -> None:
        self.coupons = {coupon.code: coupon}
        self.reads: list[str] = []
        self.interloper: str | None = None

    def get(self, merchant_id: str, code: str) -> Coupon | None:
        self.reads.append(code)
        coupon = self.coupons.get(code)
        return coupon if coupon and coupon.merchant_id == merchant_id else None

    def mark_redeemed(self, merchant_id: str, code: str, order_id: str, amount: Decimal, now: datetime) -> bool:
        if self.interloper is not None:
            order_id, self.interloper = self.interloper, None
            self.coupons[code] = self.coupons[code].model_copy(update={
                "state": "redeemed", "redeemed_order_id": order_id, "redeemed_at": now, "discount_amount": amount})
            return False
        if self.coupons[code].state != "issued":
            return False
        self.coupons[code] = self.coupons[code].model_copy(update={
            "state": "redeemed", "redeemed_order_id": order_id, "redeemed_at": now, "discount_amount": amount})
        return True


class Limiter:
    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.calls = 0

    def allow(self, merchant_id, scope, limit, window, now) -> bool:
        self.calls += 1
        return self.calls <= self.allowed


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(make_coupon("m-1", "c-1", SPEC, campaign="win_back", ref="2026-11", currency=None, now=NOW))


def body(order_id: str = "o-1", total: str = "50.00") -> RedeemIn:
    return RedeemIn(order_id=order_id, order_total=total, currency="USD")


def code_of(store: FakeStore) -> str:
    return next(iter(store.coupons))


def test_a_double_click_of_the_same_order_is_one_success_twice(store):
    code = code_of(store)
    store.interloper = "o-1"  # the other click, same order, landed first
    answer = redeem_coupon("m-1", code, body(), NOW, store=store)
    assert answer["discount_amount"] == "10.00" and store.coupons[code].redeemed_order_id == "o-1"


def test_losing_the_race_to_another_order_is_already_used(store):
    store.interloper = "o-2"
    with pytest.raises(Conflict) as refused:
        redeem_coupon("m-1", code_of(store), body(), NOW, store=store)
    assert refused.value.details["reason"] == "already_used"


def test_a_malformed_code_is_not_looked_up_and_answers_like_an_unknown_one(store):
    limiter = Limiter(allowed=10)
    with pytest.raises(NotFound) as malformed:
        redeem_coupon("m-1", "HELLO", body(), NOW, store=store, limiter=limiter)
    with pytest.raises(NotFound) as unknown:
        redeem_coupon("m-1", "K7QM-3XPD-9TWA-R4HN", body(), NOW, store=store, limiter=limiter)
    with pytest.raises(NotFound) as foreign:
        redeem_coupon("m-2", code_of(store), body(), NOW, store=store, limiter=limiter)
    assert store.reads == ["K7QM-3XPD-9TWA-R4HN", code_of(store)]
    assert malformed.value.as_body() == unknown.value.as_body() == foreign.value.as_body()
    assert limiter.calls == 3


def test_misses_past_the_limit_answer_429(store):
    limiter = Limiter(allowed=1)
    with pytest.raises(NotFound):
        redeem_coupon("m-1", "K7QM-3XPD-9TWA-R4HN", body(), NOW, store=store, limiter=limiter)
    with pytest.raises(TooManyAttempts):
        redeem_coupon("m-1", "K7QM-3XPD-9TWA-R4HN", body(), NOW, store=store, limiter=limiter)
    # a hit does not count
    assert redeem_coupon("m-1", code_of(store), body(), NOW, store=store, limiter=limiter)["code"] == code_of(store)
    assert limiter.calls == 2


def test_preview_changes_nothing_and_refuses_like_redeem(store):
    code = code_of(store)
    answer = preview_coupon("m-1", code, PreviewIn(order_total="50.00"), NOW, store=store)
    assert (answer["status"], answer["discount_amount"]) == ("valid", "10.00")
    assert store.coupons[code].state == "issued"
    with pytest.raises(NotAllowed) as refused:
        preview_coupon("m-1", code, PreviewIn(customer_id="c-9"), NOW, store=store)
    assert refused.value.details["reason"] == "wrong_customer" and refused.value.status == 422
