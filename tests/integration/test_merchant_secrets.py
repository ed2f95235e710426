"""Merchants' secrets in Secrets Manager (security/merchant_secrets.py, adapters/secrets.py), never in
the table; Shopify webhooks deduplicated on the event and checked against the merchant's shop;
infra/migrate_secrets.py for items an older deployment wrote."""
from __future__ import annotations

import json
from dataclasses import replace

import boto3
import pytest

from infra.aws_requests import count_aws_requests

REGION = "us-east-1"
ORDER_QUEUE = "OrderEventsQueue"
SECRETS_READ = ("SecretsManager", "GetSecretValue")


def secretsmanager():
    return boto3.client("secretsmanager", region_name=REGION)


def secret_name(merchant_id: str) -> str:
    import os

    return f"{os.environ['MERCHANT_SECRETS_PREFIX']}{merchant_id}"


def stored_secret(merchant_id: str) -> dict:
    return json.loads(secretsmanager().get_secret_value(SecretId=secret_name(merchant_id))["SecretString"])


def everything_in_dynamodb(aws) -> str:
    """Every item of every table of the template, as one string to search."""
    return "\n".join(repr(item) for table_id in ("Table", "IdempotencyTable") for item in aws.table_items(table_id))


def shopify_body(aws, **fields) -> bytes:
    return aws.encode(aws.shopify_order(**fields))


def error_of(response, status: int, code: str, field: str) -> dict:
    assert response.status_code == status, (response.status_code, response.body[:500])
    assert set(response.json_body) == {"error"}, response.json_body
    error = response.json_body["error"]
    assert (error["code"], error["field"]) == (code, field) and error["message"], error
    return error


def forget_container_caches() -> None:
    """A cold container: no merchant item and no secret cached."""
    from postpurchase import services
    from postpurchase.storage import merchants

    services.reset()
    merchants.clear_caches()


# --- (a) not in any DynamoDB item ----------------------------------------------------------------


def test_no_secret_set_by_the_seed_or_the_api_is_in_any_dynamodb_item(aws, other_store):
    put = aws.client.put("/v1/settings/webhooks", headers=aws.auth(),
                         body=aws.encode({"returns_url": "https://erp.example/returns"}))
    assert put.status_code == 200, put.body
    signing_secret = put.json_body["secret"]
    assert signing_secret.startswith("whsec_")
    # Traffic that reads them: a Shopify and a WooCommerce webhook.
    assert aws.shopify("orders/create", shopify_body(aws), "wh-a").status_code == 200
    woo = aws.encode(aws.woocommerce_order())
    assert aws.woocommerce("order.created", woo, "dl-a").status_code == 200
    aws.pump.drain()

    creds = aws.credentials
    secrets = {creds.shopify_secret, creds.woocommerce_secret, creds.easypost_secret, creds.aftership_secret,
               signing_secret, "other-shopify-secret", "other-woo-secret"}
    dump = everything_in_dynamodb(aws)
    assert dump  # the scan found the items
    assert [secret for secret in secrets if secret in dump] == []
    # The API key is stored as its hash only (as before).
    assert creds.api_key not in dump and other_store not in dump

    demo = stored_secret("demo-store")
    assert {demo["shopify_secret"], demo["woocommerce_secret"], demo["easypost_webhook_secret"],
            demo["aftership_webhook_secret"], demo["webhook_secret"]} == {
        creds.shopify_secret, creds.woocommerce_secret, creds.easypost_secret, creds.aftership_secret, signing_secret}
    assert aws.item("M#demo-store", "SETTINGS")["secrets_revision"] == demo["revision"]
    assert stored_secret("other-store")["shopify_secret"] == "other-shopify-secret"
    tags = secretsmanager().describe_secret(SecretId=secret_name("demo-store"))["Tags"]
    assert {"Key": "merchant_id", "Value": "demo-store"} in tags


