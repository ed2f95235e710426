"""Signed link tokens with key ids (postpurchase.security.tokens): what a key rotation keeps
working, what it stops, and that no two different field lists sign the same message."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from postpurchase.security.tokens import (
    Keyring,
    KeyringError,
    form_token,
    read_claims,
    sign_claims,
    sign_customer_token,
    sign_order_token,
    verify_customer_token,
    verify_form_token,
    verify_order_token,
)

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
LATER = NOW + timedelta(days=30)
K1, K2 = "first-key-0123456789abcdef", "second-key-0123456789abcdef"
OLD = Keyring(active="k1", keys={"k1": K1})
ROTATED = Keyring(active="k2", keys={"k1": K1, "k2": K2})
RETIRED = Keyring(active="k2", keys={"k2": K2})

# Made by the code before key ids (git history of tokens.py) with this secret, for 2027-03-01:
# the links in inboxes today look like these.
LEGACY_SECRET = "legacy-link-signing-secret-0123456789abcdef"
LEGACY_EXPIRY = datetime(2027, 3, 1, tzinfo=timezone.utc)
LEGACY_ORDER = "6b84b500.x_WUf1kb9AHc6jKoSpNDlr1TVpILWkz-YQ8j6NhaKeQ"  # demo-store / 1001
LEGACY_CUSTOMER = "6b84b500.Wjx3h_rc96c8RDeBlNfWPQOHkkAWMsY4PbBQaWaBajg"  # demo-store / c-1
LEGACY_FORM = "QuZTmoSckpMOgIlm5WoMQs8e"  # demo-store, order:1001, LEGACY_ORDER
LEGACY_CLAIMS = "ZGVtby1zdG9yZQpjLTEKYWxs.6b84b500.DjE7ARYN5yN6BC6hyEWT8nXF1ZoYcUusVdx4Bl2zYx4"  # unsubscribe
# The old format signed ("a|b", "c") and ("a", "b|c") alike: this one token is both.
LEGACY_AMBIGUOUS = "6b84b500.3eHem_8mPJIiCPA1eEa9VwKUAViao2WyOSB-9kBv7AQ"
TRANSITION = Keyring(active="k0", keys={"k0": LEGACY_SECRET}, legacy="k0")


def test_a_token_names_the_active_key_and_verifies_until_it_expires():
    token = sign_order_token(OLD, "demo-store", "1001", LATER)
    assert token.split(".")[0] == "k1"
    assert verify_order_token(OLD, "demo-store", "1001", token, NOW)
    assert verify_order_token(OLD, "demo-store", "1001", token, LATER - timedelta(seconds=1))
    assert not verify_order_token(OLD, "demo-store", "1001", token, LATER)
    assert not verify_order_token(OLD, "demo-store", "1002", token, NOW)
    assert not verify_order_token(OLD, "other-store", "1001", token, NOW)


@pytest.mark.parametrize("first, second", [
    (("a|b", "c"), ("a", "b|c")),
    (("a:1", "b"), ("a", "1:b")),
    (("1:a", "b"), ("", "a1:b")),
    (("a", ""), ("", "a")),
])
def test_different_merchant_and_order_pairs_never_share_a_token(first, second):
    token = sign_order_token(OLD, *first, LATER)
    assert verify_order_token(OLD, *first, token, NOW)
    assert not verify_order_token(OLD, *second, token, NOW)
    assert not verify_order_token(OLD, *second, sign_order_token(OLD, *first, LATER), NOW)
    assert not verify_order_token(OLD, *first, sign_order_token(OLD, *second, LATER), NOW)


def test_form_and_claims_tokens_are_injective_too():
    link = sign_order_token(OLD, "a", "b", LATER)
    assert not verify_form_token(OLD, "a", "b|c", link, form_token(OLD, "a|b", "c", link))
    assert verify_form_token(OLD, "a|b", "c", link, form_token(OLD, "a|b", "c", link))
    # Claims are fields of their own: ["a|b", "c"] is not ["a", "b|c"], nor ["a", "b", "c"].
    token = sign_claims(OLD, "feedback", ["a|b", "c"], LATER)
    assert read_claims(OLD, "feedback", token, NOW) == ["a|b", "c"]
    kid, _, expires, signature = token.split(".")
    from postpurchase.security.tokens import _b64

    for other in (["a", "b|c"], ["a", "b", "c"]):
        swapped = f"{kid}.{_b64(chr(10).join(other).encode())}.{expires}.{signature}"
        assert read_claims(OLD, "feedback", swapped, NOW) is None


def test_after_a_rotation_old_and_new_tokens_both_verify_and_new_ones_use_the_new_key():
    before = sign_order_token(OLD, "demo-store", "1001", LATER)
    after = sign_order_token(ROTATED, "demo-store", "1001", LATER)
    assert after.split(".")[0] == "k2"
    assert verify_order_token(ROTATED, "demo-store", "1001", before, NOW)
    assert verify_order_token(ROTATED, "demo-store", "1001", after, NOW)
    # A container still holding the old keyring does not know k2 (hence the delayed switch).
    assert not verify_order_token(OLD, "demo-store", "1001", after, NOW)


def test_a_retired_key_verifies_nothing_more():
    before = sign_order_token(OLD, "demo-store", "1001", LATER)
    customer = sign_customer_token(OLD, "demo-store", "c-1", LATER)
    claims = sign_claims(OLD, "unsubscribe", ["demo-store", "c-1", "all"], LATER)
    page = sign_order_token(OLD, "demo-store", "1001", LATER)
    form = form_token(OLD, "demo-store", "order:1001", page)
    assert not verify_order_token(RETIRED, "demo-store", "1001", before, NOW)
    assert not verify_customer_token(RETIRED, "demo-store", "c-1", customer, NOW)
    assert read_claims(RETIRED, "unsubscribe", claims, NOW) is None
    assert not verify_form_token(RETIRED, "demo-store", "order:1001", page, form)


def test_an_unknown_key_id_or_a_key_id_moved_to_another_key_is_refused():
    token = sign_order_token(OLD, "demo-store", "1001", LATER)
    _, expires, signature = token.split(".")
    assert not verify_order_token(ROTATED, "demo-store", "1001", f"k9.{expires}.{signature}", NOW)
    assert not verify_order_token(ROTATED, "demo-store", "1001", f"k2.{expires}.{signature}", NOW)
    swapped = Keyring(active="k1", keys={"k1": K2})  # same id, another key
    assert not verify_order_token(swapped, "demo-store", "1001", token, NOW)
    assert not verify_form_token(ROTATED, "m", "s", token, "k9." + form_token(OLD, "m", "s", token).split(".")[1])


def test_purposes_do_not_mix():
    order = sign_order_token(OLD, "demo-store", "c-1", LATER)
    customer = sign_customer_token(OLD, "demo-store", "c-1", LATER)
    assert not verify_customer_token(OLD, "demo-store", "c-1", order, NOW)
    assert not verify_order_token(OLD, "demo-store", "c-1", customer, NOW)
    claims = sign_claims(OLD, "unsubscribe", ["demo-store", "c-1", "all"], LATER)
    assert read_claims(OLD, "feedback", claims, NOW) is None


def test_links_sent_before_key_ids_keep_verifying_with_the_legacy_key_until_it_is_retired():
    before = LEGACY_EXPIRY - timedelta(days=1)
    assert verify_order_token(TRANSITION, "demo-store", "1001", LEGACY_ORDER, before)
    assert verify_customer_token(TRANSITION, "demo-store", "c-1", LEGACY_CUSTOMER, before)
    assert verify_form_token(TRANSITION, "demo-store", "order:1001", LEGACY_ORDER, LEGACY_FORM)
    assert read_claims(TRANSITION, "unsubscribe", LEGACY_CLAIMS, before) == ["demo-store", "c-1", "all"]
    # ... still bound to what they were signed for, and to their expiry.
    assert not verify_order_token(TRANSITION, "demo-store", "1002", LEGACY_ORDER, before)
    assert not verify_order_token(TRANSITION, "demo-store", "1001", LEGACY_ORDER, LEGACY_EXPIRY)
    assert not verify_customer_token(TRANSITION, "demo-store", "1001", LEGACY_ORDER, before)
    assert read_claims(TRANSITION, "feedback", LEGACY_CLAIMS, before) is None
    # After a rotation the legacy key still verifies the old format; new tokens use the new key.
    rotated = Keyring(active="k1", keys={"k0": LEGACY_SECRET, "k1": K1}, legacy="k0")
    assert verify_order_token(rotated, "demo-store", "1001", LEGACY_ORDER, before)
    assert sign_order_token(rotated, "demo-store", "1001", LATER).startswith("k1.")
    # The old format is accepted for the legacy key only: not for a keyring without one ...
    same_key_no_legacy = Keyring(active="k0", keys={"k0": LEGACY_SECRET})
    assert not verify_order_token(same_key_no_legacy, "demo-store", "1001", LEGACY_ORDER, before)
    assert not verify_form_token(same_key_no_legacy, "demo-store", "order:1001", LEGACY_ORDER, LEGACY_FORM)
    assert read_claims(same_key_no_legacy, "unsubscribe", LEGACY_CLAIMS, before) is None
    # ... nor once the legacy key is retired.
    retired = Keyring(active="k1", keys={"k1": K1})
    assert not verify_order_token(retired, "demo-store", "1001", LEGACY_ORDER, before)


def test_the_ambiguous_old_format_is_not_accepted_for_fields_with_a_bar():
    before = LEGACY_EXPIRY - timedelta(days=1)
    assert not verify_order_token(TRANSITION, "a|b", "c", LEGACY_AMBIGUOUS, before)
    assert not verify_order_token(TRANSITION, "a", "b|c", LEGACY_AMBIGUOUS, before)


def test_a_new_format_token_is_never_read_as_an_old_one():
    token = sign_order_token(TRANSITION, "demo-store", "1001", LATER)
    assert token.startswith("k0.") and token.count(".") == 2
    _, expires, signature = token.split(".")
    assert not verify_order_token(TRANSITION, "demo-store", "1001", f"{expires}.{signature}", NOW)


def test_the_keyring_document_and_its_scheduled_switch():
    document = {"active": "k2", "previous": "k1", "activate_at": "2026-12-01T12:15:00Z",
                "keys": {"k1": K1, "k2": K2}, "legacy": None}
    assert Keyring.from_document(document, NOW).active == "k1"  # until every container knows k2
    assert Keyring.from_document(document, NOW + timedelta(minutes=15)).active == "k2"
    assert Keyring.from_document({"active": "k1", "keys": {"k1": K1}}, NOW) == OLD
    assert set(Keyring.from_document(document, NOW).keys) == {"k1", "k2"}


@pytest.mark.parametrize("document", [
    {},
    {"active": "k1"},
    {"active": "k3", "keys": {"k1": K1}},
    {"active": "k1", "keys": {"k1": "short"}},
    {"active": "k.1", "keys": {"k.1": K1}},
    {"active": "k1", "keys": {"k1": K1}, "legacy": "k0"},
    {"active": "k1", "keys": {"k1": 12345678901234567890}},
    {"active": "k2", "previous": "k1", "activate_at": "soon", "keys": {"k1": K1, "k2": K2}},
])
def test_a_keyring_that_cannot_sign_is_refused(document):
    with pytest.raises(KeyringError):
        Keyring.from_document(document, NOW)


def test_the_key_material_is_not_in_the_keyrings_repr():
    assert K1 not in repr(OLD) and "k1" in repr(OLD)
