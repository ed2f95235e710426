"""Merchant settings and API keys, cached per Lambda container.

API keys are stored as SHA-256 hashes (they are long random strings, so a fast hash is
enough); a revoked key stops working within CACHE_SECONDS.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pynamodb.exceptions import DoesNotExist, UpdateError

from ..errors import NotFound, RetryLater, ServiceUnavailable
from ..messaging.requests import MerchantBranding
from ..messaging.settings import MessagingSettings
from ..security.merchant_secrets import MerchantSecretValues
from . import keys
from .table import ApiKeyRecord, MerchantRecord

CACHE_SECONDS = 60.0

if TYPE_CHECKING:
    from ..messaging.settings import MessagingSettings
    from .api_keys import ApiKeyInfo


@dataclass(frozen=True)
class TrackingSettings:
    """Which tracking provider serves the merchant (its API key and webhook secrets are in the
    merchant's secret: security/merchant_secrets.py)."""

    provider: str = "sandbox"  # easypost | aftership | sandbox


@dataclass(frozen=True)
class WebhookSettings:
    """Where resolved returns and customers' feedback answers are announced to the merchant's
    systems (the signing secret, one for both, is in the merchant's secret)."""

    returns_url: str | None = None
    feedback_url: str | None = None


@dataclass(frozen=True)
class Merchant:
    branding: MerchantBranding
    tracking: TrackingSettings = TrackingSettings()
    webhooks: WebhookSettings = WebhookSettings()
    # The shop Shopify's X-Shopify-Shop-Domain must name (None: not checked).
    shopify_shop_domain: str | None = None
    # The revision of the merchant's secret written last (security/merchant_secrets.py).
    secrets_revision: str | None = None
    # Plain secrets an older deployment stored on the item, until moved (migrate_secrets).
    legacy_secrets: MerchantSecretValues | None = field(default=None, compare=False, repr=False)

    @property
    def merchant_id(self) -> str:
        return self.branding.merchant_id


# Where older deployments kept each secret on the merchant item: attribute, or JSON key of
# the tracking / webhooks attribute.
_LEGACY_TRACKING = {"api_key": "carrier_api_key", "easypost_webhook_secret": "easypost_webhook_secret",
                    "aftership_webhook_secret": "aftership_webhook_secret"}
_LEGACY_WEBHOOKS = {"secret": "webhook_secret"}


def _legacy_secrets(record: MerchantRecord, tracking: dict, webhooks: dict) -> MerchantSecretValues | None:
    found = {"shopify_secret": record.shopify_secret, "woocommerce_secret": record.woocommerce_secret}
    found.update({ours: tracking.get(theirs) for theirs, ours in _LEGACY_TRACKING.items()})
    found.update({ours: webhooks.get(theirs) for theirs, ours in _LEGACY_WEBHOOKS.items()})
    values = MerchantSecretValues(**{name: value for name, value in found.items() if isinstance(value, str) and value})
    return values if values.holds_any() else None


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


def _merchant_of(record: MerchantRecord) -> Merchant:
    tracking = json.loads(record.tracking) if record.tracking else {}
    webhooks = json.loads(record.webhooks) if record.webhooks else {}
    return Merchant(MerchantBranding.model_validate_json(record.branding),
                    TrackingSettings(provider=tracking.get("provider") or "sandbox"),
                    WebhookSettings(returns_url=webhooks.get("returns_url"), feedback_url=webhooks.get("feedback_url")),
                    shopify_shop_domain=record.shopify_shop_domain, secrets_revision=record.secrets_revision,
                    legacy_secrets=_legacy_secrets(record, tracking, webhooks))


def _settings_json(settings: TrackingSettings | WebhookSettings, legacy: MerchantSecretValues | None,
                   where: dict[str, str]) -> str:
    # A merchant not yet migrated keeps its plain secrets until migrate_secrets moves them.
    kept = {theirs: getattr(legacy, ours) for theirs, ours in where.items() if legacy and getattr(legacy, ours)}
    return json.dumps({**asdict(settings), **kept})


class DynamoMerchantStore:
    def get(self, merchant_id: str) -> Merchant | None:
        found, cached = _merchants.get(merchant_id)
        if found:
            return cached  # type: ignore[return-value]
        try:
            record = MerchantRecord.get(keys.merchant_pk(merchant_id), keys.SETTINGS_SK)
            merchant: Merchant | None = _merchant_of(record)
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
        """Store the merchant's settings; its secrets go through security.merchant_secrets
        (update_secrets), never here."""
        # An update, not a put: the messaging settings (set_messaging_settings) on the same item stay.
        R = MerchantRecord
        values = [(R.merchant_id, merchant.merchant_id), (R.branding, merchant.branding.model_dump_json()),
                  (R.tracking, _settings_json(merchant.tracking, merchant.legacy_secrets, _LEGACY_TRACKING)),
                  (R.webhooks, _settings_json(merchant.webhooks, merchant.legacy_secrets, _LEGACY_WEBHOOKS)),
                  (R.shopify_shop_domain, merchant.shopify_shop_domain), (R.updated_at, now)]
        actions = [R.type.set(R)] + [a.set(v) if v is not None else a.remove() for a, v in values]
        record = R(keys.merchant_pk(merchant.merchant_id), keys.SETTINGS_SK)
        record.update(actions=actions)
        # update() answers the whole item (ALL_NEW): cache what is stored, secrets_revision included.
        _merchants.put(merchant.merchant_id, _merchant_of(record))

    def set_secrets_revision(self, merchant_id: str, revision: str, now: datetime, *, strip_legacy: bool) -> None:
        """Record the revision of the merchant's secret just written; `strip_legacy` also removes
        plain secrets an older deployment left on the item (their move is done)."""
        R = MerchantRecord
        record = R(keys.merchant_pk(merchant_id), keys.SETTINGS_SK)
        for _ in range(3):
            actions = [R.secrets_revision.set(revision), R.updated_at.set(now)]
            condition = R.pk.exists()
            if strip_legacy:
                try:
                    current = R.get(keys.merchant_pk(merchant_id), keys.SETTINGS_SK, consistent_read=True)
                except DoesNotExist:
                    raise NotFound(f"unknown merchant {merchant_id}", field="merchant_id") from None
                stripped = _merchant_of(current)
                actions += [R.shopify_secret.remove(), R.woocommerce_secret.remove(),
                            R.tracking.set(json.dumps(asdict(stripped.tracking))),
                            R.webhooks.set(json.dumps(asdict(stripped.webhooks)))]
                # tracking and webhooks are rewritten from this read: only if nothing changed since.
                condition &= R.updated_at == current.updated_at
            try:
                record.update(actions=actions, condition=condition)
            except UpdateError as error:
                if error.cause_response_code != "ConditionalCheckFailedException":
                    raise
                if not strip_legacy:
                    raise NotFound(f"unknown merchant {merchant_id}", field="merchant_id") from None
                continue  # changed between the read and the write: read again
            # update() answers the whole item (ALL_NEW): cache what is stored.
            _merchants.put(merchant_id, _merchant_of(record))
            return
        raise RetryLater(f"merchant {merchant_id} kept changing while its secrets moved; retry")

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
                   branding=merchant.branding.model_dump_json(), shopify_shop_domain=merchant.shopify_shop_domain,
                   tracking=json.dumps(asdict(merchant.tracking)), webhooks=json.dumps(asdict(merchant.webhooks)),
                   updated_at=now)
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


