"""What a merchant decides about lifecycle messaging (`PUT /v1/settings/messaging`).

Plain data with defaults a merchant would pick on day one; the rules that read it
(postpurchase.messaging.schedule, .confirmation, .respectful) take it as an argument.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..validation import PlainDecimal
from ..reviews.settings import ReviewSettings
from ..orders.models import Email
from .requests import ConfirmationVariant


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OfferSpec(_Settings):
    """What a coupon is worth when one is issued (postpurchase.rewards.coupons makes the code)."""

    discount_type: Literal["percent", "amount"]
    value: Annotated[PlainDecimal, Field(gt=0)]
    min_spend: Annotated[PlainDecimal, Field(ge=0)] | None = None
    valid_days: Annotated[int, Field(ge=1, le=366)] = 30
    # The money of an amount (or a minimum spend). An offer attached to an order (the enticing
    # confirmation) defaults to the order's currency; one sent to a customer without an order
    # (birthday, anniversary, win-back, campaign) must say it.
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None

    @model_validator(mode="after")
    def _percent(self) -> "OfferSpec":
        if self.discount_type == "percent" and self.value > 100:
            raise ValueError("a percent discount is at most 100")
        return self

    @property
    def needs_currency(self) -> bool:
        return self.discount_type == "amount" or self.min_spend is not None


class ConfirmationRule(_Settings):
    """The first rule that matches an order picks its confirmation variant."""

    variant: ConfirmationVariant
    first_order: bool | None = None  # True: first orders only; False: repeat orders only
    min_total: Annotated[Decimal, Field(ge=0)] | None = None
    categories: list[Annotated[str, Field(min_length=1, max_length=100)]] = []  # any item in one of these


class FrequencyCap(_Settings):
    """At most `max_messages` marketing emails per customer in any `per_days` days."""

    max_messages: Annotated[int, Field(ge=1, le=50)] = 2
    per_days: Annotated[int, Field(ge=1, le=60)] = 7


class QuietHours(_Settings):
    """Local hours (customer's time zone) when marketing waits: [start, end), across midnight."""

    start_hour: Annotated[int, Field(ge=0, le=23)] = 21
    end_hour: Annotated[int, Field(ge=0, le=23)] = 9


def _default_rules() -> list[ConfirmationRule]:
    return [ConfirmationRule(variant="welcome", first_order=True), ConfirmationRule(variant="reassuring")]


class MessagingSettings(_Settings):
    # Review request: N days after delivery, per product category (longest among the order's items).
    review_delay_days: dict[str, Annotated[int, Field(ge=1, le=180)]] = {}
    default_review_delay_days: Annotated[int, Field(ge=1, le=180)] = 7
    # With no delivery scan: fulfilment + this allowance counts as delivered.
    transit_allowance_days: Annotated[int, Field(ge=1, le=60)] = 7
    review_reminder_days: Annotated[int, Field(ge=1, le=60)] | None = 5  # None: no reminder
    anniversary: bool = True
    birthday: bool = True
    win_back_days: Annotated[int, Field(ge=14, le=730)] | None = 90  # None: no win-back
    birthday_offer: OfferSpec | None = None
    anniversary_offer: OfferSpec | None = None
    win_back_offer: OfferSpec | None = None
    feedback_thank_you: OfferSpec | None = None
    confirmation_rules: list[ConfirmationRule] = Field(default_factory=_default_rules, max_length=20)
    confirmation_offer: OfferSpec | None = None  # the coupon in the "enticing" confirmation
    frequency_cap: FrequencyCap = FrequencyCap()
    quiet_hours: QuietHours = QuietHours()
    reviews: ReviewSettings = ReviewSettings()  # storefront reviews: moderation (reviews/settings.py)
    # Support: every customer message that needs a person is forwarded here (the merchant's
    # helpdesk; support/forward.py). None: no forward.
    support_forward_address: Email | None = None

    @field_validator("birthday_offer", "anniversary_offer", "win_back_offer")
    @classmethod
    def _customer_offers_name_their_currency(cls, offer: OfferSpec | None) -> OfferSpec | None:
        if offer is not None and offer.needs_currency and offer.currency is None:
            raise ValueError("an amount or minimum spend sent without an order needs its currency, e.g. USD")
        return offer

    def review_delay_for(self, categories: list[str | None]) -> int:
        known = [self.review_delay_days[c] for c in categories if c is not None and c in self.review_delay_days]
        return max(known, default=self.default_review_delay_days)
