"""The merchant's return policy over the API: GET (public, per merchant, in the customer's
language) and PUT (a new version each time, validated field by field, never another merchant's)."""
from __future__ import annotations

import copy
import re
from datetime import timedelta

import pytest

from infra.aws_requests import count_aws_requests

PATH = "/v1/returns/policy"
NON_LATIN = {"th", "ar", "ru"}
ENGLISH_WORDS = {"your", "you", "the", "and", "with", "order", "parcel", "delivery", "return", "refund", "items",
                 "within", "days", "store", "fee", "free", "must"}
POLICY = {
    "default_rule": {"window_days": 45, "window_starts": "delivery",
                     "resolutions": ["refund", "exchange"], "return_shipping_fee": "3.50"},
    "categories": {"Shoes": {"window_days": 60, "resolutions": ["exchange"], "restocking_fee_percent": "10"}},
    "final_sale_categories": ["clearance"],
    "non_returnable_categories": ["underwear"],
    "logistics": {"drop_off_options": ["carrier_drop_off", "in_store"], "label_provided": True,
                  "processing_days": 4, "refund_days": 7},
    "conditions": ["unworn_with_tags", "proof_of_purchase"],
}


def texts(document: dict) -> list[str]:
    """Every customer-facing sentence of a document (the values under *text* and *title* keys)."""
    found: list[str] = []

    def walk(node, key=""):
        if isinstance(node, dict):
            for name, value in node.items():
                walk(value, name)
        elif isinstance(node, list):
            for value in node:
                walk(value, key)
        elif isinstance(node, str) and ("text" in key or key == "title"):
            found.append(node)

    walk(document)
    return found


def put(aws, policy, api_key=None, query=""):
    return aws.client.put(f"{PATH}{query}", headers=aws.auth(api_key), body=aws.encode(policy))


def get(aws, query="?merchant=demo-store", headers=None):
    return aws.client.get(f"{PATH}{query}", headers=headers or {})


def error_of(response, status, code, field):
    assert response.status_code == status, response.body
    error = response.json_body["error"]
    assert (error["code"], error.get("field")) == (code, field), error
    assert response.headers["Cache-Control"] == "no-store"


def test_default_policy_is_served_when_none_is_stored(aws):
    response = get(aws)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    document = response.json_body
    assert document["version"] == 1 and document["language"] == "en" and document["direction"] == "ltr"
    assert document["returns"]["default"]["window_days"] == 30
    assert document["returns"]["default"]["window_text"] == "You can return items within 30 days of delivery."
    assert set(document) >= {"returns", "logistics", "general", "effective_from"}
    assert aws.items_of_type("return_policy") == []


def test_put_creates_v1_then_v2_and_get_returns_the_latest(aws):
    first = put(aws, POLICY)
    assert first.status_code == 200, first.body
    assert first.json_body["version"] == 1
    assert first.json_body["effective_from"] == aws.now.isoformat().replace("+00:00", "Z")
    assert first.headers["Cache-Control"] == "no-store"

    aws.clock.advance(timedelta(days=2))
    changed = copy.deepcopy(POLICY)
    changed["default_rule"]["window_days"] = 14
    second = put(aws, changed)
    assert second.status_code == 200 and second.json_body["version"] == 2

    latest = get(aws).json_body
    assert latest["version"] == 2 and latest["returns"]["default"]["window_days"] == 14
    assert latest["returns"]["default"]["return_shipping_fee"] == "3.50"
    assert latest["returns"]["categories"]["shoes"]["restocking_fee_percent"] == "10"
    assert [o["value"] for o in latest["logistics"]["drop_off_options"]] == ["carrier_drop_off", "in_store"]
    assert latest == get(aws, "", aws.auth()).json_body  # the key names the merchant too

    from postpurchase.services import policy_store

    old = policy_store().version("demo-store", 1)
    assert old is not None and old.version == 1 and old.default_rule.window_days == 45
    assert policy_store().version("demo-store", 3) is None
    items = sorted(aws.items_of_type("return_policy"), key=lambda item: item["sk"])
    assert [(item["pk"], item["sk"]) for item in items] == [("M#demo-store", "POLICY#v000001"),
                                                            ("M#demo-store", "POLICY#v000002")]


