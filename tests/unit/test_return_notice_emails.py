"""Return (RMA) notice emails: one template family, the variant (the step) choosing headline and
text, in every language with a catalog.

The builders here (make_return_notice, RETURN_VARIANTS, RETURN_HEADLINES, RETURN_SUBJECTS) are also
used by test_translations.py, which renders every return variant in every language with the same
checks as the confirmation and the parcel notices.
"""
from __future__ import annotations

import html as htmllib
import re
from datetime import date
from decimal import Decimal

import pytest
from babel.dates import format_date
from babel.numbers import format_currency

from postpurchase.messaging.rendering import render_email
from postpurchase.messaging.requests import ReturnNotice

# Shared builders (and the pseudo-translation catalog) from the confirmation tests; only
# helpers are imported, so pytest does not collect those tests a second time here.
from test_rendering import (  # noqa: F401  (en_only_locale_dir is a fixture)
    ORDER_URL,
    RUSSIAN_VARIANT,
    THAI_TITLE,
    Doc,
    _pseudo_catalog,
    en_only_locale_dir,
    make_merchant,
    make_order,
    make_request,
)

RMA_ID = "R-1001-1"
LABEL_URL = "https://labels.example/returns/R-1001-1.pdf?sig=ab12&exp=1767225600"
RETURN_TRACKING = "JD014600RET"
EXCHANGE_TRACKING = "1Z999AA10123456784"
CREDIT_CODE = "GIFT-7Q4K-2M9X"
DROP_OFF_CODE = "QR-4821-7730"
REJECTION = "Worn and washed; tags removed"
RETURN_HEADLINES = {
    "requested": "Return request received",
    "approved": "Your return is approved",
    "rejected": "We can't accept this return",
    "received": "We've received your return",
    "refunded": "Your refund is on its way",
    "credit_issued": "Your store credit is ready",
    "exchange_shipped": "Your exchange is on its way",
}
RETURN_SUBJECTS = {
    "requested": "We've received your return request for order %(number)s",
    "approved": "Your return for order %(number)s is approved",
    "rejected": "We can't accept your return for order %(number)s",
    "received": "We've received your returned items from order %(number)s",
    "refunded": "Your refund for order %(number)s has been issued",
    "credit_issued": "Your store credit for order %(number)s is ready",
    "exchange_shipped": "Your exchange for order %(number)s is on its way",
}
RETURN_VARIANTS = list(RETURN_HEADLINES)
# Values that are data (the merchant's, the carrier's, ours), not text to translate.
RETURN_DATA = [RMA_ID, LABEL_URL, RETURN_TRACKING, EXCHANGE_TRACKING, CREDIT_CODE, DROP_OFF_CODE, REJECTION, "UPS"]
# language -> (the customer's locale tag, the order's currency)
LANGUAGES = {
    "en": ("en-US", "USD"),
    "id": ("id-ID", "IDR"),
    "th": ("th-TH", "THB"),
    "tr": ("tr-TR", "TRY"),
    "ar": ("ar-SA", "SAR"),
    "ru": ("ru-RU", "RUB"),
}


def make_return_notice(**overrides) -> dict:
    """Every field filled: each variant shows what applies to it. The ship-by deadline is 22:30 UTC
    on Friday 4 December, already Saturday 5 December in Istanbul."""
    notice = {
        "rma_id": RMA_ID,
        "status": "approved",
        "lines": [
            {"sku": "SILK-1", "quantity": 2, "reason": "doesnt_fit", "resolution": "refund", "accepted_quantity": 1},
            {"sku": "BOOK-2", "quantity": 1, "reason": "damaged", "resolution": "store_credit", "accepted_quantity": 1},
        ],
        "requested_at": "2026-11-25T10:00:00Z",
        "ship_by": "2026-12-04T22:30:00Z",
        "label_provided": True,
        "carrier": "dhl_express",
        "tracking_number": RETURN_TRACKING,
        "label_url": LABEL_URL,
        "drop_off_code": None,
        "drop_off_options": ["carrier_drop_off", "in_store"],
        "conditions": ["unworn_with_tags", "original_packaging"],
        "processing_days": 5,
        "refund_days": 10,
        "rejection_reason": REJECTION,
        "inspection_outcome": "partially_accepted",
        "amount": "12.50",
        "credit_code": CREDIT_CODE,
        "exchange_carrier": "ups",
        "exchange_tracking_number": EXCHANGE_TRACKING,
    }
    notice.update(overrides)
    return notice


