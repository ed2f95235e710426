"""The customer emails in Indonesian, Thai, Turkish, Arabic and Russian.

Each catalog is complete and keeps every placeholder; every email (confirmation plain and
welcome, every parcel-notice and return-notice variant) renders in that language, with the right
direction, no English sentence left over, and money and dates formatted by Babel for the customer's
locale. Every rendered HTML is written to ``test-artifacts/emails/<lang>-<kind>-<variant>.html``
(gitignored) for a person or a browser test to look at.
"""
from __future__ import annotations

import html as htmllib
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from postpurchase.messaging import catalogs
from postpurchase.messaging.rendering import render_email
from postpurchase.messaging.requests import ReturnNotice, ShipmentNotice

# Shared builders only (importing test functions would collect them a second time).
from test_rendering import ORDER_URL, Doc, make_merchant, make_order, make_request
from test_return_notice_emails import (
    RETURN_DATA,
    RETURN_HEADLINES,
    RETURN_SUBJECTS,
    RETURN_VARIANTS,
    make_return_notice,
)
from test_shipment_notices import TRACKING_URL, VARIANTS, make_shipment

# language -> (the customer's locale tag, the order's currency)
LANGUAGES = {
    "id": ("id-ID", "IDR"),
    "th": ("th-TH", "THB"),
    "tr": ("tr-TR", "TRY"),
    "ar": ("ar-SA", "SAR"),
    "ru": ("ru-RU", "RUB"),
}
NON_LATIN = {"th", "ar", "ru"}
CASES = [("order_confirmation", "plain"), ("order_confirmation", "welcome")] + [
    ("shipment_notice", variant) for variant in VARIANTS
] + [("return_update", variant) for variant in RETURN_VARIANTS]
HEADLINES = {
    "shipped": "Your order is on its way",
    "out_for_delivery": "Arriving today",
    "delivered": "Delivered",
    "delayed": "Your parcel is running late",
    "attempt_failed": "We missed you",
    "ready_for_pickup": "Ready for pickup",
    "exception": "There's a problem with your delivery",
    "returned_to_sender": "Your parcel is going back to the sender",
    **RETURN_HEADLINES,
}
SUBJECTS = {
    "plain": "Your order %(number)s is confirmed",
    "welcome": "Welcome to %(shop)s! Your order %(number)s is confirmed",
    "shipped": "Your order %(number)s is on its way",
    "out_for_delivery": "Your order %(number)s is arriving today",
    "delivered": "Your order %(number)s has been delivered",
    "delayed": "Your order %(number)s is running late",
    "attempt_failed": "We missed you: delivery of your order %(number)s was attempted",
    "ready_for_pickup": "Your order %(number)s is ready for pickup",
    "exception": "There's a problem with the delivery of your order %(number)s",
    "returned_to_sender": "Your order %(number)s is going back to the sender",
    "update": "An update on the delivery of your order %(number)s",
    **RETURN_SUBJECTS,
}
SHOP = "Dükkan"
NUMBER = "#1001"
ISTANBUL = ZoneInfo("Europe/Istanbul")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "emails"

# Customer, merchant and carrier data that may legitimately be in Latin script (or English).
DATA = [
    "Ayşe Y", "Ayşe", "Kitap: Çağdaş Şiir", "help@dukkan.example", "https://dukkan.example", ORDER_URL,
    TRACKING_URL, "https://cdn.example/logo.png", "https://cdn.example/silk.png", "DHL Express", "JD014600",
    "Shipment arrived at facility", "Leipzig, DE", SHOP, NUMBER, *RETURN_DATA,
]  # fmt: skip
ENGLISH_WORDS = {"your", "you", "the", "and", "with", "order", "parcel", "delivery", "track", "view", "hello", "thank"}


def _read(path: Path):
    with path.open("rb") as fp:
        return read_po(fp)


def _po_path(language: str) -> Path:
    return catalogs.LOCALE_DIR / language / "LC_MESSAGES" / f"{catalogs.DOMAIN}.po"


POT = _read(catalogs.POT_PATH)
TRANSLATIONS = {language: _read(_po_path(language)) for language in LANGUAGES}