def test_the_webhook_settings_answer_shows_the_secret_once_and_a_put_rotates_it(aws):
    first = aws.client.put("/v1/settings/webhooks", headers=aws.auth(),
                           body=aws.encode({"returns_url": "https://erp.example/returns"}))
    second = aws.client.put("/v1/settings/webhooks", headers=aws.auth(),
                            body=aws.encode({"feedback_url": "https://erp.example/feedback"}))
    assert first.status_code == second.status_code == 200
    assert first.json_body["secret"] != second.json_body["secret"]
    stored = stored_secret("demo-store")
    assert stored["webhook_secret"] == second.json_body["secret"]
    assert stored["shopify_secret"] == aws.credentials.shopify_secret  # the other secrets are kept
    item = aws.item("M#demo-store", "SETTINGS")
    assert json.loads(item["webhooks"]) == {"returns_url": "https://erp.example/returns",
                                            "feedback_url": "https://erp.example/feedback"}
    off = aws.client.put("/v1/settings/webhooks", headers=aws.auth(),
                         body=aws.encode({"returns_url": None, "feedback_url": None}))
    assert off.status_code == 200 and off.json_body["secret"] is None
    assert "webhook_secret" not in stored_secret("demo-store")


# --- (b) read from Secrets Manager, cached ---------------------------------------------------------


def test_a_cold_container_reads_the_merchant_secret_once_for_many_verifications(aws):
    forget_container_caches()
    with count_aws_requests() as requests:
        assert aws.shopify("orders/create", shopify_body(aws, id=5001), "wh-b1").status_code == 200
        assert aws.shopify("orders/create", shopify_body(aws, id=5002), "wh-b2").status_code == 200
        woo = aws.encode(aws.woocommerce_order())
        assert aws.woocommerce("order.created", woo, "dl-b1").status_code == 200  # the same secret
    assert requests[SECRETS_READ] == 1
    assert not any(service == "SecretsManager" and operation != "GetSecretValue"
                   for service, operation in requests)


def test_a_forged_webhook_to_a_merchant_without_secrets_costs_no_secrets_manager_call(aws):
    from postpurchase.messaging.requests import MerchantBranding
    from postpurchase.storage.merchants import DynamoMerchantStore, Merchant

    DynamoMerchantStore().save(Merchant(branding=MerchantBranding(
        merchant_id="bare-store", name="Bare", from_email="orders@bare.example")), aws.now)
    forget_container_caches()
    with count_aws_requests() as requests:
        response = aws.shopify("orders/create", shopify_body(aws), "wh-bare", merchant_id="bare-store")
    error_of(response, 401, "invalid_signature", "X-Shopify-Hmac-Sha256")
    assert requests[SECRETS_READ] == 0
    assert aws.queue_depth(ORDER_QUEUE) == 0


def test_secrets_manager_down_is_a_503_not_a_500_and_nothing_is_enqueued(aws, monkeypatch):
    from botocore.exceptions import ClientError
    from postpurchase import services

    forget_container_caches()
    client = services.merchant_secrets()._client

    def throttled(**_):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetSecretValue")

    monkeypatch.setattr(client, "get_secret_value", throttled)
    response = aws.shopify("orders/create", shopify_body(aws), "wh-down")
    assert response.status_code == 503, response.body
    assert response.json_body["error"]["code"] == "retry"
    assert "postpurchase/" not in response.body.decode()  # no secret name in the answer
    assert aws.queue_depth(ORDER_QUEUE) == 0


# --- (c) rotation ------------------------------------------------------------------------------------


def rotate_elsewhere(aws, merchant_id: str, **changes: str) -> str:
    """What another container's update_secrets does: a new secret value, then the item's revision."""
    from postpurchase.security.merchant_secrets import MerchantSecretValues

    values = MerchantSecretValues.from_mapping(stored_secret(merchant_id)).merged(**changes)
    secretsmanager().put_secret_value(SecretId=secret_name(merchant_id), SecretString=values.to_json())
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=aws.refs["Table"], Key={"pk": {"S": f"M#{merchant_id}"}, "sk": {"S": "SETTINGS"}},
        UpdateExpression="SET secrets_revision = :r", ExpressionAttributeValues={":r": {"S": values.revision}})
    return values.revision


def test_a_rotated_secret_is_used_once_the_merchant_item_shows_its_revision(aws):
    from postpurchase.storage import merchants

    old = aws.credentials.shopify_secret
    forget_container_caches()
    assert aws.shopify("orders/create", shopify_body(aws, id=6001), "wh-c1").status_code == 200  # caches `old`

    rotate_elsewhere(aws, "demo-store", shopify_secret="rotated-shopify-secret")
    merchants.clear_caches()  # this container's merchant cache (60 s) expires; its secret cache (5 min) has not
    with count_aws_requests() as requests:
        error_of(aws.shopify("orders/create", shopify_body(aws, id=6002), "wh-c2", secret=old), 401,
                 "invalid_signature", "X-Shopify-Hmac-Sha256")
        assert aws.shopify("orders/create", shopify_body(aws, id=6003), "wh-c3",
                           secret="rotated-shopify-secret").status_code == 200
    assert requests[SECRETS_READ] == 1  # the re-read for the new revision, then cached again
    assert aws.queue_depth(ORDER_QUEUE) == 2


