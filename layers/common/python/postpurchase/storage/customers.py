"""Customer profiles: what the pages read and the preferences they change (one item each way)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from ..errors import NotFound, RetryLater
from ..messaging.preferences import Preferences
from . import keys
from .table import CustomerRecord


@dataclass(frozen=True)
class CustomerProfile:
    merchant_id: str
    customer_id: str
    email: str
    locale: str | None
    timezone: str | None
    preferences: Preferences


class DynamoCustomerStore:
    def profile(self, merchant_id: str, customer_id: str) -> CustomerProfile | None:
        try:
            record = CustomerRecord.get(keys.customer_pk(merchant_id, customer_id), keys.PROFILE_SK)
        except DoesNotExist:
            return None
        preferences = Preferences.model_validate_json(record.preferences) if record.preferences else Preferences()
        return CustomerProfile(merchant_id, customer_id, record.email, record.locale, record.timezone, preferences)

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
