"""Signed, expiring links: an order token opens one order of one merchant, a customer token one
customer's preferences; nothing else.

Every token names the key that signed it (a key id from a `Keyring`), so keys can be rotated
without breaking the links already sent: the active key signs, every key in the ring verifies.
What is signed is a length-prefixed encoding of the fields (`len:value` each), which no two
different field lists share: ("a|b", "c") and ("a", "b|c") sign different messages.

The first format (no key id, fields joined by `|`) is still accepted, only for the keyring's
`legacy` key (the secret that signed it), until that key is retired.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# Key ids travel in every token: short, URL-safe, and never a "." (the token's separator).
KID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
MIN_KEY_LENGTH = 16


class KeyringError(ValueError):
    """A keyring document that cannot sign (no active key, a short key, a bad key id)."""


@dataclass(frozen=True)
class Keyring:
    """The link-signing keys: `active` signs, all of `keys` verify, `legacy` (if any) also
    verifies tokens of the first, key-id-less format."""

    active: str
    keys: Mapping[str, str] = field(repr=False)
    legacy: str | None = None

    def __post_init__(self) -> None:
        for kid, key in self.keys.items():
            if not isinstance(kid, str) or not KID_PATTERN.match(kid):
                raise KeyringError(f"invalid key id {kid!r}")
            if not isinstance(key, str) or len(key) < MIN_KEY_LENGTH:
                raise KeyringError(f"key {kid!r} must be a string of {MIN_KEY_LENGTH}+ characters")
        if self.active not in self.keys:
            raise KeyringError(f"the active key {self.active!r} is not in the keyring")
        if self.legacy is not None and self.legacy not in self.keys:
            raise KeyringError(f"the legacy key {self.legacy!r} is not in the keyring")

    @classmethod
    def single(cls, secret: str, kid: str = "k0", *, legacy: bool = False) -> "Keyring":
        """One key (unit tests, and a secret from before key ids when `legacy`)."""
        return cls(active=kid, keys={kid: secret}, legacy=kid if legacy else None)

    @classmethod
    def from_document(cls, document: Mapping[str, Any], now: datetime) -> "Keyring":
        """The keyring a Secrets Manager document describes at `now`:
        `{"active": "k2", "keys": {"k1": "...", "k2": "..."}}`, optionally with `"legacy": "k0"`
        and, while a rotation propagates, `"previous": "k1", "activate_at": "<ISO time>"` (the
        previous key keeps signing until then, so every container knows the new one first)."""
        if not isinstance(document, Mapping) or not isinstance(document.get("keys"), Mapping):
            raise KeyringError("the keyring document needs a \"keys\" object")
        active = document.get("active")
        activate_at = document.get("activate_at")
        if activate_at and document.get("previous"):
            try:
                switch = datetime.fromisoformat(str(activate_at).replace("Z", "+00:00"))
            except ValueError:
                raise KeyringError(f"invalid activate_at {activate_at!r}") from None
            if now < switch:
                active = document["previous"]
        return cls(active=active, keys=dict(document["keys"]), legacy=document.get("legacy"))

    def key(self, kid: str) -> bytes | None:
        key = self.keys.get(kid)
        return key.encode() if key is not None else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode(fields: list[str]) -> bytes:
    """`len:value` for each field (length in bytes): injective over lists of strings."""
    out = bytearray()
    for value in fields:
        data = value.encode()
        out += f"{len(data)}:".encode() + data
    return bytes(out)


def _mac(key: bytes, kind: str, purpose: str, kid: str, fields: list[str]) -> bytes:
    return hmac.new(key, _encode(["postpurchase", "v2", kind, purpose, kid, *fields]), hashlib.sha256).digest()


def _legacy_signature(secret: bytes, purpose: str, merchant_id: str, subject: str, expires: int) -> bytes:
    message = f"{purpose}|v1|{merchant_id}|{subject}|{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def _expiry(text: str) -> int:
    if not 1 <= len(text) <= 12:  # a Unix time in hex; anything longer is forged
        raise ValueError("bad expiry")
    return int(text, 16)


def _unexpired(expires: int, now: datetime) -> bool:
    return now.astimezone(timezone.utc).timestamp() < expires


# --- link tokens: kid.expiry.signature, bound to (purpose, merchant, subject) ----------------


def _sign(keys: Keyring, purpose: str, merchant_id: str, subject: str, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    kid = keys.active
    signature = _mac(keys.key(kid), "link", purpose, kid, [merchant_id, subject, str(expires)])
    return f"{kid}.{expires:x}.{_b64(signature)}"


def _verify(keys: Keyring, purpose: str, merchant_id: str, subject: str, token: str, now: datetime) -> bool:
    try:
        parts = token.split(".")
        if len(parts) == 2:
            return _verify_legacy(keys, purpose, merchant_id, subject, parts, now)
        kid, expires_hex, signature = parts
        expires = _expiry(expires_hex)
        given = _unb64(signature)
    except (ValueError, TypeError, AttributeError):
        return False
    key = keys.key(kid)
    if key is None:  # an unknown or retired key
        return False
    if not hmac.compare_digest(_mac(key, "link", purpose, kid, [merchant_id, subject, str(expires)]), given):
        return False
    return _unexpired(expires, now)


def _verify_legacy(keys: Keyring, purpose: str, merchant_id: str, subject: str, parts: list[str],
                   now: datetime) -> bool:
    """The first format, for the legacy key only. A `|` in a field is what made it ambiguous,
    so such fields are not accepted in it at all."""
    if keys.legacy is None or "|" in merchant_id or "|" in subject:
        return False
    expires = _expiry(parts[0])
    given = _unb64(parts[1])
    expected = _legacy_signature(keys.key(keys.legacy), purpose, merchant_id, subject, expires)
    return hmac.compare_digest(expected, given) and _unexpired(expires, now)


def sign_order_token(keys: Keyring, merchant_id: str, order_id: str, expires_at: datetime) -> str:
    return _sign(keys, "order-link", merchant_id, order_id, expires_at)


def verify_order_token(keys: Keyring, merchant_id: str, order_id: str, token: str, now: datetime) -> bool:
    """True only for an unexpired token signed for exactly this merchant and order."""
    return _verify(keys, "order-link", merchant_id, order_id, token, now)


def sign_customer_token(keys: Keyring, merchant_id: str, customer_id: str, expires_at: datetime) -> str:
    """A preferences link: opens one customer's preferences (never an order: another purpose)."""
    return _sign(keys, "customer-link", merchant_id, customer_id, expires_at)