def test_an_item_older_than_the_secret_costs_one_re_read_not_one_per_call(aws):
    """A container whose merchant item (cached 60 s) predates a rotation that its secret cache
    already fetched must not force a Secrets Manager read on every webhook."""
    from postpurchase import services

    forget_container_caches()
    assert aws.shopify("orders/create", shopify_body(aws, id=6101), "wh-d0").status_code == 200
    rotate_elsewhere(aws, "demo-store", shopify_secret="rotated-shopify-secret")
    services.merchant_secrets()._provider.clear_cache()  # the secret cache expired; the item cache has not
    with count_aws_requests() as requests:
        for number in range(4):
            response = aws.shopify("orders/create", shopify_body(aws, id=6110 + number), f"wh-d{number + 1}",
                                   secret="rotated-shopify-secret")
            assert response.status_code == 200, response.body
    assert requests[SECRETS_READ] == 2  # the expired read, one forced re-read, then the cache


# --- (d) Shopify: event ids, shop domain, API version ------------------------------------------------


def test_the_same_event_under_two_webhook_ids_is_enqueued_once(aws):
    body = shopify_body(aws)
    first = aws.shopify("orders/create", body, "wh-sub-1", event_id="ev-1")
    again = aws.shopify("orders/create", body, "wh-sub-2", event_id="ev-1")  # a second subscription
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json_body == first.json_body
    [event] = [json.loads(body) for body in aws.take(ORDER_QUEUE)]
    assert event["event_id"] == "shopify:ev-1:0"


def test_a_redelivered_event_with_another_body_enqueues_nothing(aws):
    """Two subscriptions on different API versions send one event in two shapes: the event id,
    not the body, says it is the same."""
    first = aws.shopify("orders/create", shopify_body(aws), "wh-v1", event_id="ev-2", api_version="2025-07")
    other_shape = shopify_body(aws, note="written by API version 2025-10")
    again = aws.shopify("orders/create", other_shape, "wh-v2", event_id="ev-2", api_version="2025-10")
    assert (first.status_code, again.status_code) == (200, 200)
    assert aws.queue_depth(ORDER_QUEUE) == 1


def test_the_event_id_decides_even_under_a_reused_webhook_id(aws):
    """Our rule: X-Shopify-Event-Id names the event; X-Shopify-Webhook-Id is only the fallback. Two
    signed deliveries with different event ids are two events, whatever their webhook id."""
    assert aws.shopify("orders/create", shopify_body(aws, id=7001), "wh-same", event_id="ev-3").status_code == 200
    assert aws.shopify("orders/create", shopify_body(aws, id=7002), "wh-same", event_id="ev-4").status_code == 200
    events = [json.loads(body) for body in aws.take(ORDER_QUEUE)]
    assert sorted(event["event_id"] for event in events) == ["shopify:ev-3:0", "shopify:ev-4:0"]


def test_without_an_event_id_the_webhook_id_deduplicates(aws):
    body = shopify_body(aws)
    assert aws.shopify("orders/create", body, "wh-legacy").status_code == 200
    assert aws.shopify("orders/create", body, "wh-legacy").status_code == 200
    [event] = [json.loads(body) for body in aws.take(ORDER_QUEUE)]
    assert event["event_id"] == "shopify:wh-legacy:0"
    # With an event id, the webhook id is not needed; with neither, the error names the fallback.
    assert aws.shopify("orders/create", shopify_body(aws, id=7101), None, event_id="ev-5").status_code == 200
    error_of(aws.shopify("orders/create", shopify_body(aws, id=7102), None), 400, "validation_error",
             "X-Shopify-Webhook-Id")


@pytest.mark.parametrize("domain", ["other-shop.myshopify.com", "demo-store.myshopify.com.evil.example", None],
                         ids=["another-shop", "suffixed", "missing"])
