"""Signed, expiring links: an order token opens one order of one merchant, a customer token one
customer's preferences; nothing else."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, purpose: str, merchant_id: str, subject: str, expires: int) -> bytes:
    message = f"{purpose}|v1|{merchant_id}|{subject}|{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def _sign(secret: str, purpose: str, merchant_id: str, subject: str, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    return f"{expires:x}.{_b64(_signature(secret, purpose, merchant_id, subject, expires))}"


def _verify(secret: str, purpose: str, merchant_id: str, subject: str, token: str, now: datetime) -> bool:
    try:
        expires_hex, signature = token.split(".", 1)
        if not 1 <= len(expires_hex) <= 12:  # a Unix time in hex; anything longer is forged
            return False
        expires = int(expires_hex, 16)
        given = _unb64(signature)
    except (ValueError, TypeError, AttributeError):
        return False
    if not hmac.compare_digest(_signature(secret, purpose, merchant_id, subject, expires), given):
        return False
    return now.astimezone(timezone.utc).timestamp() < expires


def sign_order_token(secret: str, merchant_id: str, order_id: str, expires_at: datetime) -> str:
    return _sign(secret, "order-link", merchant_id, order_id, expires_at)


def verify_order_token(secret: str, merchant_id: str, order_id: str, token: str, now: datetime) -> bool:
    """True only for an unexpired token signed for exactly this merchant and order."""
    return _verify(secret, "order-link", merchant_id, order_id, token, now)


def sign_customer_token(secret: str, merchant_id: str, customer_id: str, expires_at: datetime) -> str:
    """A preferences link: opens one customer's preferences (never an order: another purpose)."""
    return _sign(secret, "customer-link", merchant_id, customer_id, expires_at)


def verify_customer_token(secret: str, merchant_id: str, customer_id: str, token: str, now: datetime) -> bool:
    return _verify(secret, "customer-link", merchant_id, customer_id, token, now)


def form_token(secret: str, merchant_id: str, subject: str, link_token: str) -> str:
    """The anti-forgery value a page's forms carry: bound to the page's own link token, so a
    form posted from elsewhere (which cannot read the page) cannot supply it."""
    message = f"form|v1|{merchant_id}|{subject}|{link_token}".encode()
    return _b64(hmac.new(secret.encode(), message, hashlib.sha256).digest()[:18])


def verify_form_token(secret: str, merchant_id: str, subject: str, link_token: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(form_token(secret, merchant_id, subject, link_token).encode(),
                                               (given or "").encode())


# --- self-describing tokens: the URL carries nothing but the token ---------------------------
# `POST /v1/feedback/{token}` and the RFC 8058 one-click unsubscribe must work from the token
# alone (mail clients POST to the List-Unsubscribe URL as is), so these tokens carry their
# claims, signed: base64url(claims joined by \n).expiry.signature.


def sign_claims(secret: str, purpose: str, claims: list[str], expires_at: datetime) -> str:
    if any("\n" in claim for claim in claims):
        raise ValueError("a claim cannot contain a newline")
    body = "\n".join(claims)
    expires = int(expires_at.timestamp())
    signature = _signature(secret, purpose, "claims", body, expires)
    return f"{_b64(body.encode())}.{expires:x}.{_b64(signature)}"


def read_claims(secret: str, purpose: str, token: str, now: datetime) -> list[str] | None:
    """The claims of an unexpired token signed for `purpose`; None for anything else."""
    try:
        body_part, expires_part, signature_part = token.split(".")
        body = _unb64(body_part).decode()
        expires = int(expires_part, 16)
        given = _unb64(signature_part)
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(_signature(secret, purpose, "claims", body, expires), given):
        return None
    if now.astimezone(timezone.utc).timestamp() >= expires:
        return None
    return body.split("\n")