def return_request(variant: str, *, notice: dict | None = None, **overrides):
    fields = {
        "kind": "return_update",
        "variant": variant,
        "ref": RMA_ID,
        "timezone": "Europe/Istanbul",
        "return_notice": ReturnNotice(**(notice if notice is not None else make_return_notice())),
    }
    fields.update(overrides)
    return make_request(**fields)


def render(variant: str, *, merchant=None, **kwargs):
    return render_email(return_request(variant, **kwargs), merchant or make_merchant())


def h1(markup: str) -> list[str]:
    return [htmllib.unescape(t).strip() for t in re.findall(r"<h1[^>]*>(.*?)</h1>", markup, re.S)]


def readable(markup: str) -> str:
    """The HTML's text with entities decoded (quotes come out as &#x27; otherwise)."""
    return htmllib.unescape(markup)


# --- every variant, every language -------------------------------------------------------------


def _language_checks():
    """test_translations' catalog helpers, imported late (that module imports this one)."""
    import test_translations

    return test_translations


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("variant", RETURN_VARIANTS)
def test_every_variant_renders_in_every_language(variant, language):
    checks = _language_checks()
    tag, currency = LANGUAGES[language]
    order = make_order(currency=currency)
    email = render(variant, order=order, locale=tag)

    # Subject: one line, this language's own; HTML in the language and its direction; a text part.
    assert email.subject.strip() and "\n" not in email.subject and "\r" not in email.subject
    assert "#1001" in email.subject
    rtl = language == "ar"
    assert f'<html lang="{language}" dir="{"rtl" if rtl else "ltr"}">' in email.html
    assert ('dir="rtl"' in email.html) == rtl
    assert email.text.strip() and not re.search(r"<[A-Za-z/!]", email.text)
    if language == "en":
        assert email.subject == RETURN_SUBJECTS[variant] % {"number": "#1001"}
        assert h1(email.html) == [RETURN_HEADLINES[variant]]
        assert RETURN_HEADLINES[variant] in email.text.splitlines()
        return
    assert email.subject == checks._translated(language, RETURN_SUBJECTS[variant], number="#1001")
    headline = checks._translated(language, RETURN_HEADLINES[variant])
    assert h1(email.html) == [headline] and headline in email.text.splitlines()
    assert checks._translated(language, "Hi %(name)s,", name="Ayşe") in email.text

    # No English sentence from the catalog left in what the customer reads (test_translations' way).
    visible = checks._visible(email.html)
    for part, name in ((email.subject, "subject"), (email.text, "text"), (visible, "html")):
        assert [fragment for fragment in checks.ENGLISH if fragment in part] == [], name
        rest = part
        for value in sorted(RETURN_DATA, key=len, reverse=True):
            rest = rest.replace(value, " ")
        rest = checks._without_data(rest)
        if language in checks.NON_LATIN:
            assert re.findall(r"[A-Za-z]{3,}", rest) == [], name
        else:
            assert {w.lower() for w in re.findall(r"[A-Za-z]+", rest)} & checks.ENGLISH_WORDS == set(), name


