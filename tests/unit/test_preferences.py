"""What a customer turned off, and the language they chose, applied to an email request."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from postpurchase.messaging.preferences import MARKETING_KINDS, Preferences, updated, with_preferences

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


class Request:
    def __init__(self, kind: str, locale: str | None = "tr-TR") -> None:
        self.kind, self.locale = kind, locale

    def model_copy(self, update: dict) -> "Request":
        return Request(self.kind, update.get("locale", self.locale))


@pytest.mark.parametrize("kind", ["order_confirmation", "shipment_notice", "return_update"])
def test_transactional_email_is_never_turned_off(kind):
    off = Preferences(unsubscribed=frozenset(MARKETING_KINDS), all_marketing_off=True)
    assert off.allows(kind) and with_preferences(Request(kind), off) is not None


def test_a_kind_turned_off_is_not_sent_and_the_others_are():
    choice = updated(Preferences(), subscribed={"birthday_offer"}, all_off=False, language=None,
                     source="preferences_page", now=NOW)
    assert with_preferences(Request("review_request"), choice) is None
    assert with_preferences(Request("birthday_offer"), choice) is not None
    assert (choice.updated_at, choice.source) == (NOW, "preferences_page")


def test_all_marketing_off_wins_over_a_ticked_kind():
    choice = updated(Preferences(), subscribed=set(MARKETING_KINDS), all_off=True, language=None,
                     source="preferences_page", now=NOW)
    assert all(with_preferences(Request(kind), choice) is None for kind in MARKETING_KINDS)


def test_the_chosen_language_replaces_the_order_locale_and_none_keeps_it():
    assert with_preferences(Request("shipment_notice"), Preferences(language="ar")).locale == "ar"
    assert with_preferences(Request("shipment_notice"), Preferences()).locale == "tr-TR"
    assert with_preferences(Request("shipment_notice"), None).locale == "tr-TR"