def test_a_webhook_of_another_shop_is_401_naming_the_header_and_stores_nothing(aws, domain):
    before = everything_in_dynamodb(aws)
    body = shopify_body(aws)
    if domain is None:
        response = aws.shopify("orders/create", body, "wh-shop", event_id="ev-shop", omit=["X-Shopify-Shop-Domain"])
    else:
        response = aws.shopify("orders/create", body, "wh-shop", event_id="ev-shop", shop_domain=domain)
    error_of(response, 401, "unauthorized", "X-Shopify-Shop-Domain")
    assert aws.queue_depth(ORDER_QUEUE) == 0
    assert everything_in_dynamodb(aws) == before  # no idempotency record: the real delivery still goes through
    assert aws.shopify("orders/create", body, "wh-shop", event_id="ev-shop").status_code == 200
    assert aws.queue_depth(ORDER_QUEUE) == 1


def test_the_shop_domain_is_compared_without_case_and_unchecked_for_a_merchant_without_one(aws, other_store):
    assert aws.shopify("orders/create", shopify_body(aws), "wh-case",
                       shop_domain="Demo-Store.MyShopify.com").status_code == 200
    # other-store configured no shop: any domain (or none) is accepted once the signature holds.
    assert aws.shopify("orders/create", shopify_body(aws, id=7201), "wh-other", merchant_id="other-store",
                       secret="other-shopify-secret", shop_domain="whatever.myshopify.com").status_code == 200
    assert aws.queue_depth(ORDER_QUEUE) == 2


def test_the_api_version_is_recorded_on_the_event_and_the_delivery_record(aws):
    assert aws.shopify("orders/create", shopify_body(aws), "wh-ver", event_id="ev-ver",
                       api_version="2025-10").status_code == 200
    [event] = [json.loads(body) for body in aws.take(ORDER_QUEUE)]
    assert event["source_api_version"] == "2025-10"
    [record] = [item for item in aws.table_items("IdempotencyTable") if "shopify:ev-ver" in item.get("data", "")]
    assert json.loads(record["data"])["api_version"] == "2025-10"
    # Without the header nothing is invented; an overlong one is cut, not a 400 or a 500.
    assert aws.shopify("orders/create", shopify_body(aws, id=7301), "wh-nover").status_code == 200
    assert aws.shopify("orders/create", shopify_body(aws, id=7302), "wh-longver",
                       api_version="9" * 100).status_code == 200
    first, second = sorted((json.loads(body) for body in aws.take(ORDER_QUEUE)), key=lambda e: e["event_id"])
    assert (first["source_api_version"], second["source_api_version"]) == ("9" * 32, None)


# --- (e) migration of an older deployment's items -----------------------------------------------------


LEGACY = {"shopify_secret": "legacy-shopify", "woocommerce_secret": "legacy-woo", "carrier_api_key": "legacy-ep-key",
          "easypost_webhook_secret": "legacy-ep-hook", "webhook_secret": "whsec_legacy"}


def put_legacy_merchant(aws, merchant_id: str = "old-store") -> None:
    """A SETTINGS item as a deployment before Secrets Manager wrote it: plain secrets on the item."""
    branding = {"merchant_id": merchant_id, "name": "Old Store", "from_email": "orders@old.example"}
    boto3.resource("dynamodb", region_name=REGION).Table(aws.refs["Table"]).put_item(Item={
        "pk": f"M#{merchant_id}", "sk": "SETTINGS", "type": "merchant", "merchant_id": merchant_id,
        "branding": json.dumps(branding),
        "shopify_secret": LEGACY["shopify_secret"], "woocommerce_secret": LEGACY["woocommerce_secret"],
        "tracking": json.dumps({"provider": "easypost", "api_key": LEGACY["carrier_api_key"],
                                "easypost_webhook_secret": LEGACY["easypost_webhook_secret"],
                                "aftership_webhook_secret": None}),
        "webhooks": json.dumps({"returns_url": "https://old.example/returns", "secret": LEGACY["webhook_secret"],
                                "feedback_url": None}),
        "updated_at": "2026-01-01T00:00:00.000000+0000"})