# --- the merchant's secrets (Secrets Manager, through services.merchant_secrets) ------------


class MerchantSecretsUnavailable(ServiceUnavailable, RetryLater):
    """Secrets Manager could not be read now: a 503 for the API, a retry for a queue consumer."""


def secrets_of(merchant: Merchant, now: datetime | None = None) -> MerchantSecretValues:
    """The merchant's secrets: from its secret (cached per container), or, for a merchant an
    older deployment stored with plain secrets, moved there first (migrate_secrets)."""
    from ..observability import logger
    from ..security.merchant_secrets import SecretsUnavailable
    from ..services import merchant_secrets

    if merchant.legacy_secrets is not None:
        try:
            return migrate_secrets(merchant, now)
        except SecretsUnavailable:
            # A function that may read but not write secrets: the API moves them on its next
            # read, or the one-off command (infra/migrate_secrets.py) does.
            logger.warning("plain merchant secrets not moved here", extra={"merchant_id": merchant.merchant_id})
            return merchant.legacy_secrets
    if merchant.secrets_revision is None:
        # No secret was ever written (every write records its revision): nothing to read, and
        # unsigned requests to such a merchant cost no Secrets Manager call.
        return MerchantSecretValues()
    try:
        return merchant_secrets().get(merchant.merchant_id, merchant.secrets_revision)
    except SecretsUnavailable as error:
        logger.warning("merchant secrets unreadable", extra={"merchant_id": merchant.merchant_id,
                                                             "problem": str(error)})
        raise MerchantSecretsUnavailable("the merchant's secrets cannot be read now; retry shortly") from None


