"""A merchant's API keys: created (shown once), listed, revoked.

Authentication looks a key up by its hash (`APIKEY#{sha256}`, the only item not under a
merchant); the listing item (`M#{m}` / `KEY#{key id}`) lets an operator find the merchant's keys
without the keys themselves. Both are written, and revoked, in one transaction. The API caches a
key's merchant for storage.merchants.CACHE_SECONDS (60 s): a revoked key stops within a minute.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from ..errors import Conflict, NotAllowed, NotFound, RetryLater
from . import keys
from .orders import _connection, _reasons
from .table import ApiKeyListingRecord, ApiKeyRecord

KEY_PREFIX = "ppk_"
KEY_ID_LENGTH = 8


def new_api_key() -> str:
    # 256 random bits: a fast hash (SHA-256) is then as good as a slow one for storage.
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_id_of(key_hash: str) -> str:
    """The public id of a key: the first 8 hex digits of its hash (safe to show and log)."""
    return key_hash[:KEY_ID_LENGTH]


@dataclass(frozen=True)
class ApiKeyInfo:
    key_id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def view(self) -> dict:
        return {"key_id": self.key_id, "label": self.label, "created_at": self.created_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
                "status": "active" if self.active else "revoked"}


def _info(record: ApiKeyListingRecord) -> ApiKeyInfo:
    return ApiKeyInfo(record.key_id, record.label or "", record.created_at, record.revoked_at)


class DynamoApiKeys:
    def add(self, merchant_id: str, api_key: str, label: str, now: datetime,
            transaction: TransactWrite | None = None) -> ApiKeyInfo:
        """Store a key (hash item + listing); Conflict if its hash or key id is already taken.
        With `transaction`, the writes join it (merchant creation writes settings and key at once)."""
        from .merchants import hash_api_key

        key_hash = hash_api_key(api_key)
        key_id = key_id_of(key_hash)
        hash_item = ApiKeyRecord(keys.api_key_pk(key_hash), keys.API_KEY_SK, merchant_id=merchant_id,
                                 created_at=now, key_id=key_id)
        listing = ApiKeyListingRecord(keys.merchant_pk(merchant_id), keys.api_key_listing_sk(key_id),
                                      merchant_id=merchant_id, key_id=key_id, key_hash=key_hash, label=label,
                                      created_at=now)
        if transaction is not None:
            transaction.save(hash_item, condition=ApiKeyRecord.pk.does_not_exist())
            transaction.save(listing, condition=ApiKeyListingRecord.pk.does_not_exist())
            return _info(listing)
        try:
            with TransactWrite(connection=_connection()) as own:
                own.save(hash_item, condition=ApiKeyRecord.pk.does_not_exist())
                own.save(listing, condition=ApiKeyListingRecord.pk.does_not_exist())
        except TransactWriteError as error:
            if "ConditionalCheckFailed" in _reasons(error):
                raise Conflict(f"an API key with id {key_id} exists already", field="key_id") from None
            raise RetryLater(f"API key not stored: {error.cause_response_code}") from error
        return _info(listing)

    def create(self, merchant_id: str, label: str, now: datetime) -> tuple[str, ApiKeyInfo]:
        """A new random key for the merchant: (the key, shown once and never stored; its info)."""
        for _ in range(3):  # an 8-hex-digit id collides once in ~4 billion keys: draw again
            api_key = new_api_key()
            try:
                return api_key, self.add(merchant_id, api_key, label, now)
            except Conflict:
                continue
        raise RetryLater("could not draw an unused API key id")

    def list(self, merchant_id: str) -> list[ApiKeyInfo]:
        """Oldest first (one Query of the merchant's partition, KEY# range)."""
        found = ApiKeyListingRecord.query(
            keys.merchant_pk(merchant_id), ApiKeyListingRecord.sk.startswith(keys.API_KEY_LISTING_SK_PREFIX),
            consistent_read=True)
        return sorted((_info(r) for r in found if isinstance(r, ApiKeyListingRecord)),
                      key=lambda info: (info.created_at, info.key_id))

    def revoke(self, merchant_id: str, key_id: str, now: datetime, *, force: bool = False) -> tuple[ApiKeyInfo, bool]:
        """Delete the key's hash item and mark its listing revoked: (info, whether this call
        revoked it; False when it was revoked before). Refuses the merchant's last active key
        unless `force` (the merchant's storefront would lose access)."""
        try:
            listing = ApiKeyListingRecord.get(keys.merchant_pk(merchant_id), keys.api_key_listing_sk(key_id),
                                              consistent_read=True)
        except DoesNotExist:
            raise NotFound(f"merchant {merchant_id} has no API key {key_id}", field="key_id") from None
        if listing.revoked_at is not None:
            return _info(listing), False
        others = [info for info in self.list(merchant_id) if info.active and info.key_id != key_id]
        if not others and not force:
            raise NotAllowed(f"{key_id} is the last active API key of {merchant_id}: create another first, "
                             "or pass --force", field="key_id")
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.delete(ApiKeyRecord(keys.api_key_pk(listing.key_hash), keys.API_KEY_SK),
                                   condition=(ApiKeyRecord.merchant_id == merchant_id) | ApiKeyRecord.pk.does_not_exist())
                transaction.update(listing, actions=[ApiKeyListingRecord.revoked_at.set(now)],
                                   condition=ApiKeyListingRecord.revoked_at.does_not_exist())
        except TransactWriteError as error:
            reasons = _reasons(error)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                # The hash item is another merchant's (a hand-made item): never delete it.
                raise Conflict(f"the hash item of {key_id} does not belong to {merchant_id}", field="key_id") from None
            if "ConditionalCheckFailed" in reasons:  # revoked concurrently
                return self._get(merchant_id, key_id), False
            raise RetryLater(f"API key not revoked: {error.cause_response_code}") from error
        return ApiKeyInfo(listing.key_id, listing.label or "", listing.created_at, now), True

    def _get(self, merchant_id: str, key_id: str) -> ApiKeyInfo:
        return _info(ApiKeyListingRecord.get(keys.merchant_pk(merchant_id), keys.api_key_listing_sk(key_id),
                                             consistent_read=True))
