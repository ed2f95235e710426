"""What other capabilities ask of rewards. Messaging and returns depend on these, not on storage."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..messaging.requests import OfferNotice, ReferralInvite
from ..messaging.settings import OfferSpec


class CouponIssuer(Protocol):
    def issue(self, merchant_id: str, customer_id: str, spec: OfferSpec, *, campaign: str, ref: str,
              currency: str | None, now: datetime) -> OfferNotice:
        """A single-use code worth `spec`. Idempotent on (campaign, ref): asking again (an SQS
        redelivery, a re-run scheduler) returns the code issued the first time."""
        ...


class ReferralCodes(Protocol):
    def invite_for(self, merchant_id: str, customer_id: str, now: datetime) -> ReferralInvite:
        """The customer's referral code and share link (created on first use, then stable)."""
        ...
