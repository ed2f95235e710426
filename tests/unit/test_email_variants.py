"""Every new customer email (confirmation variants reassuring / enticing / recommendations, review
request and reminder, birthday, anniversary, win-back, points, each campaign occasion) in all six
languages: right language and direction, nothing left in English, money and dates by Babel in the
customer's locale and time zone, a plain-text part, escaped customer data, and the marketing
footer (unsubscribe + preferences) on marketing mail only, with the RFC 8058 headers."""
from __future__ import annotations

import html as htmllib
import re
from datetime import date, datetime, timezone
from email import message_from_bytes
from email.policy import default

import pytest
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from postpurchase.messaging.mime import build_mime
from postpurchase.messaging.rendering import render_email

from email_gallery import (
    LANGUAGES,
    NAUGHTY_TITLE,
    NEW_CASES,
    PREFERENCES_URL,
    RATING_URL,
    SHARE_URL,
    SHOP_URL,
    UNSUBSCRIBE_URL,
    make_merchant,
    request_for,
)
from test_rendering import ORDER_URL, Doc
from test_translations import ENGLISH, ENGLISH_WORDS, TRANSLATIONS

NON_LATIN = {"th", "ar", "ru"}
MARKETING = {"review_request", "review_reminder", "birthday_offer", "anniversary", "win_back", "points_expiring",
             "campaign"}
# What may legitimately stay in Latin script: the customer's, merchant's and catalog's own data.
DATA = [
    NAUGHTY_TITLE, 'Mug <script>alert("x")</script> & Co', "Kahve Fincanı", "Kitap: Çağdaş Şiir", "Ayşe Y", "Ayşe",
    "Dükkan", "THANKS-7Q2", "AYSE-42", "help@dukkan.example", "https://dukkan.example", ORDER_URL, UNSUBSCRIBE_URL,
    PREFERENCES_URL, RATING_URL, SHARE_URL, SHOP_URL, "https://cdn.example", "#1001", "US$",
]  # fmt: skip


def _translated(language: str, msgid: str, **values: str) -> str:
    if language == "en":
        return msgid % values
    return TRANSLATIONS[language][msgid].string % values


def _visible(markup: str) -> str:
    doc = Doc(markup)
    return "\n".join(doc.texts + [attrs.get("alt") or "" for _, attrs in doc.elements]
                     + [attrs.get("aria-label") or "" for _, attrs in doc.elements])


def _without_data(text: str) -> str:
    text = re.sub(r"https?://\S+", " ", text)  # links (ours, with their query strings)
    for value in sorted(DATA, key=len, reverse=True):
        text = text.replace(value, " ")
    return text


def _render(language: str, kind: str, variant: str, **overrides):
    return render_email(request_for(language, kind, variant, **overrides), make_merchant())


HEADLINES = {
    ("order_confirmation", "reassuring"): "Thank you for your order!",
    ("order_confirmation", "enticing"): "Thank you for your order!",
    ("order_confirmation", "recommendations"): "Thank you for your order!",
    ("review_request", "-"): "How was your order?",
    ("review_reminder", "-"): "We'd still love your opinion",
    ("birthday_offer", "-"): "Happy birthday, %(name)s!",
    ("anniversary", "-"): "One year with %(shop)s: thank you!",
    ("win_back", "-"): "We miss you at %(shop)s",
    ("points_expiring", "-"): "Your points expire soon",
    ("campaign", "valentines_day"): "Happy Valentine's Day from %(shop)s",
    ("campaign", "mothers_day"): "Celebrate Mother's Day with %(shop)s",
    ("campaign", "black_friday"): "Black Friday at %(shop)s",
    ("campaign", "new_year"): "Happy New Year from %(shop)s",
    ("campaign", "ramadan"): "Ramadan Kareem from %(shop)s",
    ("campaign", "seasonal_sale"): "The %(shop)s seasonal sale is on",
}


