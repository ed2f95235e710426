"""security/merchant_secrets.py: the JSON document of a merchant's secret, and what it never prints."""
from __future__ import annotations

import json

from postpurchase.security.merchant_secrets import SECRET_FIELDS, MerchantSecretValues


def test_the_document_round_trips_and_leaves_out_unset_secrets():
    values = MerchantSecretValues(shopify_secret="s1", webhook_secret="whsec_x", revision="r1")
    document = values.to_json()
    assert json.loads(document) == {"shopify_secret": "s1", "webhook_secret": "whsec_x", "revision": "r1"}
    assert MerchantSecretValues.from_mapping(json.loads(document)) == values


def test_a_foreign_or_damaged_document_yields_no_secrets_rather_than_an_error():
    assert MerchantSecretValues.from_mapping(["not", "an", "object"]) == MerchantSecretValues()
    odd = MerchantSecretValues.from_mapping({"shopify_secret": 12, "woocommerce_secret": "w", "extra": "x"})
    assert (odd.shopify_secret, odd.woocommerce_secret) == (None, "w")


def test_merged_keeps_the_others_sets_or_clears_one_and_takes_a_new_revision():
    values = MerchantSecretValues(shopify_secret="s1", webhook_secret="old", revision="r1")
    rotated = values.merged(webhook_secret="new")
    cleared = rotated.merged(webhook_secret=None)
    assert (rotated.shopify_secret, rotated.webhook_secret) == ("s1", "new")
    assert cleared.webhook_secret is None and cleared.holds_any()  # the Shopify secret stays
    assert not MerchantSecretValues(revision="r").holds_any()
    assert len({values.revision, rotated.revision, cleared.revision}) == 3


def test_no_secret_value_reaches_a_log_line_or_a_test_failure():
    values = MerchantSecretValues(**{name: f"{name}-VALUE" for name in SECRET_FIELDS}, revision="r9")
    shown = repr(values) + str(values)
    assert "VALUE" not in shown and "r9" in shown and "shopify_secret" in shown
