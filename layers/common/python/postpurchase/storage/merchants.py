"""Merchant settings and API keys, cached per Lambda container.

API keys are stored as SHA-256 hashes (they are long random strings, so a fast hash is
enough); a revoked key stops working within CACHE_SECONDS.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pynamodb.exceptions import DoesNotExist, UpdateError

from ..errors import NotFound, RetryLater
from ..messaging.requests import MerchantBranding
from ..messaging.settings import MessagingSettings
from . import keys
from .table import ApiKeyRecord, MerchantRecord

CACHE_SECONDS = 60.0

if TYPE_CHECKING:
    from ..messaging.settings import MessagingSettings
    from .api_keys import ApiKeyInfo


@dataclass(frozen=True)
class TrackingSettings:
    """Which tracking provider serves the merchant, with its API key and webhook secret."""

    provider: str = "sandbox"  # easypost | aftership | sandbox
    api_key: str | None = None
    easypost_webhook_secret: str | None = None
    aftership_webhook_secret: str | None = None


@dataclass(frozen=True)
class WebhookSettings:
    """Where resolved returns and customers' feedback answers are announced to the merchant's
    systems, and the signing secret (one for both)."""

    returns_url: str | None = None
    secret: str | None = None
    feedback_url: str | None = None


@dataclass(frozen=True)
class Merchant:
    branding: MerchantBranding
    shopify_secret: str | None
    woocommerce_secret: str | None
    tracking: TrackingSettings = TrackingSettings()
    webhooks: WebhookSettings = WebhookSettings()

    @property
    def merchant_id(self) -> str:
        return self.branding.merchant_id


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class _TtlCache:
    def __init__(self) -> None:
        self._items: dict[str, tuple[float, object]] = {}

    def get(self, key: str) -> tuple[bool, object]:
        hit = self._items.get(key)
        if hit and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def put(self, key: str, value: object) -> None:
        self._items[key] = (time.monotonic() + CACHE_SECONDS, value)

    def clear(self) -> None:
        self._items.clear()


_merchants = _TtlCache()
_api_keys = _TtlCache()


def clear_caches() -> None:
    _merchants.clear()
    _api_keys.clear()
    _messaging.clear()


class DynamoMerchantStore:
    def get(self, merchant_id: str) -> Merchant | None:
        found, cached = _merchants.get(merchant_id)
        if found:
            return cached  # type: ignore[return-value]
        try:
            record = MerchantRecord.get(keys.merchant_pk(merchant_id), keys.SETTINGS_SK)
            tracking = TrackingSettings(**json.loads(record.tracking)) if record.tracking else TrackingSettings()
            webhooks = WebhookSettings(**json.loads(record.webhooks)) if record.webhooks else WebhookSettings()
            merchant: Merchant | None = Merchant(MerchantBranding.model_validate_json(record.branding),
                                                 record.shopify_secret, record.woocommerce_secret, tracking, webhooks)
        except DoesNotExist:
            merchant = None
        _merchants.put(merchant_id, merchant)
        return merchant

    def merchant_for_api_key(self, api_key: str) -> str | None:
        key_hash = hash_api_key(api_key)
        found, cached = _api_keys.get(key_hash)
        if found:
            return cached  # type: ignore[return-value]
        try:
            merchant_id: str | None = ApiKeyRecord.get(keys.api_key_pk(key_hash), keys.API_KEY_SK).merchant_id
        except DoesNotExist:
            merchant_id = None
        _api_keys.put(key_hash, merchant_id)
        return merchant_id

    def save(self, merchant: Merchant, now: datetime) -> None:
        # An update, not a put: the messaging settings (set_messaging_settings) on the same item stay.
        R = MerchantRecord
        values = [(R.merchant_id, merchant.merchant_id), (R.branding, merchant.branding.model_dump_json()),
                  (R.shopify_secret, merchant.shopify_secret), (R.woocommerce_secret, merchant.woocommerce_secret),
                  (R.tracking, json.dumps(asdict(merchant.tracking))), (R.webhooks, json.dumps(asdict(merchant.webhooks))),
                  (R.updated_at, now)]
        actions = [R.type.set(R)] + [a.set(v) if v is not None else a.remove() for a, v in values]
        R(keys.merchant_pk(merchant.merchant_id), keys.SETTINGS_SK).update(actions=actions)
        _merchants.put(merchant.merchant_id, merchant)

    def create(self, merchant: Merchant, now: datetime, key_label: str = "first key") -> tuple[str, "ApiKeyInfo"]:
        """A new merchant with its first API key, in one transaction: (the key, shown once; its
        info). Conflict when the merchant exists (settings are changed elsewhere, never overwritten)."""
        from pynamodb.exceptions import TransactWriteError
        from pynamodb.transactions import TransactWrite

        from ..errors import Conflict
        from .api_keys import DynamoApiKeys, new_api_key
        from .orders import _connection, _reasons

        R = MerchantRecord
        record = R(keys.merchant_pk(merchant.merchant_id), keys.SETTINGS_SK, merchant_id=merchant.merchant_id,
                   branding=merchant.branding.model_dump_json(), shopify_secret=merchant.shopify_secret,
                   woocommerce_secret=merchant.woocommerce_secret, tracking=json.dumps(asdict(merchant.tracking)),
                   webhooks=json.dumps(asdict(merchant.webhooks)), updated_at=now)
        api_key = new_api_key()
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.save(record, condition=R.pk.does_not_exist())
                info = DynamoApiKeys().add(merchant.merchant_id, api_key, key_label, now, transaction=transaction)
        except TransactWriteError as error:
            reasons = _reasons(error)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise Conflict(f"merchant {merchant.merchant_id} exists already", field="merchant_id") from None
            raise RetryLater(f"merchant not created: {error.cause_response_code}") from error
        _merchants.put(merchant.merchant_id, merchant)
        return api_key, info

    def add_api_key(self, merchant_id: str, api_key: str, now: datetime, label: str = "") -> None:
        """A key chosen by the caller (the local seed's documented one); new keys come from
        storage.api_keys.DynamoApiKeys.create. Listed with the merchant's other keys."""
        from .api_keys import DynamoApiKeys

        DynamoApiKeys().add(merchant_id, api_key, label, now)


class WebhookSettingsIn(BaseModel):
    """`PUT /v1/settings/webhooks`: where to announce resolved returns and feedback answers
    (null turns one off; a URL left out of the body keeps its stored value)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    returns_url: Annotated[str, Field(max_length=2048)] | None = None
    feedback_url: Annotated[str, Field(max_length=2048)] | None = None

    @field_validator("returns_url", "feedback_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        from ..config import outbound_policy
        from ..security.outbound import check_url

        # What can be told without resolving the name (which may change): resolved at each send.
        if value is not None:
            check_url(value, outbound_policy())
        return value


def set_webhooks(merchant_id: str, body: WebhookSettingsIn, now: datetime) -> dict:
    """Store the URL with a fresh signing secret, shown in this answer only (rotated on every PUT)."""
    from ..services import merchant_store

    store = merchant_store()
    merchant = store.get(merchant_id)
    if merchant is None:
        raise NotFound(f"unknown merchant {merchant_id}", field="merchant_id")
    given = body.model_fields_set
    returns_url = body.returns_url if "returns_url" in given else merchant.webhooks.returns_url
    feedback_url = body.feedback_url if "feedback_url" in given else merchant.webhooks.feedback_url
    secret = f"whsec_{secrets.token_urlsafe(32)}" if returns_url or feedback_url else None
    store.save(replace(merchant, webhooks=WebhookSettings(returns_url=returns_url, secret=secret,
                                                          feedback_url=feedback_url)), now)
    return {"returns_url": returns_url, "feedback_url": feedback_url, "secret": secret,
            "signature_header": "X-PostPurchase-Signature", "delivery_header": "X-PostPurchase-Delivery"}


_messaging = _TtlCache()


def messaging_settings(merchant_id: str) -> "MessagingSettings":
    """The merchant's lifecycle-messaging settings (defaults when none were saved): one GetItem,
    cached per container for CACHE_SECONDS."""
    from ..messaging.settings import MessagingSettings

    found, cached = _messaging.get(merchant_id)
    if found:
        return cached  # type: ignore[return-value]
    try:
        record = MerchantRecord.get(keys.merchant_pk(merchant_id), keys.SETTINGS_SK)
        value = MessagingSettings.model_validate_json(record.messaging) if record.messaging else MessagingSettings()
    except DoesNotExist:
        value = MessagingSettings()
    _messaging.put(merchant_id, value)
    return value


def set_messaging_settings(merchant_id: str, value: "MessagingSettings", now: datetime) -> "MessagingSettings":
    """Replace the merchant's messaging settings (one UpdateItem); NotFound for an unknown merchant."""
    from pynamodb.exceptions import UpdateError

    try:
        MerchantRecord(keys.merchant_pk(merchant_id), keys.SETTINGS_SK).update(
            actions=[MerchantRecord.messaging.set(value.model_dump_json()), MerchantRecord.updated_at.set(now)],
            condition=MerchantRecord.pk.exists())
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound(f"unknown merchant {merchant_id}", field="merchant_id") from None
        raise
    _messaging.put(merchant_id, value)
    return value