def test_the_migration_moves_plain_secrets_off_the_item_and_running_it_again_moves_nothing(aws, capsys):
    from infra import migrate_secrets

    put_legacy_merchant(aws)
    assert migrate_secrets.main(["--dry-run"]) == 0
    assert "would move the plain secrets of 1 merchant(s): old-store" in capsys.readouterr().out
    assert any(value in repr(aws.item("M#old-store", "SETTINGS")) for value in LEGACY.values())  # dry: untouched

    assert migrate_secrets.main([]) == 0
    assert "moved the plain secrets of 1 merchant(s): old-store" in capsys.readouterr().out
    item = aws.item("M#old-store", "SETTINGS")
    assert [value for value in LEGACY.values() if value in repr(item)] == []
    assert "shopify_secret" not in item and "woocommerce_secret" not in item
    assert json.loads(item["tracking"]) == {"provider": "easypost"}
    assert json.loads(item["webhooks"]) == {"returns_url": "https://old.example/returns", "feedback_url": None}
    stored = stored_secret("old-store")
    assert {name: stored.get(name) for name in LEGACY} == LEGACY
    assert item["secrets_revision"] == stored["revision"]
    versions = secretsmanager().list_secret_version_ids(SecretId=secret_name("old-store"))["Versions"]

    assert migrate_secrets.main([]) == 0  # idempotent
    assert "moved the plain secrets of 0 merchant(s)" in capsys.readouterr().out
    assert stored_secret("old-store") == stored
    assert secretsmanager().list_secret_version_ids(SecretId=secret_name("old-store"))["Versions"] == versions
    assert aws.item("M#old-store", "SETTINGS") == item
    # And the moved secret verifies the merchant's webhooks.
    forget_container_caches()
    assert aws.shopify("orders/create", shopify_body(aws), "wh-old", merchant_id="old-store",
                       secret=LEGACY["shopify_secret"]).status_code == 200


def test_the_api_moves_a_legacy_merchant_on_its_first_webhook(aws):
    put_legacy_merchant(aws)
    forget_container_caches()
    response = aws.shopify("orders/create", shopify_body(aws), "wh-lazy", merchant_id="old-store",
                           secret=LEGACY["shopify_secret"])
    assert response.status_code == 200, response.body
    assert [value for value in LEGACY.values() if value in repr(aws.item("M#old-store", "SETTINGS"))] == []
    assert stored_secret("old-store")["carrier_api_key"] == LEGACY["carrier_api_key"]


def test_a_function_that_may_not_write_secrets_uses_the_plain_ones_and_leaves_them(aws, monkeypatch):
    """The tracking worker and return events may only read: for a merchant not yet moved they use
    the item's plain secrets, and the API (or the command) moves them later."""
    from postpurchase import services
    from postpurchase.security.merchant_secrets import SecretsUnavailable
    from postpurchase.storage.merchants import DynamoMerchantStore, webhook_target

    put_legacy_merchant(aws)
    forget_container_caches()

    def denied(*_, **__):
        raise SecretsUnavailable("cannot write secret: AccessDeniedException")

    monkeypatch.setattr(services.merchant_secrets(), "put", denied)
    target = webhook_target(DynamoMerchantStore().get("old-store"))
    assert (target.returns_url, target.secret) == ("https://old.example/returns", LEGACY["webhook_secret"])
    assert services.carrier_client("old-store").__class__.__name__ == "EasyPostClient"
    assert LEGACY["webhook_secret"] in repr(aws.item("M#old-store", "SETTINGS"))  # left for the API to move


def test_saving_a_legacy_merchant_keeps_its_plain_secrets_until_they_move(aws):
    """A settings save of a merchant not yet moved must not drop secrets that exist nowhere else."""
    from postpurchase.storage.merchants import DynamoMerchantStore, secrets_of

    put_legacy_merchant(aws)
    store = DynamoMerchantStore()
    merchant = store.get("old-store")
    store.save(replace(merchant, shopify_shop_domain="old-store.myshopify.com"), aws.now)
    item = aws.item("M#old-store", "SETTINGS")
    assert item["shopify_shop_domain"] == "old-store.myshopify.com"
    assert all(value in repr(item) for value in LEGACY.values())
    moved = secrets_of(store.get("old-store"), aws.now)  # the API's first read moves them
    assert (moved.shopify_secret, moved.webhook_secret) == (LEGACY["shopify_secret"], LEGACY["webhook_secret"])
    assert not any(value in repr(aws.item("M#old-store", "SETTINGS")) for value in LEGACY.values())
