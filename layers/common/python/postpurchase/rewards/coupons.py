"""Coupons: unguessable single-use codes and the rule that says whether one can be used now.

Pure: no AWS, `now` passed in. Storage is postpurchase.storage.coupons.

Codes are 16 symbols from a 31-symbol alphabet without the look-alikes 0/O/1/I/L (and so
nothing a cashier can misread), drawn from `secrets`: 16 x log2(31) = 79 bits, grouped by four
(`K7QM-3XPD-9TWA-R4HN`). Nothing lists codes, so the only way to find one is to be given it.
"""
from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..messaging.requests import OfferNotice
from ..messaging.settings import OfferSpec

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0 O 1 I L
GROUPS = 4
GROUP_SIZE = 4
CODE_LENGTH = GROUPS * GROUP_SIZE
_SEPARATORS = frozenset(" -_.\t\u00a0\u2010\u2011\u2012\u2013\u2014\u2212")

CouponState = Literal["issued", "redeemed", "void"]
Refusal = Literal["unknown", "not_yet_valid", "expired", "already_used", "min_spend_not_met",
                  "currency_mismatch", "void", "wrong_customer"]
CENT = Decimal("0.01")


def new_code(alphabet: str = ALPHABET, length: int = CODE_LENGTH) -> str:
    """A fresh code, grouped for reading (`K7QM-3XPD-9TWA-R4HN`)."""
    raw = "".join(secrets.choice(alphabet) for _ in range(length))
    return group(raw)


def group(raw: str, size: int = GROUP_SIZE) -> str:
    return "-".join(raw[i:i + size] for i in range(0, len(raw), size))


def normalise_code(typed: str) -> str | None:
    """What a cashier or customer typed, as the canonical grouped code; None when it cannot be
    one of ours (wrong length or a symbol we never use), so no lookup is spent on it.

    Case, spaces, dashes and full-width forms are forgiven. The look-alikes 0/O/1/I/L never
    occur in a code, so there is nothing to guess between."""
    if not isinstance(typed, str) or len(typed) > 80:
        return None
    text = unicodedata.normalize("NFKC", typed).upper()
    raw = "".join(ch for ch in text if ch not in _SEPARATORS)
    if len(raw) != CODE_LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return group(raw)


class Coupon(BaseModel):
    """One single-use code, as stored."""

    model_config = ConfigDict(frozen=True)

    code: str
    merchant_id: str
    customer_id: str | None = None
    campaign: str
    ref: str
    discount_type: Literal["percent", "amount"]
    value: Decimal
    currency: str | None = None
    min_spend: Decimal | None = None
    valid_from: datetime
    expires_at: datetime
    issued_at: datetime
    state: CouponState = "issued"
    redeemed_order_id: str | None = None
    redeemed_at: datetime | None = None
    discount_amount: Decimal | None = None  # what the redemption took off
    void_reason: str | None = None

    def status(self, now: datetime) -> str:
        """issued coupons read as pending before valid_from and expired after expires_at."""
        if self.state != "issued":
            return self.state
        if now < self.valid_from:
            return "pending"
        if now >= self.expires_at:
            return "expired"
        return "valid"

    def notice(self) -> OfferNotice:
        return OfferNotice(code=self.code, discount_type=self.discount_type, value=self.value,
                           currency=self.currency, min_spend=self.min_spend, expires_at=self.expires_at)


def make_coupon(merchant_id: str, customer_id: str | None, spec: OfferSpec, *, campaign: str, ref: str,
                currency: str | None, now: datetime, valid_from: datetime | None = None,
                code: str | None = None) -> Coupon:
    """A new coupon worth `spec`, valid from `valid_from` (default now) for spec.valid_days.

    An amount (or a minimum spend) is money: it needs the currency it is in."""
    if (spec.discount_type == "amount" or spec.min_spend is not None) and not currency:
        raise ValueError("an amount or a minimum spend needs a currency")
    start = valid_from or now
    return Coupon(code=code or new_code(), merchant_id=merchant_id, customer_id=customer_id, campaign=campaign,
                  ref=ref, discount_type=spec.discount_type, value=spec.value,
                  currency=currency.upper() if currency else None, min_spend=spec.min_spend, valid_from=start,
                  expires_at=start + timedelta(days=spec.valid_days), issued_at=now)


@dataclass(frozen=True)
class Redemption:
    """The answer of the redemption rule: ok with the discount, or the reason it is refused.
    `replay` says the same order already redeemed it (the same success again)."""

    ok: bool
    reason: Refusal | None = None
    discount_amount: Decimal | None = None
    replay: bool = False


def discount_for(coupon: Coupon, order_total: Decimal) -> Decimal:
    if coupon.discount_type == "percent":
        amount = (order_total * coupon.value / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        amount = coupon.value
    return max(Decimal(0), min(amount, order_total))


def check_redemption(coupon: Coupon | None, *, now: datetime, order_id: str | None = None,
                     order_total: Decimal | None = None, currency: str | None = None,
                     customer_id: str | None = None) -> Redemption:
    """May `coupon` be used on this order now? Without an order (a checkout preview) only what
    is known is checked. The first reason that applies is the one given."""
    if coupon is None:
        return Redemption(False, "unknown")
    if coupon.state == "void":
        return Redemption(False, "void")
    if coupon.state == "redeemed":
        if order_id is not None and coupon.redeemed_order_id == order_id:
            return Redemption(True, discount_amount=coupon.discount_amount, replay=True)
        return Redemption(False, "already_used")
    if customer_id is not None and coupon.customer_id is not None and customer_id != coupon.customer_id:
        return Redemption(False, "wrong_customer")
    if now < coupon.valid_from:
        return Redemption(False, "not_yet_valid")
    if now >= coupon.expires_at:
        return Redemption(False, "expired")
    # Money on the coupon (an amount, a minimum spend) is in its currency; a bare percent is not.
    if (coupon.discount_type == "amount" or coupon.min_spend is not None) and currency is not None \
            and currency.upper() != coupon.currency:
        return Redemption(False, "currency_mismatch")
    if order_total is not None and coupon.min_spend is not None and order_total < coupon.min_spend:
        return Redemption(False, "min_spend_not_met")
    return Redemption(True, discount_amount=discount_for(coupon, order_total) if order_total is not None else None)
