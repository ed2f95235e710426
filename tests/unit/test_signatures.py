"""Webhook signature checks (Shopify X-Shopify-Hmac-Sha256, WooCommerce X-WC-Webhook-Signature)."""
from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postpurchase.security.signatures import header, hmac_base64, verify_hmac_base64

FIXTURES = Path(__file__).resolve().parents[2] / "events" / "storefronts"
SECRET = "shpss_0123456789abcdef0123456789abcdef"


def reference_signature(body: bytes, secret: str) -> str:
    """Computed independently of the module under test."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def body() -> bytes:
    return (FIXTURES / "shopify" / "orders_create.json").read_bytes()


# --- header ---------------------------------------------------------------------------------


def test_header_lookup_is_case_insensitive():
    sig = "dGVzdA=="
    assert header({"x-shopify-hmac-sha256": sig}, "X-Shopify-Hmac-Sha256") == sig
    assert header({"X-Shopify-Hmac-Sha256": sig}, "x-shopify-hmac-sha256") == sig
    assert header({"X-SHOPIFY-HMAC-SHA256": sig}, "X-Shopify-Hmac-SHA256") == sig


def test_header_missing_is_none():
    assert header({"content-type": "application/json"}, "X-Shopify-Hmac-Sha256") is None
    assert header({}, "X-Shopify-Hmac-Sha256") is None
    assert header(None, "X-Shopify-Hmac-Sha256") is None


def test_header_returns_the_named_header_only():
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"}
    assert header(headers, "x-shopify-topic") == "orders/create"
    assert header(headers, "x-shopify-webhook-id") == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"


# --- verify_hmac_base64 ---------------------------------------------------------------------


def test_known_vector():
    # RFC-style well-known HMAC-SHA256 vector, base64-encoded as the storefronts send it.
    digest = bytes.fromhex("f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    signature = base64.b64encode(digest).decode()
    assert verify_hmac_base64(b"The quick brown fox jumps over the lazy dog", signature, "key")
    assert hmac_base64(b"The quick brown fox jumps over the lazy dog", "key") == signature


def test_valid_signature(body):
    assert verify_hmac_base64(body, reference_signature(body, SECRET), SECRET)


def test_signature_from_case_insensitive_header(body):
    headers = {"x-shopify-hmac-sha256": reference_signature(body, SECRET)}
    assert verify_hmac_base64(body, header(headers, "X-Shopify-Hmac-Sha256"), SECRET)


def test_tampered_body_is_rejected(body):
    signature = reference_signature(body, SECRET)
    tampered = body.replace(b'"total_price": "1014.80"', b'"total_price": "1.80"')
    assert tampered != body
    assert not verify_hmac_base64(tampered, signature, SECRET)


def test_reserialised_json_is_rejected(body):
    # Parsing and re-dumping changes the bytes: verification must use the raw body.
    import json

    signature = reference_signature(body, SECRET)
    assert not verify_hmac_base64(json.dumps(json.loads(body)).encode(), signature, SECRET)


def test_wrong_secret_is_rejected(body):
    assert not verify_hmac_base64(body, reference_signature(body, "another-shops-secret"), SECRET)


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_missing_signature_is_rejected(body, signature):
    assert not verify_hmac_base64(body, signature, SECRET)


@pytest.mark.parametrize(
    "signature",
    ["not base64!!", "abc", "ü" * 44, "====", "Zm9v\x00YmFy", "A" * 10_000],
)
def test_garbage_signature_is_rejected_without_raising(body, signature):
    assert not verify_hmac_base64(body, signature, SECRET)


def test_signature_with_junk_characters_is_rejected(body):
    # A lenient base64 decoder would drop the "!" and accept this.
    signature = reference_signature(body, SECRET)
    assert not verify_hmac_base64(body, signature[:10] + "!" + signature[10:], SECRET)


def test_truncated_or_hex_signature_is_rejected(body):
    signature = reference_signature(body, SECRET)
    assert not verify_hmac_base64(body, signature[:-4], SECRET)
    hex_signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert not verify_hmac_base64(body, hex_signature, SECRET)


def test_empty_secret_never_verifies(body):
    # An unconfigured secret must not turn "HMAC with an empty key" into a valid signature.
    assert not verify_hmac_base64(body, reference_signature(body, ""), "")


def test_surrounding_whitespace_in_header_is_tolerated(body):
    assert verify_hmac_base64(body, " " + reference_signature(body, SECRET) + "\n", SECRET)


# --- property -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(min_size=1, max_size=512),
    secret=st.text(min_size=1, max_size=64),
    data=st.data(),
)
def test_accepts_exactly_its_own_signature_and_rejects_any_single_byte_change(body, secret, data):
    signature = hmac_base64(body, secret)
    assert signature == reference_signature(body, secret)
    assert verify_hmac_base64(body, signature, secret)

    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1), label="index")
    replacement = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != body[index]), label="byte")
    changed = body[:index] + bytes([replacement]) + body[index + 1:]
    assert not verify_hmac_base64(changed, signature, secret)