def verify_customer_token(keys: Keyring, merchant_id: str, customer_id: str, token: str, now: datetime) -> bool:
    return _verify(keys, "customer-link", merchant_id, customer_id, token, now)


# --- form tokens: kid.signature, bound to the page's own link token --------------------------


def _form_mac(key: bytes, kid: str, merchant_id: str, subject: str, link_token: str) -> bytes:
    return _mac(key, "form", "form", kid, [merchant_id, subject, link_token])[:18]


def form_token(keys: Keyring, merchant_id: str, subject: str, link_token: str) -> str:
    """The anti-forgery value a page's forms carry: bound to the page's own link token, so a
    form posted from elsewhere (which cannot read the page) cannot supply it."""
    kid = keys.active
    return f"{kid}.{_b64(_form_mac(keys.key(kid), kid, merchant_id, subject, link_token))}"


def verify_form_token(keys: Keyring, merchant_id: str, subject: str, link_token: str, given: str | None) -> bool:
    if not given or not isinstance(given, str):
        return False
    if "." not in given:  # the first format: a page rendered before key ids, posted after
        if keys.legacy is None or "|" in merchant_id or "|" in subject:
            return False
        message = f"form|v1|{merchant_id}|{subject}|{link_token}".encode()
        expected = _b64(hmac.new(keys.key(keys.legacy), message, hashlib.sha256).digest()[:18])
        return hmac.compare_digest(expected.encode(), given.encode())
    kid, _, signature = given.partition(".")
    key = keys.key(kid)
    if key is None:
        return False
    expected = _b64(_form_mac(key, kid, merchant_id, subject, link_token))
    return hmac.compare_digest(expected.encode(), signature.encode())


# --- self-describing tokens: the URL carries nothing but the token ---------------------------
# `POST /v1/feedback/{token}` and the RFC 8058 one-click unsubscribe must work from the token
# alone (mail clients POST to the List-Unsubscribe URL as is), so these tokens carry their
# claims, signed: kid.base64url(claims joined by \n).expiry.signature.


def sign_claims(keys: Keyring, purpose: str, claims: list[str], expires_at: datetime) -> str:
    if not claims:
        raise ValueError("a claims token needs at least one claim")
    if any("\n" in claim for claim in claims):
        raise ValueError("a claim cannot contain a newline")
    expires = int(expires_at.timestamp())
    kid = keys.active
    signature = _mac(keys.key(kid), "claims", purpose, kid, [str(expires), *claims])
    return f"{kid}.{_b64(chr(10).join(claims).encode())}.{expires:x}.{_b64(signature)}"


def read_claims(keys: Keyring, purpose: str, token: str, now: datetime) -> list[str] | None:
    """The claims of an unexpired token signed for `purpose`; None for anything else."""
    try:
        parts = token.split(".")
        if len(parts) == 3:
            return _read_legacy_claims(keys, purpose, parts, now)
        kid, body_part, expires_part, signature_part = parts
        claims = _unb64(body_part).decode().split("\n")
        expires = _expiry(expires_part)
        given = _unb64(signature_part)
    except (ValueError, UnicodeDecodeError, TypeError, AttributeError):
        return None
    key = keys.key(kid)
    if key is None:
        return None
    if not hmac.compare_digest(_mac(key, "claims", purpose, kid, [str(expires), *claims]), given):
        return None
    return claims if _unexpired(expires, now) else None


def _read_legacy_claims(keys: Keyring, purpose: str, parts: list[str], now: datetime) -> list[str] | None:
    if keys.legacy is None:
        return None
    body = _unb64(parts[0]).decode()
    expires = _expiry(parts[1])
    given = _unb64(parts[2])
    if not hmac.compare_digest(_legacy_signature(keys.key(keys.legacy), purpose, "claims", body, expires), given):
        return None
    return body.split("\n") if _unexpired(expires, now) else None
