"""The return policy as customers read it (postpurchase.returns.policy_view): machine values and
catalog text in every language, no English left, right-to-left for Arabic."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po

from postpurchase.messaging import catalogs
from postpurchase.returns import policy_view
from postpurchase.returns.policy import DEFAULT_POLICY, policy_from_json
from postpurchase.returns.policy_view import policy_document

LANGUAGES = ["id", "th", "tr", "ar", "ru"]
NON_LATIN = {"th", "ar", "ru"}
ENGLISH_WORDS = {"your", "you", "the", "and", "with", "order", "parcel", "delivery", "return", "refund", "items",
                 "within", "days", "store", "fee", "free", "must"}


def full_policy():
    return policy_from_json({
        "version": 4,
        "effective_from": "2026-11-01T00:00:00+00:00",
        "default_rule": {"window_days": 30, "resolutions": ["refund", "store_credit", "exchange"]},
        "categories": {
            "Shoes": {"window_days": 1, "window_starts": "fulfilment", "resolutions": ["exchange"],
                      "restocking_fee_percent": "12.5", "return_shipping_fee": "4.95"},
            "Perfume": {"window_days": 14, "window_starts": "order", "resolutions": ["store_credit"]},
            "Custom": {"window_days": 0, "resolutions": ["refund"]},
        },
        "final_sale_categories": ["clearance"],
        "non_returnable_categories": ["underwear"],
        "logistics": {"drop_off_options": ["carrier_drop_off", "pickup", "in_store"], "label_provided": False,
                      "processing_days": 3, "refund_days": 21},
        "conditions": ["unworn_with_tags", "original_packaging", "unopened_hygiene", "proof_of_purchase"],
    })


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


def test_every_msgid_is_in_the_template_and_every_catalog():
    with catalogs.POT_PATH.open("rb") as fp:
        pot = read_po(fp)
    in_pot = {m.id[0] if isinstance(m.id, tuple) else m.id for m in pot if m.id}
    assert policy_view.msgids() <= in_pot
    template = (catalogs.TEMPLATES_DIR / "return_policy.txt").read_text(encoding="utf-8")
    listed = set(re.findall(r'(?:_|ngettext)\("([^"]+)"', template))
    assert listed == policy_view.msgids(), "keep templates/return_policy.txt equal to policy_view's msgids"


def test_english_document_has_machine_values_and_text():
    document = policy_document(full_policy(), "en-GB")

    assert document["version"] == 4 and document["effective_from"] == "2026-11-01T00:00:00Z"
    assert document["language"] == "en" and document["direction"] == "ltr"
    default = document["returns"]["default"]
    assert default["window_days"] == 30 and default["window_starts"] == "delivery"
    assert default["window_text"] == "You can return items within 30 days of delivery."
    assert [r["value"] for r in default["resolutions"]] == ["refund", "store_credit", "exchange"]
    assert default["fees_text"] == ["No restocking fee is charged.", "Return shipping is free."]
    shoes = document["returns"]["categories"]["shoes"]
    assert shoes["window_text"] == "You can return items within 1 day of dispatch."
    assert shoes["restocking_fee_percent"] == "12.5" and shoes["return_shipping_fee"] == "4.95"
    assert shoes["fees_text"] == ["A restocking fee of 12.5% is deducted from your refund.",
                                  "A return shipping fee of 4.95 is deducted from your refund."]
    assert document["returns"]["categories"]["perfume"]["window_text"] == (
        "You can return items within 14 days of placing your order.")
    custom = document["returns"]["categories"]["custom"]
    assert custom["returnable"] is False and custom["window_text"] == "These items cannot be returned."
    assert custom["resolutions"] == [] and custom["fees_text"] == []
    assert document["returns"]["final_sale_categories"] == ["clearance"]
    assert document["returns"]["non_returnable_categories"] == ["underwear"]
    logistics = document["logistics"]
    assert [o["value"] for o in logistics["drop_off_options"]] == ["carrier_drop_off", "pickup", "in_store"]
    assert logistics["label_provided"] is False
    assert logistics["label_text"] == "Please arrange the return shipment yourself."
    assert logistics["processing_text"] == "We check your return within 3 days of receiving it."
    assert logistics["refund_text"] == "Your refund arrives within 21 days of approval."
    assert [c["value"] for c in document["general"]["conditions"]] == [
        "unworn_with_tags", "original_packaging", "unopened_hygiene", "proof_of_purchase"]


def test_language_falls_back_like_the_emails():
    assert policy_document(DEFAULT_POLICY, "ar-SA")["language"] == "ar"
    assert policy_document(DEFAULT_POLICY, "pt-BR", "tr-TR")["language"] == "tr"  # the merchant's default
    assert policy_document(DEFAULT_POLICY, "xx", "yy")["language"] == "en"
    assert policy_document(DEFAULT_POLICY, None)["language"] == "en"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_no_english_left(language):
    document = policy_document(full_policy(), language)
    english = texts(policy_document(full_policy(), "en"))

    assert document["language"] == language
    assert document["direction"] == ("rtl" if language == "ar" else "ltr")
    sentences = texts(document)
    assert len(sentences) == len(english) > 20
    for sentence, source in zip(sentences, english):
        assert sentence.strip() and sentence != source, (language, source)
    rest = " ".join(sentences)
    if language in NON_LATIN:
        assert re.findall(r"[A-Za-z]{3,}", rest) == []
    else:
        assert {w.lower() for w in re.findall(r"[A-Za-z]+", rest)} & ENGLISH_WORDS == set()
    # The numbers survive translation.
    shoes = document["returns"]["categories"]["shoes"]
    assert "12.5%" in shoes["fees_text"][0] and "4.95" in shoes["fees_text"][1]
    assert "21" in document["logistics"]["refund_text"]


@pytest.mark.parametrize("days,word", [(1, "дня"), (3, "дней"), (5, "дней"), (21, "дня"), (30, "дней")])
def test_russian_plurals(days, word):
    policy = DEFAULT_POLICY.model_copy(update={"default_rule": DEFAULT_POLICY.default_rule.model_copy(
        update={"window_days": days})})
    assert f"{days} {word} " in policy_document(policy, "ru")["returns"]["default"]["window_text"]


def test_arabic_plurals():
    def window(days: int) -> str:
        rule = DEFAULT_POLICY.default_rule.model_copy(update={"window_days": days})
        return policy_document(DEFAULT_POLICY.model_copy(update={"default_rule": rule}), "ar")[
            "returns"]["default"]["window_text"]

    assert "5 أيام" in window(5)
    assert "30 يومًا" in window(30)
    assert "100 يوم " in window(100)


def test_fee_amounts_are_decimal_strings():
    document = policy_document(full_policy(), "en")
    assert isinstance(document["returns"]["categories"]["shoes"]["restocking_fee_percent"], str)
    assert Decimal(document["returns"]["categories"]["shoes"]["return_shipping_fee"]) == Decimal("4.95")
