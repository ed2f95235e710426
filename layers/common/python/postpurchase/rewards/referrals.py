"""Referrals: the customer's code and share link, and the fraud rules that judge a referred order.

Pure: no AWS, `now` passed in. Storage is postpurchase.storage.referrals.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Iterable, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit, parse_qsl

from pydantic import BaseModel, ConfigDict, Field

from ..messaging.settings import OfferSpec
from ..orders.models import Address, Order
from .coupons import ALPHABET

CODE_PREFIX = "RF-"
CODE_SYMBOLS = 8  # 31**8: about 8.5e11 codes per merchant, so a fresh one almost never collides

ReferralStatus = Literal["accepted", "refused", "flagged", "void"]
RefusalReason = Literal["self_referral_email", "self_referral_address", "self_referral_payment", "existing_customer",
                        "unknown_code", "rejected_by_merchant"]
FlagReason = Literal["monthly_cap_reached"]


class ReferralSettings(BaseModel):
    """What a merchant decides about referrals (`PUT /v1/settings/referrals`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    referrer_reward: OfferSpec | None = None
    friend_reward: OfferSpec | None = None
    monthly_cap: Annotated[int, Field(ge=1, le=1000)] = 5
    # The order's return window counts from delivery; without delivery known, placed_at plus this.
    transit_allowance_days: Annotated[int, Field(ge=0, le=60)] = 7


def new_referral_code() -> str:
    return CODE_PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(CODE_SYMBOLS))


def normalise_referral_code(typed: str | None) -> str | None:
    """`rf 7kq3-mx9a` -> `RF-7KQ3MX9A`; None when it cannot be a referral code of ours."""
    if not typed:
        return None
    text = re.sub(r"[\s\-_.]", "", unicodedata.normalize("NFKC", typed).upper())
    if text.startswith("RF"):
        text = text[2:]
    if len(text) != CODE_SYMBOLS or any(ch not in ALPHABET for ch in text):
        return None
    return CODE_PREFIX + text


def share_url(code: str, website_url: str | None, public_base_url: str) -> str:
    """The merchant's shop with `?ref=CODE` (kept alongside any query it has), else ours."""
    base = website_url or public_base_url.rstrip("/") + "/"
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "ref"] + [("ref", code)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment))


# ------------------------------------------------------------------------------ normalisation

_GMAIL = {"gmail.com", "googlemail.com"}


def normalise_email(email: str | None) -> str | None:
    """Case, surrounding spaces, +tags; for Gmail also the dots (a.b@gmail.com = ab@gmail.com)."""
    if not email or "@" not in email:
        return None
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}" if local else None


def _plain(text: str | None) -> str:
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    letters = letters.replace("ı", "i")  # dotless i (Turkish) has no decomposition
    return " ".join(re.sub(r"[^\w\s]|_", " ", letters).split())


def normalise_address(address: Address | None) -> str | None:
    """Street lines, city, zip and country, ignoring case, accents, punctuation and spacing
    (the recipient's name is not part of it: a friend may ship to themselves at the same place)."""
    if address is None:
        return None
    parts = [_plain(address.address1), _plain(address.address2), _plain(address.city),
             _plain(address.zip).replace(" ", ""), address.country_code.lower()]
    return "|".join(parts)


# ------------------------------------------------------------------------------ fraud rules


@dataclass(frozen=True)
class ReferrerFacts:
    """What we know of the code's owner: their profile email and what their orders showed."""

    customer_id: str
    emails: frozenset[str] = frozenset()  # normalised
    addresses: frozenset[str] = frozenset()  # normalised
    payment_fingerprints: frozenset[str] = frozenset()

    @classmethod
    def gather(cls, customer_id: str, profile_email: str | None, orders: Iterable[Order]) -> "ReferrerFacts":
        emails = {normalise_email(profile_email)}
        addresses: set[str | None] = set()
        fingerprints: set[str] = set()
        for order in orders:
            emails.add(normalise_email(order.recipient))
            emails.add(normalise_email(order.customer.email))
            addresses.add(normalise_address(order.shipping_address))
            if order.payment_fingerprint:
                fingerprints.add(order.payment_fingerprint.strip())
        return cls(customer_id, frozenset(e for e in emails if e), frozenset(a for a in addresses if a),
                   frozenset(fingerprints))