@pytest.mark.parametrize("variant", RETURN_VARIANTS)
def test_every_visible_string_comes_from_the_catalog(en_only_locale_dir, variant):
    """A pseudo-translation wraps every msgstr in ⟦ ⟧: whatever is left outside them is data."""
    _pseudo_catalog(en_only_locale_dir, "ar")
    merchant = make_merchant(name="Дом Ткани")
    data = [
        "Ayşe", "Kitap: Çağdaş Şiir", "help@dukkan.example", "https://dukkan.example", ORDER_URL,
        "https://cdn.example/logo.png", "https://cdn.example/silk.png", "DHL Express", "US$", *RETURN_DATA,
    ]  # fmt: skip

    def leftover(text: str) -> list[str]:
        text = re.sub(r"⟦.*?⟧", "", text, flags=re.S)
        for value in sorted(data, key=len, reverse=True):
            text = text.replace(value, "")
        return re.findall(r"[A-Za-z]{3,}", text)

    for notice in (make_return_notice(), make_return_notice(carrier=None, tracking_number=None, label_url=None,
                                                            drop_off_code=DROP_OFF_CODE, label_provided=False)):
        email = render(variant, notice=notice, merchant=merchant, locale="ar-SA")
        visible = "\n".join(Doc(email.html).texts + [a.get("alt") or "" for _, a in Doc(email.html).elements])
        assert leftover(visible) == [] and leftover(email.text) == [] and leftover(email.subject) == []
        assert email.subject.startswith("⟦") and email.subject.endswith("⟧")
        assert f"⟦{RETURN_HEADLINES[variant]}⟧" in readable(email.html)
    # The check has teeth: the English email leaves plenty outside ⟦ ⟧.
    english = render(variant, merchant=merchant, locale="en")
    assert {"your", "order"} <= {word.lower() for word in leftover(english.text)}


def test_every_variant_has_its_own_subject_and_headline():
    subjects = {variant: render(variant).subject for variant in RETURN_VARIANTS}
    assert len(set(subjects.values())) == len(RETURN_VARIANTS), subjects
    assert subjects["approved"] == "Your return for order #1001 is approved"


# --- requested -----------------------------------------------------------------------------------


def test_requested_lists_the_items_with_reason_and_resolution_in_words():
    email = render("requested", notice=make_return_notice(inspection_outcome=None))
    doc = Doc(email.html)
    assert len(doc.find("tr", "item-row")) == 2
    assert doc.find("img", "item-image")[0]["src"] == "https://cdn.example/silk.png"
    for part in (readable(email.html), email.text):
        assert "We've received your return request for order #1001." in part
        assert THAI_TITLE in part and RUSSIAN_VARIANT in part and "Kitap: Çağdaş Şiir" in part
        assert "Qty 2" in part and "Qty 1" in part
        assert "Reason: Doesn't fit" in part and "Reason: Damaged or defective" in part
        assert "You asked for: Refund to your original payment method" in part
        assert "You asked for: Store credit" in part
        assert "What happens next" in part and "email you with instructions" in part
        assert "View your order" in part
        assert "Accepted:" not in part and "doesnt_fit" not in part and "store_credit" not in part
    assert doc.find("a", "button-link")[0]["href"] == ORDER_URL
    assert ORDER_URL in email.text.splitlines()
    # The approval details are not part of a request acknowledgement.
    assert "Download your return label" not in email.html and RETURN_TRACKING not in email.text


def test_items_are_titled_from_the_order_by_sku_and_unknown_values_stay_readable():
    lines = [
        {"sku": "BOOK-2", "quantity": 1, "reason": "wrong_item", "resolution": "exchange"},
        {"sku": "GONE-9", "quantity": 3, "reason": "something_new", "resolution": "pixie_dust"},
    ]
    email = render("requested", notice=make_return_notice(lines=lines))
    assert THAI_TITLE not in email.text and "Kitap: Çağdaş Şiir" in email.text
    assert "- GONE-9" in email.text and "Qty 3" in email.text  # not in the order: the sku
    assert "Reason: Wrong item received" in email.text
    assert "You asked for: Exchange for another size or colour" in email.text
    assert "Reason: Other reason" in email.text  # an unknown reason
    assert "pixie_dust" not in email.text and "pixie_dust" not in email.html


# --- approved ------------------------------------------------------------------------------------


def test_ship_by_is_the_day_in_the_customers_time_zone():
    # 22:30 UTC on Friday 4 December is already Saturday 5 December in Istanbul (UTC+3).
    istanbul = render("approved")
    sentence = "Please send your items back by Saturday, December 5, 2026."
    assert sentence in istanbul.text and sentence in readable(istanbul.html)
    assert "December 4" not in istanbul.text
    utc = render("approved", timezone=None)
    assert "Please send your items back by Friday, December 4, 2026." in utc.text
    new_york = render("approved", timezone="America/New_York")
    assert "Please send your items back by Friday, December 4, 2026." in new_york.text
    # In the customer's language too (tr: "5 Aralık 2026 Cumartesi").
    turkish = render("approved", locale="tr-TR", order=make_order(currency="TRY"))
    assert format_date(date(2026, 12, 5), format="full", locale="tr_TR") in turkish.text
    no_deadline = render("approved", notice=make_return_notice(ship_by=None))
    assert "send your items back by" not in no_deadline.text


