"""Signed, expiring order-page links: a token opens one order of one merchant, nothing else."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, merchant_id: str, order_id: str, expires: int) -> bytes:
    message = f"order-link|v1|{merchant_id}|{order_id}|{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def sign_order_token(secret: str, merchant_id: str, order_id: str, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    return f"{expires:x}.{_b64(_signature(secret, merchant_id, order_id, expires))}"


def verify_order_token(secret: str, merchant_id: str, order_id: str, token: str, now: datetime) -> bool:
    """True only for an unexpired token signed for exactly this merchant and order."""
    try:
        expires_hex, signature = token.split(".", 1)
        if not 1 <= len(expires_hex) <= 12:  # a Unix time in hex; anything longer is forged
            return False
        expires = int(expires_hex, 16)
        given = _unb64(signature)
    except (ValueError, TypeError):
        return False
    expected = _signature(secret, merchant_id, order_id, expires)
    if not hmac.compare_digest(expected, given):
        return False
    return now.astimezone(timezone.utc).timestamp() < expires
