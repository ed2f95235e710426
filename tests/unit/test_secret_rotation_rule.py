"""The overlap rule of a webhook secret rotation: current first, previous while its window lasts."""
from __future__ import annotations

import hmac
from datetime import datetime, timedelta, timezone

import pytest

from postpurchase.security.merchant_secrets import MerchantSecretValues, PreviousSecret, verify_any
from postpurchase.security.signatures import hmac_base64, verify_hmac_base64

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)
BODY = b'{"id": 1}'


def test_a_rotation_with_an_overlap_accepts_both_until_it_ends():
    values = MerchantSecretValues(shopify_secret="old", revision="r1").rotated(
        "shopify_secret", "new", NOW, timedelta(hours=24))
    assert values.shopify_secret == "new" and values.revision != "r1"
    assert values.accepted("shopify_secret", NOW) == ["new", "old"]
    assert values.accepted("shopify_secret", NOW + timedelta(hours=23, minutes=59)) == ["new", "old"]
    assert values.accepted("shopify_secret", NOW + timedelta(hours=24)) == ["new"]


def test_without_an_expiry_the_old_value_is_accepted_until_retired():
    values = MerchantSecretValues(easypost_webhook_secret="old").rotated("easypost_webhook_secret", "new", NOW, None)
    assert values.accepted("easypost_webhook_secret", NOW + timedelta(days=400)) == ["new", "old"]
    retired = values.retired("easypost_webhook_secret")
    assert retired.accepted("easypost_webhook_secret", NOW) == ["new"] and not retired.previous


def test_a_second_rotation_forgets_the_oldest_and_set_ends_the_overlap():
    values = (MerchantSecretValues(woocommerce_secret="v1")
              .rotated("woocommerce_secret", "v2", NOW, None)
              .rotated("woocommerce_secret", "v3", NOW, None))
    assert values.accepted("woocommerce_secret", NOW) == ["v3", "v2"]
    assert values.merged(woocommerce_secret="v4").accepted("woocommerce_secret", NOW) == ["v4"]
    # another secret's overlap is untouched by a change to this one
    both = values.rotated("aftership_webhook_secret", "a2", NOW, None)
    assert both.accepted("woocommerce_secret", NOW) == ["v3", "v2"]


def test_a_first_rotation_has_nothing_to_overlap_and_the_signing_secret_is_not_rotatable():
    assert MerchantSecretValues().rotated("shopify_secret", "new", NOW, None).accepted("shopify_secret", NOW) == ["new"]
    with pytest.raises(ValueError):
        MerchantSecretValues().rotated("webhook_secret", "x", NOW, None)
    with pytest.raises(ValueError):
        MerchantSecretValues().rotated("carrier_api_key", "x", NOW, None)


def test_the_previous_value_round_trips_through_json_and_is_never_in_the_repr():
    values = MerchantSecretValues(shopify_secret="NEW-VALUE").rotated("shopify_secret", "NEWER", NOW,
                                                                       timedelta(hours=1))
    import json

    again = MerchantSecretValues.from_mapping(json.loads(values.to_json()))
    assert again == values
    assert "NEW-VALUE" not in repr(again) and "NEWER" not in repr(again)
    assert "NEW-VALUE" not in repr(again.previous["shopify_secret"])
    # hand-edited junk is ignored, a bad date is not accepted
    junk = MerchantSecretValues.from_mapping({"shopify_secret": "s", "previous": {
        "shopify_secret": {"value": "p", "until": "yesterday"}, "webhook_secret": {"value": "w"}, "x": 1}})
    assert junk.accepted("shopify_secret", NOW) == ["s"] and list(junk.previous) == ["shopify_secret"]
    assert not PreviousSecret(value="", until=None).accepted_at(NOW)


def test_verification_tries_every_accepted_secret_with_constant_time_compares():
    values = MerchantSecretValues(shopify_secret="old").rotated("shopify_secret", "new", NOW, timedelta(hours=1))
    check = lambda signature: lambda s: verify_hmac_base64(BODY, signature, s)  # noqa: E731
    for signer in ("old", "new"):
        assert verify_any(check(hmac_base64(BODY, signer)), values.accepted("shopify_secret", NOW))
    later = NOW + timedelta(hours=2)
    assert not verify_any(check(hmac_base64(BODY, "old")), values.accepted("shopify_secret", later))
    assert verify_any(check(hmac_base64(BODY, "new")), values.accepted("shopify_secret", later))
    assert not verify_any(check(hmac_base64(BODY, "other")), values.accepted("shopify_secret", NOW))
    assert not verify_any(check(hmac_base64(BODY, "new")), [])

    calls = []
    verify_any(lambda s: calls.append(s) or hmac.compare_digest(s, "new"), ["new", "old"])
    assert calls == ["new", "old"]  # no early exit: the time does not tell which matched