def test_approved_with_a_label_shows_carrier_tracking_and_the_download_button():
    email = render("approved", notice=make_return_notice(inspection_outcome=None))
    doc = Doc(email.html)
    [button] = doc.find("a", "button-link")
    assert button["href"] == LABEL_URL and "label-link" in button["class"]
    assert LABEL_URL.replace("&", "&amp;") in email.html and f'href="{LABEL_URL}"' not in email.html
    assert doc.find("a", "order-link")[0]["href"] == ORDER_URL
    assert "Download your return label" in email.html
    lines = email.text.splitlines()
    assert lines[lines.index("Download your return label:") + 1] == LABEL_URL
    assert "Carrier: DHL Express" in email.text and f"Tracking number: {RETURN_TRACKING}" in email.text
    assert "Print your return label and attach it to your parcel." in email.text
    assert f"Return number: {RMA_ID}" in email.text
    assert "Please pack the items listed below securely." in email.text
    assert not doc.find("p", "drop-off-code")


@pytest.mark.parametrize("label_url", [None, "javascript:alert(1)"])
def test_no_label_button_without_a_label_url(label_url):
    email = render("approved", notice=make_return_notice(label_url=label_url))
    assert "Download your return label" not in email.html and "Download your return label" not in email.text
    assert [a["href"] for a in Doc(email.html).find("a", "button-link")] == [ORDER_URL]
    assert "javascript:" not in email.html and "javascript:" not in email.text
    assert "Carrier: DHL Express" in email.text  # the carrier label is still described
    # Other steps never offer the label, whatever the notice carries.
    for variant in ("requested", "received", "refunded"):
        assert "Download your return label" not in render(variant).html


def test_drop_off_code_is_shown_prominently_when_present():
    notice = make_return_notice(carrier=None, tracking_number=None, label_url=None, drop_off_code=DROP_OFF_CODE)
    email = render("approved", notice=notice)
    [box] = re.findall(r'<p class="drop-off-code"[^>]*>(.*?)</p>', email.html, re.S)
    assert DROP_OFF_CODE in box
    assert "font-size: 22px" in re.search(r'<p class="drop-off-code"[^>]*>', email.html).group(0)
    assert f"Your drop-off code: {DROP_OFF_CODE}" in email.text
    assert "Show this code when you hand in your parcel." in email.text
    assert "Download your return label" not in email.text and "Carrier:" not in email.text
    without = render("approved")
    assert "drop-off-code" not in without.html and "Your drop-off code" not in without.text


def test_drop_off_options_and_conditions_are_the_policys_sentences():
    email = render("approved", notice=make_return_notice(processing_days=1))
    for part in (readable(email.html), email.text):
        assert "Sending your return" in part
        assert "Drop your parcel off at a carrier location" in part
        assert "Bring it back to one of our stores" in part
        assert "Book a pickup from your address" not in part
        assert "Conditions" in part
        assert "Items must be unworn and unwashed, with the original tags attached." in part
        assert "Items must be returned in their original packaging." in part
        assert "Hygiene products" not in part
        assert "We check your return within 1 day of receiving it." in part
        assert "Your refund arrives within 10 days of approval." in part
    assert len(Doc(email.html).find("li")) == 4
    # Unknown values are skipped, not shown raw; no refund asked for, no refund timing.
    lines = [{"sku": "SILK-1", "quantity": 1, "reason": "changed_mind", "resolution": "exchange"}]
    odd = render("approved", notice=make_return_notice(drop_off_options=["teleport", "pickup"], conditions=[],
                                                        lines=lines))
    assert "teleport" not in odd.text and "Book a pickup from your address" in odd.text
    assert "Conditions" not in odd.text and "refund arrives" not in odd.text
    # Without a label from the shop, the customer arranges the shipment.
    own = render("approved", notice=make_return_notice(label_provided=False, carrier=None, tracking_number=None,
                                                        label_url=None))
    assert "Please arrange the return shipment yourself." in own.text


