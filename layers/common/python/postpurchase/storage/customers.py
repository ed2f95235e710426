"""Customer profiles: what the pages read and the preferences they change (one item each way)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from ..errors import NotFound, RetryLater
from ..messaging.preferences import Preferences
from . import keys
from .table import CustomerRecord, Record, SuppressionRecord


def _digest(email: str) -> str:
    from ..security.order_access import email_digest

    return email_digest(email)


@dataclass(frozen=True)
class CustomerProfile:
    merchant_id: str
    customer_id: str
    email: str
    locale: str | None
    timezone: str | None
    preferences: Preferences


@dataclass(frozen=True)
class Recipient:
    """What the email sender must know before sending: the customer's choices, and whether the
    address is suppressed (hard bounce or complaint)."""

    profile: CustomerProfile | None
    suppressed: str | None  # the reason, when suppressed


class DynamoCustomerStore:
    def recipient(self, merchant_id: str, customer_id: str, email: str) -> Recipient:
        """The profile and the address's suppression, in one BatchGetItem."""
        keys_wanted = [(keys.customer_pk(merchant_id, customer_id), keys.PROFILE_SK),
                       (keys.suppression_pk(merchant_id, _digest(email)), keys.SUPPRESSION_SK)]
        profile, suppressed = None, None
        for item in Record.batch_get(keys_wanted):
            if isinstance(item, CustomerRecord):
                profile = _profile(merchant_id, customer_id, item)
            elif isinstance(item, SuppressionRecord):
                suppressed = item.reason
        return Recipient(profile, suppressed)

    def suppress(self, merchant_id: str, email: str, reason: str, detail: str, at: datetime) -> None:
        """Idempotent: the first notification's time and reason are kept."""
        try:
            SuppressionRecord(keys.suppression_pk(merchant_id, _digest(email)), keys.SUPPRESSION_SK,
                              merchant_id=merchant_id, reason=reason, detail=detail[:200], at=at).save(
                condition=SuppressionRecord.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise RetryLater(f"suppression not saved: {error.cause_response_code}") from error

    def profile(self, merchant_id: str, customer_id: str) -> CustomerProfile | None:
        try:
            record = CustomerRecord.get(keys.customer_pk(merchant_id, customer_id), keys.PROFILE_SK)
        except DoesNotExist:
            return None
        return _profile(merchant_id, customer_id, record)

    def save_preferences(self, merchant_id: str, customer_id: str, preferences: Preferences, now: datetime) -> None:
        try:
            CustomerRecord(keys.customer_pk(merchant_id, customer_id), keys.PROFILE_SK).update(
                actions=[CustomerRecord.preferences.set(preferences.model_dump_json()),
                         CustomerRecord.updated_at.set(now)],
                condition=CustomerRecord.pk.exists())
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise NotFound("no such customer", field="customer") from None
            raise RetryLater(f"preferences not saved: {error.cause_response_code}") from error


def _profile(merchant_id: str, customer_id: str, record: CustomerRecord) -> CustomerProfile:
    preferences = Preferences.model_validate_json(record.preferences) if record.preferences else Preferences()
    return CustomerProfile(merchant_id, customer_id, record.email, record.locale, record.timezone, preferences)
