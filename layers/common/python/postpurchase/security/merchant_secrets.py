"""A merchant's secrets (storefront and carrier webhook secrets, carrier API key, the signing
secret of our webhooks to the merchant): the `MerchantSecrets` port and the rules around it.

The secrets live in AWS Secrets Manager, one JSON secret per merchant
(`{MERCHANT_SECRETS_PREFIX}{merchant_id}`), never in the table: every function may read the
table, only the ones that verify or sign may read a secret (template.yaml). The merchant's
item keeps `secrets_revision`, the revision written last; a reader whose cached secret carries
another revision fetches it again, so a rotation is seen as soon as the (60 s) merchant cache
is, not after the secret cache's 5 minutes.

Pure: no AWS here (adapters/secrets.py is the Secrets Manager adapter).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Protocol


@dataclass(frozen=True)
class MerchantSecretValues:
    shopify_secret: str | None = None
    woocommerce_secret: str | None = None
    carrier_api_key: str | None = None  # the tracking provider's (EasyPost, AfterShip) API key
    easypost_webhook_secret: str | None = None
    aftership_webhook_secret: str | None = None
    webhook_secret: str | None = None  # signs our webhooks to the merchant (returns, feedback)
    revision: str | None = None

    def __repr__(self) -> str:  # never print a secret into a log line or a test failure
        held = [f.name for f in fields(self) if f.name != "revision" and getattr(self, f.name)]
        return f"MerchantSecretValues(revision={self.revision!r}, held={held})"

    def to_json(self) -> str:
        return json.dumps({name: value for name, value in asdict(self).items() if value is not None},
                          sort_keys=True)

    @classmethod
    def from_mapping(cls, data: Any) -> "MerchantSecretValues":
        if not isinstance(data, dict):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in data.items()
                      if name in known and (value is None or isinstance(value, str))})

    def merged(self, **changes: str | None) -> "MerchantSecretValues":
        """These values with `changes` applied and a new revision."""
        return replace(self, **changes, revision=new_revision())

    def holds_any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name != "revision")


SECRET_FIELDS = tuple(f.name for f in fields(MerchantSecretValues) if f.name != "revision")


def new_revision() -> str:
    return uuid.uuid4().hex


class SecretsUnavailable(Exception):
    """Secrets Manager could not be read or written (throttled, down, or not allowed)."""


class MerchantSecrets(Protocol):
    def get(self, merchant_id: str, revision: str | None = None, *, fresh: bool = False) -> MerchantSecretValues:
        """The merchant's secrets (empty values if none were stored). Cached per container;
        `revision` (the merchant item's) refreshes a cached value of another revision, `fresh`
        always reads."""
        ...

    def put(self, merchant_id: str, values: MerchantSecretValues) -> None:
        """Replace the merchant's secrets (creates the secret the first time)."""
        ...