def test_plural_forms_follow_each_language():
    def text(language: str, days: int) -> str:
        notice = make_return_notice(processing_days=days)
        return render("received", notice=notice, locale=language).text

    assert "в течение 1 дня после получения" in text("ru", 1)
    assert "в течение 3 дней после получения" in text("ru", 3)
    assert "خلال 5 أيام من استلامه" in text("ar", 5)
    assert "خلال 11 يومًا من استلامه" in text("ar", 11)
    assert "within 1 day of receiving it" in text("en", 1)
    assert "within 7 days of receiving it" in text("en", 7)


# --- rejected --------------------------------------------------------------------------------------


def test_rejection_reason_is_the_merchants_words_quoted_and_escaped():
    reason = "Worn <script>alert(1)</script> & \"washed\"\n  twice"
    email = render("rejected", notice=make_return_notice(rejection_reason=reason))
    assert "<script>" not in email.html
    [paragraph] = re.findall(r'<p class="rejection-reason"[^>]*>(.*?)</p>', email.html, re.S)
    assert "“Worn &lt;script&gt;alert(1)&lt;/script&gt; &amp; " in paragraph
    sentence = "The reason for our decision: “Worn <script>alert(1)</script> & \"washed\" twice”"
    assert htmllib.unescape(paragraph) == sentence  # quoted, whitespace tidied, otherwise the merchant's words
    assert sentence in email.text
    assert "We're sorry, but we can't accept your return request for order #1001." in email.text
    assert "please contact us at help@dukkan.example" in email.text
    assert email.html.count('href="mailto:help@dukkan.example"') == 1
    # The merchant's words are not translated: the same words in a Turkish email.
    turkish = render("rejected", locale="tr-TR", notice=make_return_notice(rejection_reason="Kullanılmış ürün"))
    assert "Kararımızın nedeni: “Kullanılmış ürün”" in turkish.text
    silent = render("rejected", notice=make_return_notice(rejection_reason="   "))
    assert "The reason for our decision" not in silent.text and 'class="rejection-reason"' not in silent.html


# --- received, refunded, credit, exchange -----------------------------------------------------------


def test_received_says_when_the_items_will_be_checked():
    email = render("received", notice=make_return_notice(inspection_outcome=None))
    for part in (readable(email.html), email.text):
        assert "We've received the items you returned from order #1001." in part
        assert "We check your return within 5 days of receiving it." in part
        assert "We'll email you again as soon as we've checked your items." in part
        assert "refund arrives" not in part and "Sending your return" not in part


@pytest.mark.parametrize(
    "locale,currency,expected",
    [
        ("en-US", "USD", "$1,234.50"),
        ("tr-TR", "TRY", "₺1.234,50"),
        ("ru-RU", "RUB", "1\xa0234,50\xa0₽"),
        ("ar-SA", "SAR", format_currency(Decimal("1234.50"), "SAR", locale="ar_SA")),
    ],
)
def test_amount_is_formatted_for_the_customers_locale(locale, currency, expected):
    assert format_currency(Decimal("1234.50"), currency, locale=locale.replace("-", "_")) == expected
    notice = make_return_notice(amount="1234.50")
    for variant in ("refunded", "credit_issued"):
        email = render(variant, notice=notice, locale=locale, order=make_order(currency=currency))
        assert expected in email.text and expected in readable(email.html), variant
    if locale != "en-US":
        assert expected != format_currency(Decimal("1234.50"), currency, locale="en")


def test_refund_says_where_the_money_goes_and_when():
    email = render("refunded", notice=make_return_notice(inspection_outcome="accepted"))
    for part in (readable(email.html), email.text):
        assert "We've issued a refund of $12.50 to your original payment method." in part
        assert "Your refund arrives within 10 days of approval." in part
        assert "couldn't accept some of the items" not in part and "Accepted:" not in part
    assert "Qty 2" in email.text
    no_amount = render("refunded", notice=make_return_notice(amount=None, inspection_outcome="accepted"))
    assert "We've issued a refund to your original payment method." in no_amount.text