@pytest.mark.parametrize("kind,variant", NEW_CASES, ids=[f"{k}-{v}" for k, v in NEW_CASES])
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_new_email_in_every_language(language, kind, variant):
    tag, currency = LANGUAGES[language]
    fmt = tag.replace("-", "_")
    email = _render(language, kind, variant)
    html = htmllib.unescape(email.html)
    visible = _visible(email.html)
    doc = Doc(email.html)

    # Language and direction (Arabic mirrored: cells aligned right).
    rtl = language == "ar"
    assert f'<html lang="{language}" dir="{"rtl" if rtl else "ltr"}">' in email.html
    start = "right" if rtl else "left"
    content = doc.find("td", "content")[0]
    assert content["align"] == start and f"text-align: {start}" in content["style"]

    # Subject: one line; headline from this language's catalog, in the HTML and the text part.
    assert email.subject and "\n" not in email.subject
    headline = _translated(language, HEADLINES[(kind, variant)], shop="Dükkan", name="Ayşe")
    assert [htmllib.unescape(t).strip() for t in re.findall(r"<h1[^>]*>(.*?)</h1>", email.html, re.S)] == [headline]
    assert headline in email.text.splitlines()
    assert len(email.text.strip().splitlines()) > 5

    # Nothing left in English outside the customer's and merchant's own data.
    if language != "en":
        for part, name in ((email.subject, "subject"), (email.text, "text"), (visible, "html")):
            assert [fragment for fragment in ENGLISH if fragment in part] == [], name
            rest = _without_data(part)
            if language in NON_LATIN:
                assert re.findall(r"[A-Za-z]{3,}", rest) == [], (name, rest)
            else:
                assert {w.lower() for w in re.findall(r"[A-Za-z]+", rest)} & ENGLISH_WORDS == set(), name

    # Every image has alt text; every link is http(s).
    for tag_name, attrs in doc.elements:
        if tag_name == "img":
            assert attrs.get("alt"), attrs
        if tag_name == "a" and attrs.get("href"):
            assert attrs["href"].startswith(("https://", "http://", "mailto:")), attrs

    # Money and dates by Babel for the customer's locale; the expiry is the day in their zone.
    def money(amount: str) -> str:
        return format_currency(amount, currency, locale=fmt)

    expected = []
    if kind in ("order_confirmation",) and variant == "enticing" or kind in ("birthday_offer", "anniversary",
                                                                            "win_back", "campaign"):
        expected += [money("1500"), format_date(date(2027, 1, 1), format="long", locale=fmt), "THANKS-7Q2"]
    if variant == "enticing":
        expected += ["AYSE-42", money("100")]
        assert SHARE_URL in email.html and SHARE_URL in email.text
    if variant == "recommendations" or kind in ("birthday_offer", "anniversary", "win_back"):
        expected.append(money("1234.50"))
        assert _translated(language, "You may also like") in visible
    if kind == "points_expiring":
        expected += [format_decimal(1200, locale=fmt), format_decimal(3400, locale=fmt),
                     format_date(date(2026, 12, 15), format="long", locale=fmt)]
    if variant == "reassuring":
        expected.append(_translated(language, "What happens next"))
        assert _translated(language, "Track your order") in visible and ORDER_URL in html
    for value in expected:
        assert value in html, value
        assert value in email.text, value
    if language != "en" and expected and kind != "points_expiring" and variant != "reassuring":
        assert money("1500") != format_currency("1500", currency, locale="en")

    # Customer data is escaped in HTML and verbatim in the text part.
    assert not [name for name, _ in doc.elements if name == "script"]  # (css_inline keeps "<" inside alt="")
    if kind in ("review_request", "review_reminder") or variant == "recommendations" or kind in (
            "birthday_offer", "anniversary", "win_back"):
        assert "Mug &lt;script&gt;" in email.html and NAUGHTY_TITLE in email.text

    # Marketing: visible unsubscribe and preferences links; transactional: neither.
    if kind in MARKETING:
        assert f'href="{UNSUBSCRIBE_URL}"' in email.html and f'href="{PREFERENCES_URL}"' in email.html
        assert _translated(language, "Unsubscribe") in visible
        assert UNSUBSCRIBE_URL in email.text and PREFERENCES_URL in email.text
    else:
        assert UNSUBSCRIBE_URL not in email.html and UNSUBSCRIBE_URL not in email.text

    # Review requests: five one-tap ratings per item, each with an accessible label, plus "tell us more".
    if kind in ("review_request", "review_reminder"):
        links = [attrs for name, attrs in doc.elements if name == "a" and "rating-link" in (attrs.get("class") or "")]
        assert [a["href"] for a in links] == [f"{RATING_URL}?rating={n}" for n in (1, 2, 3, 4, 5)] * 2
        labels = [a["aria-label"] for a in links[:5]]
        assert len(set(labels)) == 5 and all(labels)
        assert labels[4] == _translated(language, "%(rating)s out of 5: %(label)s",
                                        rating=format_decimal(5, locale=fmt),
                                        label=_translated(language, "Excellent"))
        assert f"{RATING_URL}?rating=3" in email.text
        assert _translated(language, "Tell us more") in visible


