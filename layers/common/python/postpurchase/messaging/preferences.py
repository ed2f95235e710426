"""What a customer agreed to receive: marketing kinds they turned off, or all marketing.

Transactional email (confirmations, parcel and return notices) is never turned off: it is the
service the customer paid for. Every change records when and through what it was made.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from .requests import TRANSACTIONAL_KINDS

if TYPE_CHECKING:
    from .requests import EmailRequest

# The marketing kinds a customer can turn off one by one (the messaging capability sends them).
# The kinds a customer can turn off one by one. review_reminder follows review_request; every
# marketing kind (points_expiring too) stops when all marketing is off.
MARKETING_KINDS: tuple[str, ...] = ("review_request", "birthday_offer", "anniversary", "win_back", "campaign")
Source = Literal["preferences_page", "list_unsubscribe", "storefront", "bounce", "complaint"]


class Preferences(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    unsubscribed: frozenset[str] = frozenset()  # of MARKETING_KINDS
    all_marketing_off: bool = False
    language: str | None = None  # the language the customer chose for email and pages
    updated_at: datetime | None = None
    source: Source | None = None

    def allows(self, kind: str) -> bool:
        if kind in TRANSACTIONAL_KINDS:
            return True
        # A survey (a support conversation's CSAT too) asks for an opinion, like a review request.
        if kind in ("review_reminder", "survey", "support_csat"):
            kind = "review_request"
        return not self.all_marketing_off and kind not in self.unsubscribed


def updated(preferences: Preferences, *, subscribed: set[str], all_off: bool, language: str | None,
            source: Source, now: datetime) -> Preferences:
    """The customer's new choice: the kinds left ticked stay on; the rest are turned off."""
    return Preferences(unsubscribed=frozenset(kind for kind in MARKETING_KINDS if kind not in subscribed),
                       all_marketing_off=all_off, language=language, updated_at=now, source=source)


def with_preferences(request: "EmailRequest", preferences: Preferences | None) -> "EmailRequest | None":
    """The request as the customer wants it: in their chosen language; None when they turned
    this kind of email off (transactional email is always sent)."""
    if preferences is None:
        return request
    if not preferences.allows(request.kind):
        return None
    if preferences.language:
        return request.model_copy(update={"locale": preferences.language})
    return request
