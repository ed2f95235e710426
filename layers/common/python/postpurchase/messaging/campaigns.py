"""Merchant campaigns for special dates (Valentine's Day, Black Friday...) to a segment.

Pure rules: what a campaign request is, which customers its segment takes, when each one gets
it (send_on at local_hour in THEIR time zone) and the ScheduledMessage that carries it. The
fan-out that applies them page by page lives in postpurchase.messaging.campaign_fanout.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..orders.models import Identifier
from .requests import CampaignNotice
from .scheduled import ScheduledMessage
from .settings import OfferSpec

Occasion = CampaignNotice.model_fields["occasion"].annotation
OCCASIONS: tuple[str, ...] = get_args(Occasion)
# A campaign message still unsent this long after its local due time is dropped.
CAMPAIGN_EXPIRY = timedelta(days=2)
Category = Annotated[str, Field(min_length=1, max_length=100)]
LanguagePrefix = Annotated[str, Field(min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]+)*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Segment(_Strict):
    """Which customers a campaign goes to; every condition given must hold (none: everyone)."""

    min_orders: Annotated[int, Field(ge=0, le=100_000)] | None = None
    max_orders: Annotated[int, Field(ge=0, le=100_000)] | None = None
    categories: list[Category] | None = Field(default=None, max_length=50)  # bought any of these
    locales: list[LanguagePrefix] | None = Field(default=None, max_length=50)  # "tr" takes "tr-TR"
    ordered_within_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    not_ordered_within_days: Annotated[int, Field(ge=1, le=3650)] | None = None

    @model_validator(mode="after")
    def _ranges(self) -> "Segment":
        if self.min_orders is not None and self.max_orders is not None and self.min_orders > self.max_orders:
            raise ValueError("max_orders must not be below min_orders")
        return self


class CampaignIn(_Strict):
    """`POST /v1/campaigns` body."""

    campaign_id: Identifier
    occasion: Occasion  # type: ignore[valid-type]
    send_on: date  # the local date every customer gets it on
    local_hour: Annotated[int, Field(ge=0, le=23)] = 10
    segment: Segment = Segment()
    offer: OfferSpec | None = None
    shop_url: Annotated[str, Field(max_length=2048, pattern=r"^https?://\S+$")] | None = None

    @field_validator("offer")
    @classmethod
    def _offer_names_its_currency(cls, offer: OfferSpec | None) -> OfferSpec | None:
        # Campaign mail goes to customers, not orders: no order currency to fall back on.
        if offer is not None and offer.needs_currency and offer.currency is None:
            raise ValueError("an amount or minimum spend needs its currency, e.g. USD")
        return offer

    def fingerprint(self) -> str:
        """Identity of the request's content: the same body again gets the same answer."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class CustomerFacts:
    """What the segment rule and the due time need about one customer (its profile item)."""

    customer_id: str
    order_count: int
    bought_categories: frozenset[str]
    locale: str | None
    timezone: str | None
    last_order_at: datetime | None


def matches(segment: Segment, customer: CustomerFacts, now: datetime) -> bool:
    """Whether the customer is in the segment, judged at `now` (the campaign's creation time)."""
    if segment.min_orders is not None and customer.order_count < segment.min_orders:
        return False
    if segment.max_orders is not None and customer.order_count > segment.max_orders:
        return False
    if segment.categories is not None and not customer.bought_categories & set(segment.categories):
        return False
    if segment.locales is not None and not _speaks(customer.locale, segment.locales):
        return False
    if segment.ordered_within_days is not None and (
            customer.last_order_at is None
            or customer.last_order_at < now - timedelta(days=segment.ordered_within_days)):
        return False
    if segment.not_ordered_within_days is not None and customer.last_order_at is not None \
            and customer.last_order_at >= now - timedelta(days=segment.not_ordered_within_days):
        return False
    return True


def _speaks(locale: str | None, prefixes: list[str]) -> bool:
    if not locale:
        return False
    tag = locale.replace("_", "-").lower()
    return any(tag == p or tag.startswith(p + "-") for p in (prefix.replace("_", "-").lower() for prefix in prefixes))


def zone(name: str | None) -> ZoneInfo | timezone:
    """The customer's time zone; UTC when unknown or not a real zone."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return timezone.utc


def local_due(send_on: date, local_hour: int, timezone_name: str | None) -> datetime:
    """send_on at local_hour on the customer's wall clock, in UTC (DST-aware: the offset of
    that date; an hour skipped by a spring-forward counts with the offset before the change)."""
    return datetime.combine(send_on, time(local_hour), tzinfo=zone(timezone_name)).astimezone(timezone.utc)


def scheduled_message(merchant_id: str, campaign: CampaignIn, customer: CustomerFacts) -> ScheduledMessage:
    due = local_due(campaign.send_on, campaign.local_hour, customer.timezone)
    data = {"campaign_id": campaign.campaign_id, "occasion": campaign.occasion}
    if campaign.shop_url:
        data["shop_url"] = campaign.shop_url
    if campaign.offer is not None:
        offer = campaign.offer
        data.update({"offer_discount_type": offer.discount_type, "offer_value": str(offer.value),
                     "offer_valid_days": str(offer.valid_days)})
        if offer.min_spend is not None:
            data["offer_min_spend"] = str(offer.min_spend)
        if offer.currency is not None:
            data["offer_currency"] = offer.currency
    return ScheduledMessage(merchant_id=merchant_id, kind="campaign", scope="customer",
                            scope_id=customer.customer_id, customer_id=customer.customer_id,
                            ref=campaign.campaign_id, due_at=due, expires_at=due + CAMPAIGN_EXPIRY,
                            priority="marketing", data=data)


def check_send_on(campaign: CampaignIn, now: datetime) -> None:
    """A campaign for a date already over everywhere on Earth is refused (422 naming send_on)."""
    from ..errors import NotAllowed

    # The last place on Earth to start a day is UTC-12: until then the date is still today somewhere.
    latest_today = (now.astimezone(timezone.utc) - timedelta(hours=12)).date()
    if campaign.send_on < latest_today:
        raise NotAllowed(f"send_on {campaign.send_on.isoformat()} is in the past", field="send_on",
                         reason="send_on_in_past")


class CampaignFanOut(BaseModel):
    """CampaignQueue message: fan out page `page` of the merchant's customers, after `cursor`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["CampaignFanOut"] = "CampaignFanOut"
    merchant_id: Identifier
    campaign_id: Identifier
    page: Annotated[int, Field(ge=0)] = 0
    cursor: str | None = None  # the last customer id of the previous page