@pytest.mark.parametrize("kind", ["review_request", "birthday_offer", "campaign"])
def test_marketing_without_links_renders_no_link_and_does_not_crash(kind):
    variant = "black_friday" if kind == "campaign" else "-"
    email = _render("tr", kind, variant, unsubscribe_url=None, preferences_url=None)
    assert "unsubscribe" not in email.html and "preferences" not in email.html
    assert _translated("tr", "Unsubscribe") not in email.text

    only_prefs = _render("tr", kind, variant, unsubscribe_url=None)
    assert f'href="{PREFERENCES_URL}"' in only_prefs.html and "unsubscribe" not in only_prefs.html


def test_a_javascript_unsubscribe_link_never_reaches_an_href():
    email = _render("en", "win_back", "-", unsubscribe_url="javascript:alert(1)")
    assert "javascript:" not in email.html and "javascript:" not in email.text


def test_customer_name_is_escaped_in_the_birthday_headline_and_verbatim_in_the_subject():
    email = _render("en", "birthday_offer", "-", customer={"email": "a@example.com", "first_name": "<b>Al</b> & Co"})
    assert "<b>Al</b>" not in email.html and "&lt;b&gt;Al&lt;/b&gt; &amp; Co" in email.html
    assert email.subject == "Happy birthday, <b>Al</b> & Co!"


def test_birthday_without_a_name_or_an_offer_still_reads_well():
    email = _render("ru", "birthday_offer", "-", customer={"email": "a@example.com"}, offer=None, products=[])
    assert email.subject == _translated("ru", "Happy birthday!")
    assert _translated("ru", "Hello,") in email.text and "THANKS" not in email.text


def _mime(request, email) -> object:
    raw = build_mime(request, make_merchant(), subject=email.subject, html=email.html, text=email.text,
                     now=datetime(2026, 11, 20, tzinfo=timezone.utc))
    return message_from_bytes(raw, policy=default)


@pytest.mark.parametrize("kind,variant", [("review_request", "-"), ("win_back", "-"), ("campaign", "new_year")])
def test_marketing_mail_has_one_click_unsubscribe_headers(kind, variant):
    request = request_for("ar", kind, variant)
    message = _mime(request, render_email(request, make_merchant()))
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE_URL}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None


def test_marketing_mail_without_an_unsubscribe_url_has_no_header():
    request = request_for("en", "anniversary", "-", unsubscribe_url=None)
    message = _mime(request, render_email(request, make_merchant()))
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None


@pytest.mark.parametrize("kind,variant", [("order_confirmation", "enticing"), ("shipment_notice", "shipped"),
                                          ("return_update", "approved")])
def test_transactional_mail_never_has_unsubscribe_headers(kind, variant):
    request = request_for("en", kind, variant, unsubscribe_url=UNSUBSCRIBE_URL)  # even when set by mistake
    email = render_email(request, make_merchant())
    message = _mime(request, email)
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    assert UNSUBSCRIBE_URL not in email.html


def test_amount_offer_and_percent_offer_are_worded_apart():
    percent = _render("tr", "birthday_offer", "-")
    amount = _render("tr", "win_back", "-")  # the gallery's win-back carries an amount coupon
    assert _translated("tr", "%(percent)s off your next order", percent="%15") in percent.text
    assert _translated("tr", "%(amount)s off your next order",
                       amount=format_currency(250, "TRY", locale="tr_TR")) in amount.text


def test_enticing_with_only_a_referral_shows_no_coupon_block():
    email = _render("id", "order_confirmation", "enticing", offer=None)
    assert "THANKS-7Q2" not in email.html and "AYSE-42" in email.html
    assert _translated("id", "A thank-you gift for your next order") not in email.text
