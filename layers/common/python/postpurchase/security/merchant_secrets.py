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
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

# The inbound webhook secrets a rotation may overlap: storefront and carrier-provider ones.
ROTATABLE = ("shopify_secret", "woocommerce_secret", "easypost_webhook_secret", "aftership_webhook_secret")


@dataclass(frozen=True)
class PreviousSecret:
    """The value a rotation replaced, still accepted until `until` (ISO 8601 UTC) or, when
    `until` is None, until an operator retires it."""

    value: str = field(repr=False)
    until: str | None = None

    def accepted_at(self, now: datetime) -> bool:
        if not self.value:
            return False
        if self.until is None:
            return True
        try:
            return now < datetime.fromisoformat(self.until)
        except ValueError:  # a hand-edited secret with a bad date: not accepted
            return False


@dataclass(frozen=True)
class MerchantSecretValues:
    shopify_secret: str | None = None
    woocommerce_secret: str | None = None
    carrier_api_key: str | None = None  # the tracking provider's (EasyPost, AfterShip) API key
    easypost_webhook_secret: str | None = None
    aftership_webhook_secret: str | None = None
    webhook_secret: str | None = None  # signs our webhooks to the merchant (returns, feedback)
    revision: str | None = None
    # What a rotation of a ROTATABLE secret replaced, by field name, kept in the same secret:
    # {"previous": {"shopify_secret": {"value": "...", "until": "2026-12-08T08:00:00+00:00"}}}.
    previous: Mapping[str, PreviousSecret] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print a secret into a log line or a test failure
        held = [name for name in SECRET_FIELDS if getattr(self, name)]
        return f"MerchantSecretValues(revision={self.revision!r}, held={held}, previous={sorted(self.previous)})"

    def to_json(self) -> str:
        body: dict[str, Any] = {name: value for name, value in asdict(self).items()
                                if value is not None and name != "previous"}
        if self.previous:
            body["previous"] = {name: {"value": old.value, "until": old.until}
                                for name, old in sorted(self.previous.items())}
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_mapping(cls, data: Any) -> "MerchantSecretValues":
        if not isinstance(data, dict):
            return cls()
        values = {name: value for name, value in data.items()
                  if name in SECRET_FIELDS + ("revision",) and (value is None or isinstance(value, str))}
        previous = {}
        for name, old in (data.get("previous") or {}).items() if isinstance(data.get("previous"), dict) else ():
            if name in ROTATABLE and isinstance(old, dict) and isinstance(old.get("value"), str) and old["value"]:
                until = old.get("until")
                previous[name] = PreviousSecret(value=old["value"], until=until if isinstance(until, str) else None)
        return cls(**values, previous=previous)

    def merged(self, **changes: str | None) -> "MerchantSecretValues":
        """These values with `changes` applied and a new revision. Setting a rotatable secret
        this way replaces it outright: its previous value (if any) is no longer accepted."""
        previous = {name: old for name, old in self.previous.items() if name not in changes}
        return replace(self, **changes, previous=previous, revision=new_revision())

    def rotated(self, name: str, value: str, now: datetime, overlap: timedelta | None) -> "MerchantSecretValues":
        """`value` becomes the secret `name`; the one it replaces stays accepted for `overlap`
        (None: until retired). Rotating again drops the older previous value."""
        check_rotatable(name)
        current = getattr(self, name)
        previous = {k: v for k, v in self.previous.items() if k != name}
        if current and current != value:
            until = (now + overlap).isoformat() if overlap is not None else None
            previous[name] = PreviousSecret(value=current, until=until)
        return replace(self, **{name: value}, previous=previous, revision=new_revision())

    def retired(self, name: str) -> "MerchantSecretValues":
        """The previous value of `name` is no longer accepted."""
        check_rotatable(name)
        return replace(self, previous={k: v for k, v in self.previous.items() if k != name},
                       revision=new_revision())

    def accepted(self, name: str, now: datetime) -> list[str]:
        """The values a signature for `name` may be made with at `now`: the current one, then the
        previous one while its overlap lasts."""
        values = [getattr(self, name)] if getattr(self, name) else []
        old = self.previous.get(name)
        if old is not None and old.accepted_at(now):
            values.append(old.value)
        return values

    def holds_any(self) -> bool:
        return any(getattr(self, name) for name in SECRET_FIELDS) or bool(self.previous)


SECRET_FIELDS = tuple(f.name for f in fields(MerchantSecretValues) if f.name not in ("revision", "previous"))


def check_rotatable(name: str) -> None:
    if name not in ROTATABLE:
        raise ValueError(f"{name} is not a rotatable webhook secret")


def verify_any(check: Callable[[str], bool], secrets: list[str]) -> bool:
    """True if `check(secret)` (a constant-time comparison) holds for one of `secrets`. Every
    secret is tried, so the time taken does not tell which one (or whether the first) matched."""
    matched = False
    for secret in secrets:
        matched = check(secret) | matched
    return matched


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
