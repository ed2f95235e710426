"""The link-signing keyring from its Secrets Manager secret (moto), and its rotation command:
links sent before a rotation keep opening, new ones use the new key once every container
can know it, and a key is retired only when no link it signed can still be valid."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import boto3
import pytest

from postpurchase.security import rotate_link_keys
from postpurchase.security.tokens import Keyring, sign_order_token

HOST = "shop.example"
# Made by the code before key ids with the integration tests' LINK_SECRET, for demo-store /
# order 1001, valid until 2027-03-01: a link from an email sent before this change.
LEGACY_ORDER_LINK = "6b84b500.Yjnu2FPjYbREUY1rVbZ0dGJIcfkxIBkDjYJaWqnpMCY"


def secret_id(aws) -> str:
    return aws.refs["LinkSigningKeys"]


def stored(aws) -> dict:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    return json.loads(client.get_secret_value(SecretId=secret_id(aws))["SecretString"])


def rotate(aws, *args: str, days: float = 0) -> int:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    return rotate_link_keys.main(["--secret-id", secret_id(aws), *args], client=client,
                                 now=aws.clock.now() + timedelta(days=days))


def fresh_keys(aws) -> Keyring:
    """What a container sees once its cache (max_age) has run out."""
    from postpurchase import services

    services.reset()
    return aws.link_keys


def page_status(aws, token: str) -> int:
    query = urlencode({"token": token})
    return aws.client.get(f"/pages/demo-store/orders/1001?{query}", headers={"Host": HOST}).status_code


def placed(aws) -> None:
    assert aws.post_order(aws.api_order("1001")).status_code == 202
    aws.pump.drain()


def test_the_functions_read_the_keyring_the_template_seeds_from_the_old_secret(aws):
    assert aws.link_keys == Keyring(active="k0", keys={"k0": aws.link_secret}, legacy="k0")
    assert stored(aws) == {"active": "k0", "keys": {"k0": aws.link_secret}, "legacy": "k0"}
    assert aws.refs["LinkSigningKeys"].startswith("arn:aws:secretsmanager:")
    from postpurchase.config import settings

    assert settings().link_keys_secret_arn == aws.refs["LinkSigningKeys"]


def test_the_keyring_is_read_once_per_cache_period(aws):
    from infra.aws_requests import count_aws_requests
    from postpurchase import services

    services.reset()
    with count_aws_requests() as requests:
        for _ in range(3):
            services.link_keys()
    assert dict(requests) == {("SecretsManager", "GetSecretValue"): 1}
    assert rotate(aws) == 0
    assert "k1" not in services.link_keys().keys  # still the cached document
    assert "k1" in fresh_keys(aws).keys


def test_a_link_sent_before_key_ids_opens_its_page_until_the_legacy_key_is_retired(aws):
    placed(aws)
    assert page_status(aws, LEGACY_ORDER_LINK) == 200
    assert rotate(aws) == 0
    fresh_keys(aws)
    assert page_status(aws, LEGACY_ORDER_LINK) == 200
    # The old format is refused for any key but the legacy one.
    assert page_status(aws, "k0." + LEGACY_ORDER_LINK) == 401


def test_rotation_keeps_old_links_working_and_switches_signing_after_the_delay(aws, capsys):
    placed(aws)
    before = sign_order_token(aws.link_keys, "demo-store", "1001", aws.clock.now() + timedelta(days=30))
    assert before.startswith("k0.")

    capsys.readouterr()  # the handlers' metrics
    assert rotate(aws) == 0
    shown = json.loads(capsys.readouterr().out)
    assert aws.link_secret not in json.dumps(shown) and shown["signing_now"] == "k0"
    document = stored(aws)
    assert document["active"] == "k1" and document["previous"] == "k0" and set(document["keys"]) == {"k0", "k1"}
    assert len(document["keys"]["k1"]) >= 32 and document["legacy"] == "k0"

    # Until the switch, containers verify k1 but still sign with k0 ...
    keys = fresh_keys(aws)
    assert keys.active == "k0" and "k1" in keys.keys
    # ... and a second rotation waits for the first one to finish.
    assert rotate(aws) == 2 and "not active yet" in capsys.readouterr().err

    aws.clock.advance(timedelta(minutes=15))
    keys = fresh_keys(aws)
    assert keys.active == "k1"
    after = sign_order_token(keys, "demo-store", "1001", aws.clock.now() + timedelta(days=30))
    assert after.startswith("k1.")
    assert page_status(aws, before) == 200 and page_status(aws, after) == 200
    # The API signs with the new key too (the order lookup hands out a link).
    from postpurchase.messaging.links import customer_order_link

    assert "token=k1." in customer_order_link("demo-store", "1001", aws.clock.now())


def test_a_key_is_retired_only_after_the_longest_link_lifetime(aws, capsys):
    placed(aws)
    old_link = sign_order_token(aws.link_keys, "demo-store", "1001", aws.clock.now() + timedelta(days=30))
    assert rotate(aws) == 0
    switched = stored(aws)["activate_at"]

    assert rotate(aws, "--retire", "k1", days=1) == 2  # the active key
    assert rotate(aws, "--retire", "k9", days=1) == 2  # no such key
    assert rotate(aws, "--retire", "k0", days=399) == 2  # its unsubscribe links may still be valid
    assert "k0 signed links until" in capsys.readouterr().err
    assert set(stored(aws)["keys"]) == {"k0", "k1"}

    assert rotate(aws, "--retire", "k0", days=401) == 0
    document = stored(aws)
    assert set(document["keys"]) == {"k1"} and "legacy" not in document and "previous" not in document
    assert document["deactivated"] == {} and switched
    fresh_keys(aws)
    assert page_status(aws, old_link) == 401
    assert page_status(aws, LEGACY_ORDER_LINK) == 401


def test_an_unreadable_keyring_is_a_503_not_a_500(aws, monkeypatch):
    from postpurchase import config, services
    from postpurchase.adapters.link_keys import KeyringUnavailable

    placed(aws)
    monkeypatch.setenv("LINK_KEYS_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf")
    config.reset()
    services.reset()
    with pytest.raises(KeyringUnavailable) as raised:
        services.link_keys()
    assert raised.value.status == 503 and "gone" not in raised.value.message
    response = aws.client.get("/v1/orders/1001/returns?merchant=demo-store&token=k0.6b84b500.AAAA")
    assert response.status_code == 503, response.body
    assert json.loads(response.body)["error"]["code"] == "retry"
