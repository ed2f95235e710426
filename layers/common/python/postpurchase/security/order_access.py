"""How a customer without an account reaches one order: a signed link, or order number + email.

Both answers are the same whichever part was wrong, comparisons run in constant time, and
order-number lookups are rate-limited per order number and per client address, so neither
the link nor the lookup can be used to learn which orders or emails exist.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ..errors import InvalidInput, NotFound, TooManyAttempts, Unauthorized
from .tokens import Keyring, verify_order_token

AccessVia = Literal["merchant", "link", "email"]

LINK_REFUSED = "this order link is invalid or has expired; look the order up with its number and email"
LOOKUP_REFUSED = "no order matches that order number and email address"
TOO_MANY = "too many attempts; try again later"

# Attempts per fixed window. A shopper mistyping needs a few; a script trying emails needs many.
LOOKUP_WINDOW = timedelta(hours=1)
LOOKUPS_PER_ORDER_NUMBER = 10
LOOKUPS_PER_CLIENT = 30

_SPACES_AND_HASHES = re.compile(r"[\s#]+")
# Compared against when no order has the number, so a miss costs the same as a wrong email.
_ABSENT_DIGEST = hashlib.sha256(b"no order has this number").hexdigest()


@dataclass(frozen=True)
class OrderAccess:
    merchant_id: str
    order_id: str
    via: AccessVia

    @property
    def actor_kind(self) -> str:
        return "merchant" if self.via == "merchant" else "customer"


class AttemptLimiter(Protocol):
    def allow(self, merchant_id: str, scope: str, limit: int, window: timedelta, now: datetime) -> bool: ...


class OrderNumbers(Protocol):
    def email_digest_for(self, merchant_id: str, number: str) -> tuple[str, str] | None:
        """(order_id, email digest) of the order with this normalised number, or None."""


def normalise_order_number(number: str) -> str:
    """"#1001", " 1001 " and "1001" are the same order number to a customer."""
    text = _SPACES_AND_HASHES.sub("", number or "").casefold()
    if not 1 <= len(text) <= 128:
        raise InvalidInput("order_number must be 1-128 characters", field="order_number")
    return text


def email_digest(email: str) -> str:
    return hashlib.sha256((email or "").strip().casefold().encode()).hexdigest()


def open_by_link(keys: Keyring, merchant_id: str, order_id: str, token: str | None, now: datetime) -> OrderAccess:
    """The order a signed link opens; the token is bound to this merchant and this order only."""
    if not token or not verify_order_token(keys, merchant_id, order_id, token, now):
        raise Unauthorized(LINK_REFUSED, field="token")
    return OrderAccess(merchant_id, order_id, "link")


def open_by_email(merchant_id: str, order_number: str, email: str, client: str, *, numbers: OrderNumbers,
                  limiter: AttemptLimiter, now: datetime) -> OrderAccess:
    """The order with this number, when `email` is its email; one answer for every kind of miss."""
    if not isinstance(email, str) or not email.strip() or len(email) > 254:
        raise InvalidInput("email is required", field="email")
    number = normalise_order_number(order_number)
    # Counted before looking: a limited caller learns nothing, right or wrong.
    allowed_number = limiter.allow(merchant_id, f"lookup-number#{number}", LOOKUPS_PER_ORDER_NUMBER, LOOKUP_WINDOW,
                                   now)
    allowed_client = limiter.allow(merchant_id, f"lookup-client#{client}", LOOKUPS_PER_CLIENT, LOOKUP_WINDOW, now)
    if not (allowed_number and allowed_client):
        raise TooManyAttempts(TOO_MANY)
    found = numbers.email_digest_for(merchant_id, number)
    stored = found[1] if found else _ABSENT_DIGEST
    same = hmac.compare_digest(stored, email_digest(email))
    if not (found and same):
        raise NotFound(LOOKUP_REFUSED)
    return OrderAccess(merchant_id, found[0], "email")


class OrderLookupIn(BaseModel):
    """`POST /v1/order-access`: what a customer types on the lookup page."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    merchant: Annotated[str, Field(min_length=1, max_length=128)]
    order_number: Annotated[str, Field(min_length=1, max_length=128)]
    email: Annotated[str, Field(min_length=3, max_length=254)]