def test_partially_accepted_refund_lists_accepted_quantities():
    email = render("refunded")
    doc = Doc(email.html)
    accepted = [htmllib.unescape(m) for m in re.findall(r'<span class="accepted"[^>]*>(.*?)</span>', email.html)]
    assert accepted == ["Accepted: 1 of 2", "Accepted: 1 of 1"]
    assert len(doc.find("tr", "item-row")) == 2
    assert "Accepted: 1 of 2" in email.text and "Accepted: 1 of 1" in email.text and "Qty 2" not in email.text
    sentence = "After checking your return, we couldn't accept some of the items."
    assert sentence in email.text and sentence in readable(email.html)
    assert doc.find("p", "partially-accepted")
    # A line the inspection did not report keeps its quantity.
    lines = [{"sku": "SILK-1", "quantity": 2, "reason": "damaged", "resolution": "refund", "accepted_quantity": 0},
             {"sku": "BOOK-2", "quantity": 1, "reason": "damaged", "resolution": "refund"}]
    mixed = render("refunded", notice=make_return_notice(lines=lines))
    assert "Accepted: 0 of 2" in mixed.text and "Qty 1" in mixed.text
    # In Russian: the catalog's words with the numbers.
    russian = render("refunded", locale="ru-RU", order=make_order(currency="RUB"))
    assert "Принято: 1 из 2" in russian.text and "Принято: 1 из 2" in readable(russian.html)


def test_credit_issued_shows_the_amount_and_the_code():
    email = render("credit_issued")
    assert "We've issued store credit of $12.50 for your return from order #1001." in email.text
    assert f"Your store credit code: {CREDIT_CODE}" in email.text
    assert "Enter this code at checkout to use your credit." in email.text
    [box] = re.findall(r'<p class="credit-code"[^>]*>(.*?)</p>', email.html, re.S)
    assert CREDIT_CODE in box
    no_code = render("credit_issued", notice=make_return_notice(credit_code=None, amount=None))
    assert "credit-code" not in no_code.html and "store credit code" not in no_code.text
    assert "We've issued store credit for your return from order #1001." in no_code.text


def test_exchange_shipped_shows_carrier_and_tracking_number():
    email = render("exchange_shipped")
    for part in (readable(email.html), email.text):
        assert "your exchange for order #1001 has shipped and is on its way to you" in part
        assert "UPS" in part and EXCHANGE_TRACKING in part
        assert RETURN_TRACKING not in part and "DHL Express" not in part  # the return label is history
        assert "Items in your return" not in part
    assert f"Carrier: UPS\nTracking number: {EXCHANGE_TRACKING}" in email.text
    bare = render("exchange_shipped", notice=make_return_notice(exchange_carrier=None, exchange_tracking_number=None))
    assert "Tracking number" not in bare.text and "Carrier" not in bare.text


# --- escaping and the contract -------------------------------------------------------------------------


def test_html_escapes_return_data():
    notice = make_return_notice(
        rma_id="R<1>",
        drop_off_code="<b>CODE</b>",
        credit_code='"><img src=x>',
        carrier=None,
        tracking_number=None,
        label_url=None,
        exchange_carrier="<i>Evil</i> Post",
    )
    approved = render("approved", notice=notice)
    assert "<b>CODE</b>" not in approved.html and "&lt;b&gt;CODE&lt;/b&gt;" in approved.html
    assert "R&lt;1&gt;" in approved.html and "Return number: R<1>" in approved.text
    assert "<img src=x" not in render("credit_issued", notice=notice).html
    assert "<i>Evil" not in render("exchange_shipped", notice=notice).html


def test_a_return_update_needs_its_return_notice():
    request = make_request(kind="return_update", variant="approved", ref=RMA_ID)
    with pytest.raises(ValueError, match="return_notice"):
        render_email(request, make_merchant())


def test_message_key_is_one_per_rma_and_step():
    assert return_request("refunded").message_key == f"return_refunded#{RMA_ID}"
