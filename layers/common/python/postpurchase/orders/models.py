"""The canonical order, as every storefront's payload becomes it.

Field names are the storefront API's fixed points (docs/architecture.md). Money is a decimal
string on the wire and a Decimal here, never a float.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

_EMAIL = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")
_MONEY = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,4})?$")  # ASCII digits: Decimal() also reads "١٢"
# Ids appear inside table keys: no '#' (our key separator), no control characters.
_IDENTIFIER = re.compile(r"^[^#\s\x00-\x1f]{1,128}$")


def _money(value: object) -> Decimal:
    # Strings only: a JSON number has already been through a float in most storefront stacks.
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not _MONEY.match(value.strip()):
        raise ValueError('must be a decimal string such as "12.50"')
    try:
        return Decimal(value.strip())
    except InvalidOperation:  # pragma: no cover - the regex already excludes this
        raise ValueError('must be a decimal string such as "12.50"') from None


def _email(value: str) -> str:
    value = value.strip()
    # No invisible format characters (RTL overrides make "a\u202e@moc.example" read as another address).
    if len(value) > 254 or not _EMAIL.match(value) or any(unicodedata.category(ch) in ("Cf", "Cc") for ch in value):
        raise ValueError("must be an email address")
    return value


def _sku(value: object) -> str:
    # SKUs are merchants' own strings ("TSHIRT RED L"); they never appear in table keys.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("must be a string")
    text = str(value).strip()
    if not 1 <= len(text) <= 128 or any(ord(ch) < 32 for ch in text):
        raise ValueError("must be 1-128 printable characters")
    return text


def _identifier(value: object) -> str:
    # Storefront ids can exceed 2**53 (Shopify); they are carried as strings end to end.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("must be a string")
    text = str(value).strip()
    if not _IDENTIFIER.match(text):
        raise ValueError("must be 1-128 characters without spaces or '#'")
    return text


Money = Annotated[Decimal, BeforeValidator(_money), PlainSerializer(lambda d: str(d), return_type=str)]
Email = Annotated[str, AfterValidator(_email)]
Identifier = Annotated[str, BeforeValidator(_identifier)]
Sku = Annotated[str, BeforeValidator(_sku)]
ShortText = Annotated[str, Field(max_length=500)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)


class Customer(_Model):
    id: Identifier | None = None
    email: Email
    first_name: ShortText | None = None
    last_name: ShortText | None = None
    locale: str | None = None
    timezone: str | None = None
    birthday: date | None = None
    accepts_marketing: bool | None = None

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not _LOCALE.match(value):
            raise ValueError("must be a locale such as en-US or tr")
        return value.replace("_", "-")

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Europe/Istanbul") from None
        return value

    def customer_id(self) -> str:
        """The storefront's customer id, or for guest checkouts one derived from the email."""
        if self.id:
            return self.id
        return "g-" + hashlib.sha256(self.email.lower().encode()).hexdigest()[:20]


class LineItem(_Model):
    sku: Sku
    title: Annotated[str, Field(min_length=1, max_length=500)]
    quantity: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    price: Money
    category: Annotated[str, Field(max_length=100)] | None = None
    variant_title: ShortText | None = None
    image_url: Annotated[str, Field(max_length=2048)] | None = None
    product_url: Annotated[str, Field(max_length=2048)] | None = None
    # The storefront's own id of this line (Shopify): its returns name lines by it, not by SKU.
    line_id: Annotated[str, Field(max_length=64)] | None = None

    @field_validator("price")
    @classmethod
    def _non_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("must not be negative")
        return value


class Address(_Model):
    name: ShortText | None = None
    address1: Annotated[str, Field(min_length=1, max_length=500)]
    address2: ShortText | None = None
    city: Annotated[str, Field(min_length=1, max_length=200)]
    province: ShortText | None = None
    zip: Annotated[str, Field(max_length=32)] | None = None
    country_code: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
    phone: Annotated[str, Field(max_length=64)] | None = None

    @field_validator("country_code")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class Totals(_Model):
    # Never below zero: a refund is an event of its own, not a negative order.
    subtotal: Annotated[Money, Field(ge=0)]
    shipping: Annotated[Money, Field(ge=0)] = Decimal("0")
    tax: Annotated[Money, Field(ge=0)] = Decimal("0")
    discount: Annotated[Money, Field(ge=0)] = Decimal("0")
    total: Annotated[Money, Field(ge=0)]


OrderSource = Literal["api", "shopify", "woocommerce"]


class Order(_Model):
    """An order as the storefront API accepts it (`POST /v1/orders`)."""

    order_id: Identifier
    order_number: ShortText | None = None
    placed_at: datetime
    email: Email | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    customer: Customer
    items: Annotated[list[LineItem], Field(min_length=1, max_length=250)]
    shipping_address: Address | None = None
    totals: Totals
    financial_status: Annotated[str, Field(max_length=40)] | None = None
    # A referral code the customer entered at checkout (postpurchase.rewards.referrals), and the
    # storefront's payment fingerprint (card hash), used only to refuse self-referrals.
    referral_code: Annotated[str, Field(max_length=40)] | None = None
    payment_fingerprint: Annotated[str, Field(max_length=200)] | None = None
    source: OrderSource = "api"

    @field_validator("placed_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must include a time zone, e.g. 2026-11-20T10:00:00Z")
        return value

    @model_validator(mode="after")
    def _contact(self) -> "Order":
        if self.email is None:
            object.__setattr__(self, "email", self.customer.email)
        return self

    @property
    def recipient(self) -> str:
        return self.email or self.customer.email

    @property
    def display_number(self) -> str:
        return self.order_number or self.order_id


class ShipmentItem(_Model):
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=100_000, strict=True)]


class Shipment(_Model):
    shipment_id: Identifier
    carrier: Annotated[str, Field(min_length=1, max_length=64)]
    tracking_number: Annotated[str, Field(min_length=1, max_length=128)]
    tracking_url: Annotated[str, Field(max_length=2048)] | None = None
    items: list[ShipmentItem] = []
    created_at: datetime
    # What the storefront knows of the parcel's progress (Shopify's fulfilment shipment_status),
    # fed into tracking like a carrier scan.
    carrier_status: Annotated[str, Field(max_length=64)] | None = None
    carrier_status_at: datetime | None = None
    # Set on a return parcel (the customer's items going back under this RMA): it is tracked
    # like any parcel, but moves the RMA instead of telling the customer about a delivery.
    rma_id: Identifier | None = None
