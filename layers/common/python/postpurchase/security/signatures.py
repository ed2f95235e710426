"""Webhook signatures: Shopify and WooCommerce both sign the raw body the same way.

Shopify sends `X-Shopify-Hmac-Sha256`, WooCommerce `X-WC-Webhook-Signature`; each is
base64(HMAC-SHA256(secret, raw_body)). Always verify the bytes as received, before parsing:
re-serialised JSON never reproduces the signed bytes.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

# A base64 SHA-256 digest is 44 characters; anything far longer is not a signature.
_MAX_SIGNATURE_LENGTH = 256


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """The value of header `name`, matched case-insensitively (HTTP names are; API Gateway
    passes them as the client sent them, Lambda function URLs lower-case them)."""
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value
    return None


def hmac_base64(raw_body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(secret, raw_body)): the signature a storefront sends for this body."""
    digest = hmac.new(secret.encode("utf-8"), bytes(raw_body), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_hmac_base64(raw_body: bytes, signature: str | None, secret: str) -> bool:
    """True only if `signature` is the base64 HMAC-SHA256 of `raw_body` under `secret`.

    False, never an exception, for a missing, empty or non-base64 signature and for an empty
    secret (an unconfigured secret must not make every signature "valid").
    """
    if not secret or not isinstance(secret, str):
        return False
    if not isinstance(signature, str) or not isinstance(raw_body, (bytes, bytearray, memoryview)):
        return False
    signature = signature.strip()
    if not signature or len(signature) > _MAX_SIGNATURE_LENGTH:
        return False
    try:
        given = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII characters
        return False
    expected = hmac.new(secret.encode("utf-8"), bytes(raw_body), hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)