def _strings(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _translated(language: str, msgid: str, **values: str) -> str:
    return TRANSLATIONS[language][msgid].string % values


def _english_fragments() -> set[str]:
    """Every stretch of English catalog text longer than 12 characters between placeholders."""
    english = _read(_po_path(catalogs.SOURCE_LANGUAGE))
    fragments = set()
    for message in english:
        if not message.id:
            continue
        for string in _strings(message):
            for piece in PLACEHOLDER.split(string)[::2]:  # literal text, placeholders dropped
                piece = piece.strip(" ,.:!?“”")
                if len(piece) > 12:
                    fragments.add(piece)
    assert "Track your parcel" in fragments and "is confirmed" not in fragments
    return fragments


ENGLISH = _english_fragments()


# --- catalogs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete_and_keeps_every_placeholder(language):
    catalog = TRANSLATIONS[language]
    assert str(catalog.locale) == language
    assert not catalog.fuzzy
    expected = {m.id if isinstance(m.id, str) else m.id[0]: m for m in POT if m.id}
    found = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    assert set(expected) - set(found) == set(), "run pybabel update"
    assert set(found) - set(expected) == set(), "stale entries: run pybabel update --ignore-obsolete"
    for key, template in expected.items():
        message = found[key]
        assert not message.fuzzy, key
        strings = _strings(message)
        if template.pluralizable:
            assert message.pluralizable and len(strings) == catalog.num_plurals, key
            wanted = set(PLACEHOLDER.findall(template.id[0])) | set(PLACEHOLDER.findall(template.id[1]))
        else:
            wanted = set(PLACEHOLDER.findall(template.id))
        for string in strings:
            assert string.strip(), f"empty msgstr for {key!r}"
            assert set(PLACEHOLDER.findall(string)) == wanted, (key, string)
            # No stray % (a lone "%" would break python-format interpolation).
            assert string.count("%") == len(PLACEHOLDER.findall(string)), (key, string)
            # The same HTML tags as the msgid (none today), and no English sentence copied over.
            assert sorted(re.findall(r"</?\w+", string)) == sorted(re.findall(r"</?\w+", key)), key
            assert not any(fragment in string for fragment in ENGLISH), (key, string)
    assert [(m.id, errors) for m, errors in catalog.check()] == []


# --- rendering -----------------------------------------------------------------------------------


def _request(language: str, kind: str, variant: str):
    tag, currency = LANGUAGES[language]
    order = make_order(currency=currency, totals={"discount": "3.00", "total": "33.00"})
    if kind == "order_confirmation":
        return make_request(order=order, variant=variant, locale=tag)
    if kind == "return_update":
        return make_request(
            order=order,
            kind="return_update",
            variant=variant,
            ref="R-1001-1",
            locale=tag,
            timezone="Europe/Istanbul",
            return_notice=ReturnNotice(**make_return_notice()),
        )
    return make_request(
        order=order,
        kind="shipment_notice",
        variant=variant,
        ref="s-77",
        locale=tag,
        timezone="Europe/Istanbul",
        shipment=ShipmentNotice(**make_shipment()),
    )


def _visible(markup: str) -> str:
    doc = Doc(markup)
    return "\n".join(doc.texts + [attrs.get("alt") or "" for _, attrs in doc.elements])


def _without_data(text: str) -> str:
    for value in sorted(DATA, key=len, reverse=True):
        text = text.replace(value, " ")
    return text


@pytest.mark.parametrize("kind,variant", CASES, ids=[f"{k}-{v}" for k, v in CASES])
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_email_renders_in_the_customers_language(language, kind, variant):
    tag, currency = LANGUAGES[language]
    fmt = tag.replace("-", "_")
    email = render_email(_request(language, kind, variant), make_merchant())

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{language}-{kind}-{variant}.html").write_text(email.html, encoding="utf-8")

    html = htmllib.unescape(email.html)
    doc = Doc(email.html)
    visible = _visible(email.html)

    # Language and direction: the document, the header and content cells, the columns.
    rtl = language == "ar"
    start, end = ("right", "left") if rtl else ("left", "right")
    assert f'<html lang="{language}" dir="{"rtl" if rtl else "ltr"}">' in email.html
    for cls in ("header", "content"):
        cell = doc.find("td", cls)[0]
        assert f"text-align: {start}" in cell["style"] and cell["align"] == start, cls
    for label in doc.find("td", "totals-label"):
        assert f"text-align: {start}" in label["style"]
    for value in doc.find("td", "totals-value"):
        assert f"text-align: {end}" in value["style"] and value["align"] == end

    # Subject and headline straight from this language's catalog.
    subject_id = SUBJECTS[variant]
    assert email.subject == _translated(language, subject_id, shop=SHOP, number=NUMBER)
    assert NUMBER in email.subject and "\n" not in email.subject
    assert f"<title>{htmllib.escape(email.subject, quote=False)}</title>" in email.html
    if kind == "order_confirmation":
        headline_id = "Welcome to %(shop)s!" if variant == "welcome" else "Thank you for your order!"
    else:
        headline_id = HEADLINES[variant]
    headline = _translated(language, headline_id, shop=SHOP)
    assert [htmllib.unescape(t).strip() for t in re.findall(r"<h1[^>]*>(.*?)</h1>", email.html, re.S)] == [headline]
    assert headline in email.text.splitlines()
    greeting = _translated(language, "Hi %(name)s,", name="Ayşe")
    assert greeting in html and greeting in email.text
    footer = _translated(language, "You are receiving this email because you placed an order with %(shop)s.", shop=SHOP)
    assert footer in html and footer in email.text
    assert _translated(language, "View your order") in visible

    # No English sentence from the catalog in what the customer reads.
    for part, name in ((email.subject, "subject"), (email.text, "text"), (visible, "html")):
        left = [fragment for fragment in ENGLISH if fragment in part]
        assert left == [], (name, left)
    for part, name in ((email.subject, "subject"), (email.text, "text"), (visible, "html")):
        rest = _without_data(part)
        if language in NON_LATIN:
            assert re.findall(r"[A-Za-z]{3,}", rest) == [], name
        else:
            words = {w.lower() for w in re.findall(r"[A-Za-z]+", rest)}
            assert words & ENGLISH_WORDS == set(), name

    # Money and dates by Babel in the customer's locale (the text's language and region).
    def money(amount: str) -> str:
        return format_currency(Decimal(amount), currency, locale=fmt)

    if kind == "order_confirmation":
        placed = datetime(2026, 11, 20, 23, 30, tzinfo=timezone.utc).date()  # no zone: UTC
        expected = [
            format_date(placed, format="long", locale=fmt),
            money("12.50"), money("25.00"), money("5.00"), money("30.00"), money("4.00"),
            money("2.00"), money("-3.00"), money("33.00"),
        ]  # fmt: skip
        assert money("12.50") != format_currency(Decimal("12.50"), currency, locale="en")
        assert _translated(language, "Qty %(quantity)s × %(price)s", quantity=format_decimal(2, locale=fmt), price=money("12.50")) in html
    elif kind == "return_update":
        expected = []
        if variant in ("refunded", "credit_issued"):
            expected.append(money("12.50"))
            assert money("12.50") != format_currency(Decimal("12.50"), currency, locale="en")
        elif variant == "approved":  # 22:30 UTC on 4 December: the 5th in Istanbul
            expected.append(format_date(date(2026, 12, 5), format="full", locale=fmt))
    else:
        scan = datetime(2026, 11, 22, 13, 5, tzinfo=timezone.utc).astimezone(ISTANBUL)
        expected = [format_date(scan, format="long", locale=fmt), format_time(scan, format="short", locale=fmt)]
        if variant == "shipped":
            expected.append(format_date(date(2026, 11, 26), format="full", locale=fmt))
        elif variant == "delayed":
            expected.append(format_date(date(2026, 11, 24), format="full", locale=fmt))
            expected.append(format_date(date(2026, 11, 26), format="full", locale=fmt))
        elif variant == "delivered":
            delivered = datetime(2026, 11, 23, 21, 30, tzinfo=timezone.utc).astimezone(ISTANBUL)
            sentence = _translated(
                language,
                "Your order %(number)s was delivered on %(date)s at %(time)s.",
                number=NUMBER,
                date=format_date(delivered, format="long", locale=fmt),
                time=format_time(delivered, format="short", locale=fmt),
            )
            expected.append(sentence)
        assert format_date(scan, format="long", locale=fmt) != format_date(scan, format="long", locale="en")
    for value in expected:
        assert value in html, value
        assert value in email.text, value


def test_artifacts_folder_is_gitignored():
    gitignore = Path(__file__).resolve().parents[2] / ".gitignore"
    assert "test-artifacts/" in gitignore.read_text(encoding="utf-8").split()
