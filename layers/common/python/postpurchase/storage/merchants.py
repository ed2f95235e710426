"""Merchant settings and API keys, cached per Lambda container.

API keys are stored as SHA-256 hashes (they are long random strings, so a fast hash is
enough); a revoked key stops working within CACHE_SECONDS.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from ..messaging.requests import MerchantBranding
from . import keys
from .table import ApiKeyRecord, MerchantRecord

CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class TrackingSettings:
    """Which tracking provider serves the merchant, with its API key and webhook secret."""

    provider: str = "sandbox"  # easypost | aftership | sandbox
    api_key: str | None = None
    easypost_webhook_secret: str | None = None
    aftership_webhook_secret: str | None = None


@dataclass(frozen=True)
class Merchant:
    branding: MerchantBranding
    shopify_secret: str | None
    woocommerce_secret: str | None
    tracking: TrackingSettings = TrackingSettings()

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


class DynamoMerchantStore:
    def get(self, merchant_id: str) -> Merchant | None:
        found, cached = _merchants.get(merchant_id)
        if found:
            return cached  # type: ignore[return-value]
        try:
            record = MerchantRecord.get(keys.merchant_pk(merchant_id), keys.SETTINGS_SK)
            tracking = TrackingSettings(**json.loads(record.tracking)) if record.tracking else TrackingSettings()
            merchant: Merchant | None = Merchant(MerchantBranding.model_validate_json(record.branding),
                                                 record.shopify_secret, record.woocommerce_secret, tracking)
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
        MerchantRecord(keys.merchant_pk(merchant.merchant_id), keys.SETTINGS_SK,
                       merchant_id=merchant.merchant_id, branding=merchant.branding.model_dump_json(),
                       shopify_secret=merchant.shopify_secret, woocommerce_secret=merchant.woocommerce_secret,
                       tracking=json.dumps(asdict(merchant.tracking)), updated_at=now).save()
        _merchants.put(merchant.merchant_id, merchant)

    def add_api_key(self, merchant_id: str, api_key: str, now: datetime) -> None:
        ApiKeyRecord(keys.api_key_pk(hash_api_key(api_key)), keys.API_KEY_SK,
                     merchant_id=merchant_id, created_at=now).save()