@dataclass(frozen=True)
class Decision:
    status: Literal["accepted", "refused", "flagged"]
    reasons: tuple[str, ...] = field(default_factory=tuple)


def judge(referrer: ReferrerFacts | None, order: Order, *, new_customer_id: str, had_order_before: bool,
          accepted_this_month: int, monthly_cap: int) -> Decision:
    """Accept, refuse (with every reason that applies) or flag for the merchant a referred order."""
    if referrer is None:
        return Decision("refused", ("unknown_code",))
    reasons: list[str] = []
    emails = {normalise_email(order.recipient), normalise_email(order.customer.email)} - {None}
    if new_customer_id == referrer.customer_id or emails & referrer.emails:
        reasons.append("self_referral_email")
    address = normalise_address(order.shipping_address)
    if address is not None and address in referrer.addresses:
        reasons.append("self_referral_address")
    fingerprint = order.payment_fingerprint.strip() if order.payment_fingerprint else None
    if fingerprint and fingerprint in referrer.payment_fingerprints:
        reasons.append("self_referral_payment")
    if had_order_before:
        reasons.append("existing_customer")
    if reasons:
        return Decision("refused", tuple(reasons))
    if accepted_this_month >= monthly_cap:
        return Decision("flagged", ("monthly_cap_reached",))
    return Decision("accepted")


def month_of(when: datetime) -> str:
    return when.strftime("%Y-%m")


# ------------------------------------------------------------------------------ the stored referral


class Reward(BaseModel):
    model_config = ConfigDict(frozen=True)

    side: Literal["referrer", "friend"]
    customer_id: str
    code: str
    discount_type: Literal["percent", "amount"]
    value: Decimal
    currency: str | None = None
    valid_from: datetime
    expires_at: datetime
    void_reason: str | None = None


class Referral(BaseModel):
    """One referred order (its id is the order id: one referral per order at most)."""

    model_config = ConfigDict(frozen=True)

    referral_id: str
    merchant_id: str
    order_id: str
    code: str  # as normalised (or as typed, when it is not one of ours)
    referrer_id: str | None
    friend_id: str
    status: ReferralStatus
    reasons: tuple[str, ...] = ()
    placed_at: datetime
    vests_at: datetime  # the end of the order's return window: rewards are usable from then
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: Literal["rules", "merchant"] = "rules"
    rewards: tuple[Reward, ...] = ()
    void_reason: str | None = None

    def view(self, now: datetime) -> dict:
        """The merchant's view: status, reasons and each reward with its own status."""
        def reward_status(reward: Reward) -> str:
            if reward.void_reason:
                return "void"
            if now < reward.valid_from:
                return "pending"
            return "expired" if now >= reward.expires_at else "valid"

        return {
            "referral_id": self.referral_id, "order_id": self.order_id, "code": self.code,
            "referrer_id": self.referrer_id, "friend_id": self.friend_id, "status": self.status,
            "reasons": list(self.reasons), "placed_at": self.placed_at.isoformat(),
            "vests_at": self.vests_at.isoformat(), "created_at": self.created_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None, "decided_by": self.decided_by,
            "void_reason": self.void_reason,
            "rewards": [{"side": r.side, "customer_id": r.customer_id, "code": r.code,
                         "discount_type": r.discount_type, "value": str(r.value), "currency": r.currency,
                         "valid_from": r.valid_from.isoformat(), "expires_at": r.expires_at.isoformat(),
                         "status": reward_status(r), "void_reason": r.void_reason} for r in self.rewards],
        }


def vesting_time(placed_at: datetime, window_days: Iterable[int], transit_allowance_days: int,
                 delivered_at: datetime | None = None) -> datetime:
    """When the order's return window has closed: the longest window among its items, from
    delivery when known, else from placed_at plus the transit allowance."""
    start = delivered_at or placed_at + timedelta(days=transit_allowance_days)
    return start + timedelta(days=max(window_days, default=0))


def fully_returned(bought: dict[str, int], accepted_back: dict[str, int]) -> bool:
    """Everything the order had came back (accepted at inspection)."""
    return bool(bought) and all(accepted_back.get(sku, 0) >= quantity for sku, quantity in bought.items())


def units_by_sku(order: Order) -> dict[str, int]:
    units: dict[str, int] = {}
    for item in order.items:
        units[item.sku] = units.get(item.sku, 0) + item.quantity
    return units