@dataclass(frozen=True)
class WebhookTarget:
    """Where and with which secret to sign a webhook to the merchant (returns, feedback)."""

    returns_url: str | None
    feedback_url: str | None
    secret: str | None = field(repr=False)


def webhook_target(merchant: Merchant) -> WebhookTarget:
    """The merchant's webhook URLs with the signing secret (read only if a URL is set)."""
    urls = merchant.webhooks
    secret = secrets_of(merchant).webhook_secret if urls.returns_url or urls.feedback_url else None
    return WebhookTarget(returns_url=urls.returns_url, feedback_url=urls.feedback_url, secret=secret)


def migrate_secrets(merchant: Merchant, now: datetime | None = None) -> MerchantSecretValues:
    """Move the plain secrets an older deployment left on the merchant item into the merchant's
    secret, then remove them from the item (idempotent: a second run finds nothing to move)."""
    from .. import clock
    from ..security.merchant_secrets import SECRET_FIELDS
    from ..services import merchant_secrets, merchant_store

    port = merchant_secrets()
    legacy = merchant.legacy_secrets
    if legacy is None:
        return port.get(merchant.merchant_id, merchant.secrets_revision)
    moved = {name: getattr(legacy, name) for name in SECRET_FIELDS if getattr(legacy, name)}
    values = port.get(merchant.merchant_id, fresh=True).merged(**moved)
    port.put(merchant.merchant_id, values)
    merchant_store().set_secrets_revision(merchant.merchant_id, values.revision, now or clock.now(),
                                          strip_legacy=True)
    return values


def update_secrets(merchant: Merchant, now: datetime, **changes: str | None) -> MerchantSecretValues:
    """Write some of the merchant's secrets (e.g. webhook_secret=...), keeping the others."""
    from ..services import merchant_secrets, merchant_store

    if merchant.legacy_secrets is not None:
        migrate_secrets(merchant, now)
    port = merchant_secrets()
    values = port.get(merchant.merchant_id, fresh=True).merged(**changes)
    port.put(merchant.merchant_id, values)
    merchant_store().set_secrets_revision(merchant.merchant_id, values.revision, now, strip_legacy=False)
    return values


def rotate_secret(merchant: Merchant, now: datetime, name: str, value: str,
                  overlap: timedelta | None) -> MerchantSecretValues:
    """Make `value` the inbound webhook secret `name` (security.merchant_secrets.ROTATABLE); the
    value it replaces is still accepted for `overlap` (None: until `retire_secret`)."""
    return _write_secrets(merchant, now, lambda values: values.rotated(name, value, now, overlap))


def retire_secret(merchant: Merchant, now: datetime, name: str) -> MerchantSecretValues:
    """Stop accepting the value the last rotation of `name` replaced."""
    return _write_secrets(merchant, now, lambda values: values.retired(name))


def _write_secrets(merchant: Merchant, now: datetime, change) -> MerchantSecretValues:
    from ..services import merchant_secrets, merchant_store

    if merchant.legacy_secrets is not None:
        migrate_secrets(merchant, now)
    port = merchant_secrets()
    values = change(port.get(merchant.merchant_id, fresh=True))
    port.put(merchant.merchant_id, values)
    merchant_store().set_secrets_revision(merchant.merchant_id, values.revision, now, strip_legacy=False)
    return values


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
    # The secret, then the URLs: should the second write fail, the PUT answers an error and the
    # merchant's retry rotates again. update_secrets has moved any plain secrets off the item.
    update_secrets(merchant, now, webhook_secret=secret)
    store.save(replace(merchant, legacy_secrets=None,
                       webhooks=WebhookSettings(returns_url=returns_url, feedback_url=feedback_url)), now)
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