@pytest.mark.parametrize("change,field", [
    (lambda p: p["default_rule"].update(window_days=400), "default_rule.window_days"),
    (lambda p: p["categories"]["Shoes"].update(resolutions=["cash"]), "categories.shoes.resolutions[0]"),
    (lambda p: p.update(non_returnable_categories=["underwear", "clearance"]), "non_returnable_categories"),
    (lambda p: p.update(version=7), "version"),
    (lambda p: p.update(effective_from="2026-01-01T00:00:00Z"), "effective_from"),
], ids=["window_days", "unknown_resolution", "final_sale_and_non_returnable", "version", "effective_from"])
def test_invalid_policy_is_refused_with_the_field(aws, change, field):
    policy = copy.deepcopy(POLICY)
    change(policy)

    error_of(put(aws, policy), 400, "validation_error", field)
    assert aws.items_of_type("return_policy") == []


def test_malformed_and_unauthenticated_puts(aws):
    response = aws.client.put(PATH, headers=aws.auth(), body=b"{not json")
    error_of(response, 400, "malformed_json", None)
    response = aws.client.put(PATH, headers={"Content-Type": "application/json"}, body=aws.encode(POLICY))
    error_of(response, 401, "unauthorized", "Authorization")


def test_each_merchant_has_its_own_policy(aws, other_store):
    changed = copy.deepcopy(POLICY)
    changed["default_rule"]["window_days"] = 7
    assert put(aws, changed, api_key=other_store).json_body["version"] == 1

    assert get(aws).json_body["returns"]["default"]["window_days"] == 30  # demo-store: still the default
    assert get(aws, "?merchant=other-store").json_body["returns"]["default"]["window_days"] == 7
    assert get(aws, "", aws.auth(other_store)).json_body["returns"]["default"]["window_days"] == 7
    assert {item["pk"] for item in aws.items_of_type("return_policy")} == {"M#other-store"}


def test_unknown_or_missing_merchant(aws):
    error_of(get(aws, "?merchant=no-such-store"), 404, "not_found", "merchant")
    error_of(get(aws, ""), 400, "validation_error", "merchant")
    error_of(get(aws, "", {"Authorization": "Bearer wrong-key"}), 401, "unauthorized", "Authorization")


def test_concurrent_publish_of_the_same_version_one_wins(aws, monkeypatch):
    from postpurchase.errors import Conflict
    from postpurchase.services import policy_store

    store = policy_store()
    # Both requests read "no version yet" before either writes. (A context of its own: undoing
    # the whole monkeypatch would also undo the aws fixture's environment.)
    with monkeypatch.context() as patch:
        patch.setattr(store, "latest_version", lambda merchant_id: 0)
        assert store.publish("demo-store", POLICY, aws.now).version == 1
        with pytest.raises(Conflict) as lost:
            store.publish("demo-store", {**POLICY, "conditions": []}, aws.now)
        assert lost.value.status == 409 and lost.value.field == "version"
        assert store.version("demo-store", 1).conditions  # the winner's policy stays

    assert store.publish("demo-store", POLICY, aws.now).version == 2  # a retry builds on the winner


def test_arabic_is_right_to_left_and_arabic(aws):
    assert put(aws, POLICY).status_code == 200

    document = get(aws, "?merchant=demo-store&locale=ar-SA").json_body

    assert document["language"] == "ar" and document["direction"] == "rtl"
    window = document["returns"]["default"]["window_text"]
    assert "45" in window and re.search(r"[\u0600-\u06FF]", window)
    assert document["general"]["conditions"][0]["text"] == (
        "يجب أن تكون المنتجات غير ملبوسة وغير مغسولة، مع بقاء البطاقات الأصلية عليها.")


@pytest.mark.parametrize("language", ["id", "th", "tr", "ar", "ru"])
def test_no_english_left_in_any_language(aws, language):
    assert put(aws, POLICY).status_code == 200
    english = texts(get(aws, "?merchant=demo-store&locale=en").json_body)
    document = get(aws, f"?merchant=demo-store&locale={language}").json_body

    assert document["language"] == language
    sentences = texts(document)
    assert len(sentences) == len(english)
    assert not set(sentences) & set(english)
    rest = " ".join(sentences)
    if language in NON_LATIN:
        assert re.findall(r"[A-Za-z]{3,}", rest) == []
    else:
        assert {w.lower() for w in re.findall(r"[A-Za-z]+", rest)} & ENGLISH_WORDS == set()


def test_get_is_one_dynamodb_query(aws):
    assert put(aws, POLICY).status_code == 200
    assert get(aws).status_code == 200  # warm-up: the merchant cache is hot now
    assert get(aws, "", aws.auth()).status_code == 200  # and the API-key cache

    for query, headers in (("?merchant=demo-store&locale=th", None), ("?locale=ru", aws.auth())):
        with count_aws_requests() as requests:
            response = get(aws, query, headers)
        assert response.status_code == 200
        assert dict(requests) == {("DynamoDB", "Query"): 1}
