"""The console's settings forms and messages labels (pure): a form becomes the API's own body,
refusals name the form's input, what is not on a form is kept, secrets are masked; ledger keys
name their kind; SES feedback carries the message id and kind tag the messages view shows."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from postpurchase.console import settings as forms
from postpurchase.errors import InvalidInput
from postpurchase.messaging.requests import MerchantBranding
from postpurchase.messaging.settings import MessagingSettings, QuietHours
from postpurchase.returns.policy import DEFAULT_POLICY

BRANDING = MerchantBranding(merchant_id="m", name="Shop", from_email="orders@shop.example")
LANGUAGES = ("en", "id", "th", "tr", "ar", "ru")
EVENTS = Path(__file__).resolve().parents[2] / "events"


def messaging_form(**changes: str) -> dict[str, str]:
    return {**forms.messaging_values(MessagingSettings(), BRANDING), **changes}


def test_the_messaging_form_round_trips_and_keeps_what_it_does_not_show() -> None:
    stored = MessagingSettings(win_back_days=120, quiet_hours=QuietHours(start_hour=20, end_hour=8))
    values = forms.messaging_values(stored, BRANDING)
    settings, branding = forms.messaging_from_form({**values, "quiet_hours.end_hour": "7", "name": " New name ",
                                                    "default_locale": "ar"}, stored, BRANDING, LANGUAGES)
    assert settings.quiet_hours == QuietHours(start_hour=20, end_hour=7) and settings.win_back_days == 120
    assert branding.name == "New name" and branding.default_locale == "ar" and branding.from_email == BRANDING.from_email


@pytest.mark.parametrize("field, value", [("quiet_hours.start_hour", "24"), ("quiet_hours.end_hour", "-1"),
                                          ("frequency_cap.max_messages", "0"), ("frequency_cap.per_days", "7.5"),
                                          ("name", "  "), ("default_locale", "fr")])
def test_a_bad_messaging_value_names_its_input(field: str, value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        forms.messaging_from_form(messaging_form(**{field: value}), MessagingSettings(), BRANDING, LANGUAGES)
    assert refused.value.field == field


def test_the_policy_form_is_the_api_body_with_the_category_rules_kept() -> None:
    values = forms.policy_values(DEFAULT_POLICY)
    values.pop("default_rule.resolutions.exchange", None)
    body = forms.policy_from_form({**values, "default_rule.window_days": "14", "final_sale_categories": "a, b,,a"},
                                  DEFAULT_POLICY)
    assert body["default_rule"]["window_days"] == 14 and "exchange" not in body["default_rule"]["resolutions"]
    assert body["final_sale_categories"] == ["a", "b"] and body["categories"] == DEFAULT_POLICY.model_dump(
        mode="json")["categories"]
    assert "version" not in body and "effective_from" not in body
    assert body["default_rule"]["auto_approve"] == DEFAULT_POLICY.default_rule.auto_approve


def test_the_loyalty_form_keeps_tiers_and_an_empty_expiry_means_never() -> None:
    from postpurchase.rewards.loyalty import LoyaltySettings

    document = LoyaltySettings().model_dump(mode="json")
    shown = forms.loyalty_values(document)
    assert shown["enabled"] == "on"
    del shown["enabled"]  # an unchecked box is not posted
    saved = forms.loyalty_from_form({**shown, "expiry_months": "", "review_bonus": "5"}, document)
    assert saved.expiry_months is None and saved.review_bonus == 5 and saved.enabled is False  # box unchecked
    assert [t.model_dump(mode="json") for t in saved.tiers] == document["tiers"]
    with pytest.raises(InvalidInput) as refused:
        forms.loyalty_from_form({**forms.loyalty_values(document), "point_value": "0"}, document)
    assert refused.value.field == "point_value"


def test_a_secret_is_never_shown_whole() -> None:
    secret = "whsec_" + "x" * 36 + "WXYZ"
    shown = forms.masked(secret)
    assert shown.endswith("WXYZ") and secret not in shown and len(shown) < 16
    assert forms.masked("short") == "…" and forms.masked(None) is None


@pytest.mark.parametrize("key, kind", [("order_confirmation#1001", "order_confirmation"),
                                       ("shipment_delivered#S-1", "shipment_notice"),
                                       ("return_approved#R-1", "return_update"), ("birthday_offer#2027", "birthday_offer")])
def test_a_ledger_key_names_its_kind(key: str, kind: str) -> None:
    from postpurchase.messaging.requests import kind_of

    assert kind_of(key) == kind


def test_feedback_carries_the_message_id_and_kind_tag() -> None:
    from postpurchase.messaging.feedback import suppressions

    note = json.loads((EVENTS / "ses" / "bounce_notification.json").read_text(encoding="utf-8"))
    [found] = suppressions(json.dumps(note))
    assert found.message_id == note["mail"]["messageId"] and found.kind == "order_confirmation"
    note["mail"]["tags"]["kind"] = [7]
    note["mail"].pop("messageId")
    [found] = suppressions(json.dumps(note))
    assert found.message_id is None and found.kind is None
