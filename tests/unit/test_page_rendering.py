"""The customer's pages (order, lookup, preferences, error) rendered in all six languages.

Pages are built straight from the page models (postpurchase.pages.model) and rendered with
postpurchase.pages.rendering. For every language: lang/dir, the CSP-nonce'd style and no script,
a label for every form control, the hidden token/csrf_token/lang in every form, money and times
by Babel in the customer's locale and time zone, the delay notice, escaped merchant text, form
errors in words with aria-invalid, and no English sentence left in the other languages. Every
rendered page is written to ``test-artifacts/pages/<lang>-<page>.html`` (gitignored) for a
person or a browser test to look at.
"""
from __future__ import annotations

import gettext
import html as htmllib
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from postpurchase.messaging import catalogs
from postpurchase.pages import model
from postpurchase.pages.rendering import (
    LANGUAGE_NAMES,
    render_error_page,
    render_lookup_page,
    render_order_page,
    render_preferences_page,
)
from postpurchase.returns.rma import RmaStatus
from postpurchase.tracking.model import TrackingStatus

# Shared helpers only (importing test functions would collect them a second time here).
from test_rendering import _pseudo_catalog, en_only_locale_dir  # noqa: F401  (a fixture)

# language -> (the customer's locale tag, the order's currency)
LANGUAGES = {
    "en": ("en-GB", "GBP"),
    "id": ("id-ID", "IDR"),
    "th": ("th-TH", "THB"),
    "tr": ("tr-TR", "TRY"),
    "ar": ("ar-SA", "SAR"),
    "ru": ("ru-RU", "RUB"),
}
NON_LATIN = {"th", "ar", "ru"}
PAGES = ["order", "lookup", "preferences", "error"]
NONCE = "n0nce-Zm9vYmFy_42"
TOKEN = "v1.o-9f2.1767225600.c2lnbmF0dXJl"
CSRF = "csrf-7Q4K2M9X"
CUSTOMER = "c-77"
ISTANBUL = ZoneInfo("Europe/Istanbul")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"

SHOP = "Dükkan"
NUMBER = "#1001"
THAI_TITLE = "ผ้าไหมไทย ทอมือ"
RUSSIAN_VARIANT = "Красный / M"
BOOK = "Kitap: Çağdaş Şiir"
REJECTION = '<script>alert("x")</script> Worn & washed'
DESCRIPTION = "Shipment arrived at facility"
DROP_OFF_CODE = "QR-4821-7730"
LABEL_URL = "https://labels.example/returns/R-1001-2.pdf?sig=ab12&exp=1"
TRACKING_URL = "https://track.example/JD014600?lang=tr&x=1"

# Customer, merchant and carrier data that may legitimately be in Latin script (or English).
DATA = [
    SHOP, NUMBER, THAI_TITLE, RUSSIAN_VARIANT, BOOK, "Ayşe Yılmaz", "ayse@example.com", "help@dukkan.example",
    "https://dukkan.example", "Bağdat Cd. 12", "İstanbul 34710", "DHL Express", "Royal Mail", "JD014600", "RM123",
    "R-1001-1", "R-1001-2", DROP_OFF_CODE, "Leipzig, DE", DESCRIPTION, 'alert("x")', "Worn & washed", "script",
    *LANGUAGE_NAMES.values(),
]  # fmt: skip
# ("email" is Indonesian too: the existing catalog writes it so.)
ENGLISH_WORDS = {"your", "you", "the", "and", "with", "order", "parcel", "delivery", "track", "view", "hello",
                 "thank", "return", "returns", "item", "items", "refund", "please"}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


# --- catalogs -------------------------------------------------------------------------------------


def _read(path: Path):
    with path.open("rb") as fp:
        return read_po(fp)


CATALOGS = {
    language: _read(catalogs.LOCALE_DIR / language / "LC_MESSAGES" / f"{catalogs.DOMAIN}.po") for language in LANGUAGES
}


def _t(language: str, msgid: str, **values: str) -> str:
    """The catalog's text for ``msgid`` (singular form), with placeholders filled."""
    message = CATALOGS[language].get(msgid)
    assert message is not None, msgid
    string = message.string[0] if isinstance(message.string, tuple) else message.string
    return string % values if values else string


def _plural(language: str, msgid: str, count: int, **values: str) -> str:
    catalog = CATALOGS[language]
    message = catalog.get(msgid)
    return message.string[gettext.c2py(catalog.plural_expr)(count)] % values


def _english_fragments() -> set[str]:
    """Every stretch of English catalog text longer than 12 characters between placeholders."""
    fragments = set()
    for message in CATALOGS["en"]:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            for piece in PLACEHOLDER.split(string)[::2]:
                piece = piece.strip(" ,.:!?“”()")
                if len(piece) > 12:
                    fragments.add(piece)
    assert "Skip to main content" in fragments and "Cancel this return" in fragments
    return fragments


ENGLISH = _english_fragments()


# --- builders -------------------------------------------------------------------------------------


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def make_context(language: str = "en", **overrides) -> model.PageContext:
    tag, _ = LANGUAGES.get(language, ("en-GB", "GBP"))
    fields = {
        "shop": model.Shop(merchant_id="m-1", name=SHOP, logo_url="https://cdn.example/logo.png",
                           brand_color="#a3195b", support_email="help@dukkan.example",
                           website_url="https://dukkan.example"),
        "language": language,
        "locale": tag,
        "timezone": "Europe/Istanbul",
        "languages": list(LANGUAGES),
        "now": utc(2026, 11, 25, 9, 0),
        "token": TOKEN,
        "csrf_token": CSRF,
    }
    fields.update(overrides)
    return model.PageContext(**fields)


SILK = model.Item(sku="SILK-1", title=THAI_TITLE, variant_title=RUSSIAN_VARIANT, image_url="https://cdn.example/silk.png",
                  product_url="https://dukkan.example/products/silk", quantity=2, unit_price=Decimal("12.50"),
                  line_total=Decimal("25.00"))
BOOK_ITEM = model.Item(sku="BOOK-2", title=BOOK, quantity=1, unit_price=Decimal("5.00"), line_total=Decimal("5.00"))
ERRORS = {"items.SILK-1": "too_many", "reason": "required", "resolution": "not_allowed", "comment": "invalid"}


def make_parcel(**overrides) -> model.Parcel:
    fields = {
        "shipment_id": "s-77",
        "carrier": "dhl_express",
        "tracking_number": "JD014600",
        "tracking_url": TRACKING_URL,
        "status": "in_transit",
        "eta": utc(2026, 11, 26),
        "original_eta": utc(2026, 11, 24),
        "is_late": True,
        # newest first; 22:05 UTC on the 22nd is 01:05 on the 23rd in Istanbul
        "timeline": [
            model.TimelineStep(at=utc(2026, 11, 22, 22, 5), status="in_transit", place="Leipzig, DE",
                               description=DESCRIPTION),
            model.TimelineStep(at=utc(2026, 11, 21, 8, 0), status="info_received"),
        ],
        "items": [SILK],
    }
    fields.update(overrides)
    return model.Parcel(**fields)


def make_returns() -> list[model.ExistingReturn]:
    cancellable = model.ExistingReturn(
        rma_id="R-1001-2", status="approved", requested_at=utc(2026, 11, 23, 21, 0),
        lines=[model.ReturnLine(sku="SILK-1", title=THAI_TITLE, quantity=1, reason="doesnt_fit", resolution="refund")],
        history=[model.ReturnStep(status="requested", at=utc(2026, 11, 23, 21, 0), by="customer"),
                 model.ReturnStep(status="approved", at=utc(2026, 11, 23, 21, 1), by="system")],
        ship_by=utc(2026, 12, 4, 22, 30), carrier="royal_mail", tracking_number="RM123", label_url=LABEL_URL,
        drop_off_code=DROP_OFF_CODE, can_cancel=True,
    )
    refunded = model.ExistingReturn(
        rma_id="R-1001-1", status="resolved", requested_at=utc(2026, 11, 22, 10, 0),
        lines=[model.ReturnLine(sku="SILK-1", title=THAI_TITLE, quantity=1, reason="damaged", resolution="refund",
                                accepted_quantity=1)],
        history=[model.ReturnStep(status="requested", at=utc(2026, 11, 22, 10, 0), by="customer"),
                 model.ReturnStep(status="rejected", at=utc(2026, 11, 22, 12, 0), by="merchant"),
                 model.ReturnStep(status="resolved", at=utc(2026, 11, 24, 10, 0), by="merchant")],
        rejection_reason=REJECTION, resolution="refund", amount=Decimal("12.50"),
    )
    return [cancellable, refunded]


def make_order_page(language: str = "en", **overrides) -> model.OrderPage:
    _, currency = LANGUAGES.get(language, ("en-GB", "GBP"))
    fields = {
        "context": make_context(language),
        "order_id": "o-9f2",
        "order_number": NUMBER,
        "placed_at": utc(2026, 11, 20, 23, 30),  # the 21st in Istanbul
        "status": "placed",
        "customer_name": "Ayşe Yılmaz",
        "email": "ayse@example.com",
        "shipping_address": model.Address(lines=["Ayşe Yılmaz", "Bağdat Cd. 12", "İstanbul 34710", "TR"]),
        "currency": currency,
        "financial_status": "paid",
        "items": [SILK, BOOK_ITEM],
        "totals": model.Totals(subtotal=Decimal("30.00"), shipping=Decimal("4.00"), tax=Decimal("2.00"),
                               discount=Decimal("3.00"), total=Decimal("33.00")),
        "parcels": [make_parcel()],
        "returnables": [
            model.Returnable(sku="SILK-1", title=THAI_TITLE, variant_title=RUSSIAN_VARIANT,
                             image_url="https://cdn.example/silk.png", returnable=True, returnable_quantity=2,
                             last_day=date(2026, 12, 20), resolutions=["refund", "store_credit"]),
            model.Returnable(sku="BOOK-2", title=BOOK, returnable=False, reason="final_sale", returnable_quantity=0,
                             resolutions=[]),
        ],
        "returns": make_returns(),
        "reasons": ["changed_mind", "damaged", "wrong_item", "doesnt_fit", "not_as_described", "other"],
        "faq": model.Faq(window_days=30, window_starts="delivery", label_provided=True,
                         drop_off_options=["carrier_drop_off", "pickup"], processing_days=3, refund_days=5,
                         conditions=["proof_of_purchase", "unworn_with_tags"], support_email="help@dukkan.example"),
        "form": model.ReturnForm(quantities={"SILK-1": 3}, resolution="exchange", comment="x", errors=ERRORS),
        "notice": "return_requested",
        "form_id": "f-123",
        "preferences_url": f"/pages/m-1/preferences?customer={CUSTOMER}&token=t0k",
    }
    fields.update(overrides)
    return model.OrderPage(**fields)


def make_lookup_page(language: str = "en", **overrides) -> model.LookupPage:
    fields = {"context": make_context(language, token=None, csrf_token=None), "order_number": NUMBER,
              "email": "ayse@example.com", "error": "not_found",
              # The message-us form with an error at a field (pages/lookup_contact.py).
              "contact": model.LookupContactForm(email="ayse.yilmaz.long-address@example.com", order_number=NUMBER,
                                                 text="", errors={"message": "required"},
                                                 form_nonce="1796601600.bm9uY2Utbm9uY2U", csrf_token=CSRF)}
    fields.update(overrides)
    return model.LookupPage(**fields)


def make_preferences_page(lang: str = "en", **overrides) -> model.PreferencesPage:
    fields = {
        "context": make_context(lang),
        "order_id": "",
        "email": "ayse@example.com",
        "kinds": [model.PreferenceKind(kind=kind, subscribed=kind != "win_back")
                  for kind in ("review_request", "birthday_offer", "anniversary", "win_back", "campaign")]
        + [model.PreferenceKind(kind="sms_blast_x", subscribed=True)],
        "unsubscribed_all": False,
        "language": "tr",
        "notice": "preferences_saved",
        "customer_id": CUSTOMER,
    }
    fields.update(overrides)
    return model.PreferencesPage(**fields)


def make_error_page(language: str = "en", error: str = "invalid_link") -> model.ErrorPage:
    return model.ErrorPage(context=make_context(language, token=None, csrf_token=None), error=error)


def render(page_name: str, language: str) -> str:
    if page_name == "order":
        return render_order_page(make_order_page(language), nonce=NONCE)
    if page_name == "lookup":
        return render_lookup_page(make_lookup_page(language), nonce=NONCE)
    if page_name == "preferences":
        return render_preferences_page(make_preferences_page(language), nonce=NONCE)
    return render_error_page(make_error_page(language), nonce=NONCE)


# --- parsing --------------------------------------------------------------------------------------


class Page(HTMLParser):
    """Elements in order (with their ids), forms and their controls, labels, visible text."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.forms: list[dict] = []
        self.label_for: set[str] = set()
        self.texts: list[str] = []
        self.text_by_id: dict[str, list[str]] = {}
        self._stack: list[tuple[str, str | None]] = []
        self._in_form = False
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if tag == "form":
            self.forms.append({"attrs": attrs, "controls": []})
            self._in_form = True
        elif tag in ("input", "select", "textarea", "button") and self._in_form:
            self.forms[-1]["controls"].append((tag, attrs))
        if tag == "label" and attrs.get("for"):
            self.label_for.add(attrs["for"])
        if tag not in ("meta", "img", "br", "input", "link", "hr"):
            self._stack.append((tag, attrs.get("id")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not data.strip() or any(tag == "style" for tag, _ in self._stack):
            return
        self.texts.append(data.strip())
        for _, element_id in self._stack:
            if element_id:
                self.text_by_id.setdefault(element_id, []).append(data.strip())

    def find(self, tag: str, **wanted: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in wanted.items())]

    def by_id(self, element_id: str) -> dict[str, str | None]:
        [found] = [a for _, a in self.elements if a.get("id") == element_id]
        return found

    def text_of(self, element_id: str) -> str:
        return " ".join(self.text_by_id.get(element_id, []))

    def visible(self) -> str:
        """What a person sees or a screen reader says: text, alt, aria-label, title, placeholder."""
        extra = [a.get(name) or "" for _, a in self.elements for name in ("alt", "aria-label", "title", "placeholder")]
        return "\n".join(self.texts + extra)


def _without_data(text: str) -> str:
    for value in sorted(DATA, key=len, reverse=True):
        text = text.replace(value, " ")
    return text


def _body(markup: str) -> str:
    """The document after its stylesheet."""
    return markup.split("</style>", 1)[1]


def _plain(markup: str) -> str:
    """The body as one line of text, tags dropped (a sentence split by <time> reads whole)."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", _body(markup))).split()).replace(" .", ".")


def _fmt(language: str) -> str:
    return LANGUAGES[language][0].replace("-", "_")


# --- every page, every language -------------------------------------------------------------------


@pytest.mark.parametrize("page_name", PAGES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_document_frame_language_direction_and_csp(language, page_name):
    markup = render(page_name, language)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{language}-{page_name}.html").write_text(markup, encoding="utf-8")

    page = Page(markup)
    assert markup.startswith("<!doctype html>\n")
    rtl = language == "ar"
    assert f'<html lang="{language}" dir="{"rtl" if rtl else "ltr"}">' in markup
    # One inline stylesheet, allowed by the nonce; no script, no style attribute, nothing external.
    assert page.find("style") == [{"nonce": NONCE}]
    assert "<script" not in markup.lower() and "javascript:" not in markup.lower()
    assert not any("style" in attrs for _, attrs in page.elements)
    assert not any(name.startswith("on") for _, attrs in page.elements for name in attrs)
    assert page.find("link") == [] and "@import" not in markup and "url(" not in markup
    assert "float: left" not in markup and "margin-left" not in markup  # logical properties mirror RTL
    # Landmarks, skip link, status area, language switcher (each link in its own language).
    for tag in ("header", "main", "footer"):
        assert len(page.find(tag)) == 1, tag
    assert page.find("main")[0]["id"] == "main"
    assert page.find("a", href="#main")
    assert page.find("div", role="status")
    nav = page.find("nav", **{"aria-label": _t(language, "Choose a language")})
    assert nav
    switch = {a["lang"]: htmllib.unescape(a["href"]) for a in page.find("a") if a.get("hreflang")}
    assert set(switch) == set(LANGUAGES)
    for code, href in switch.items():
        assert f"lang={code}" in href
        if page_name in ("order", "preferences"):
            assert f"token={TOKEN}" in href
    current = [a for a in page.find("a") if a.get("aria-current")]
    assert [a["lang"] for a in current] == [language]
    # The shop's logo named by the shop; support email in the footer.
    assert page.find("img", **{"class": "logo"})[0]["alt"] == SHOP
    support = _t(language, "Need help? Contact us at %(email)s.", email="help@dukkan.example")
    assert support in re.sub(r"<[^>]+>", "", htmllib.unescape(markup))


@pytest.mark.parametrize("page_name", PAGES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_form_control_has_a_label(language, page_name):
    page = Page(render(page_name, language))
    controls = [
        attrs
        for tag, attrs in page.elements
        if tag in ("select", "textarea") or (tag == "input" and attrs.get("type") not in ("hidden", "submit"))
    ]
    assert controls
    ids = [attrs.get("id") for _, attrs in page.elements if attrs.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for attrs in controls:
        assert attrs.get("id") in page.label_for, attrs
        assert page.text_of(attrs["id"]) or attrs.get("name"), attrs
    labels = [a["for"] for a in page.find("label") if a.get("for")]
    assert all(f in ids for f in labels)
    # Every aria-describedby points at an element of the page.
    for _, attrs in page.elements:
        for ref in (attrs.get("aria-describedby") or "").split():
            assert ref in ids, ref


@pytest.mark.parametrize("page_name", PAGES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_form_posts_back_its_hidden_fields(language, page_name):
    page = Page(render(page_name, language))
    assert page.forms
    for form in page.forms:
        assert form["attrs"]["method"] == "post"
        action = htmllib.unescape(form["attrs"]["action"])
        hidden = {a["name"]: a.get("value") for t, a in form["controls"] if t == "input" and a.get("type") == "hidden"}
        assert hidden["lang"] == language
        if action.endswith("/lookup"):
            assert action == "/pages/m-1/lookup"
            continue
        if action.endswith("/lookup/messages"):  # no link token on the lookup page: a nonce and its HMAC
            assert hidden["form_nonce"] and hidden["csrf_token"] == CSRF
            assert any(t == "button" and a.get("type") == "submit" for t, a in form["controls"])
            continue
        assert hidden["token"] == TOKEN and hidden["csrf_token"] == CSRF, action
        assert any(t == "button" and a.get("type") == "submit" for t, a in form["controls"])
    actions = [htmllib.unescape(f["attrs"]["action"]) for f in page.forms]
    if page_name == "order":
        assert actions == ["/pages/m-1/orders/o-9f2/returns", "/pages/m-1/orders/o-9f2/returns/R-1001-2/cancel",
                           "/pages/m-1/orders/o-9f2/messages"]
        [contact] = [f for f in page.forms if f["attrs"]["action"].endswith("/messages")]
        assert ("textarea", "message") in {(t, a.get("name")) for t, a in contact["controls"]}
        [return_form] = [f for f in page.forms if f["attrs"]["action"].endswith("/returns")]
        assert ("input", "form_id") in {(t, a.get("name")) for t, a in return_form["controls"]}
    elif page_name == "preferences":
        assert actions == ["/pages/m-1/preferences"]
        hidden = {a["name"]: a.get("value") for t, a in page.forms[0]["controls"] if a.get("type") == "hidden"}
        assert hidden["customer"] == CUSTOMER
    elif page_name == "lookup":
        assert actions == ["/pages/m-1/lookup", "/pages/m-1/lookup/messages"]
    else:
        assert actions == ["/pages/m-1/lookup"]


@pytest.mark.parametrize("page_name", PAGES)
@pytest.mark.parametrize("language", [language for language in LANGUAGES if language != "en"])
def test_no_english_left_in_other_languages(language, page_name):
    page = Page(render(page_name, language))
    visible = page.visible()
    left = [fragment for fragment in ENGLISH if fragment in visible]
    assert left == []
    rest = _without_data(visible)
    if language in NON_LATIN:
        assert re.findall(r"[A-Za-z]{3,}", rest) == []
    else:
        words = {w.lower() for w in re.findall(r"[A-Za-z]+", rest)}
        assert words & ENGLISH_WORDS == set()


# --- the order page -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_money_and_times_in_the_customers_locale_and_zone(language):
    _, currency = LANGUAGES[language]
    fmt = _fmt(language)
    text = htmllib.unescape(render_order_page(make_order_page(language), nonce=NONCE))

    def money(amount: str) -> str:
        return format_currency(Decimal(amount), currency, locale=fmt)

    for amount in ("12.50", "25.00", "5.00", "30.00", "4.00", "2.00", "-3.00", "33.00"):
        assert money(amount) in text, amount
    if language != "en":
        assert money("12.50") != format_currency(Decimal("12.50"), currency, locale="en")
    assert _t(language, "Qty %(quantity)s × %(price)s", quantity=format_decimal(2, locale=fmt),
              price=money("12.50")) in text
    assert _t(language, "We've issued a refund of %(amount)s to your original payment method.",
              amount=money("12.50")) in text

    # Placed 23:30 UTC on the 20th: the 21st in Istanbul, and never the UTC date.
    placed = format_date(date(2026, 11, 21), format="long", locale=fmt)
    assert _t(language, "Placed on %(date)s", date=placed) in re.sub(r"<[^>]+>", "", text)
    assert format_date(date(2026, 11, 20), format="long", locale=fmt) not in text
    # A scan at 22:05 UTC on the 22nd: 01:05 on the 23rd in Istanbul.
    scan = utc(2026, 11, 22, 22, 5).astimezone(ISTANBUL)
    assert format_date(scan, format="long", locale=fmt) in text
    assert format_time(scan, format="short", locale=fmt) in text
    assert '<time datetime="2026-11-23T01:05:00+03:00">' in text
    # Estimates are days; the return's ship-by deadline is the day in Istanbul (the 5th, not the 4th).
    assert format_date(date(2026, 11, 26), format="full", locale=fmt) in text
    assert format_date(date(2026, 11, 24), format="full", locale=fmt) in text
    ship_by = format_date(date(2026, 12, 5), format="full", locale=fmt)
    assert _t(language, "Please send your items back by %(date)s.", date=ship_by) in re.sub(r"<[^>]+>", "", text)
    last_day = format_date(date(2026, 12, 20), format="long", locale=fmt)
    assert _t(language, "You can return this item until %(date)s.", date=last_day) in re.sub(r"<[^>]+>", "", text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_late_parcel_has_a_clear_delay_notice(language):
    markup = render_order_page(make_order_page(language), nonce=NONCE)
    page = Page(markup)
    alerts = [a for a in page.find("div") if a.get("role") == "alert" and "late" in (a.get("class") or "")]
    assert len(alerts) == 1
    text = htmllib.unescape(re.sub(r"<[^>]+>", "", markup))
    assert _t(language, "This parcel is running late.") in text
    eta = format_date(date(2026, 11, 26), format="full", locale=_fmt(language))
    assert _t(language, "The carrier now expects to deliver it on %(date)s.", date=eta) in text
    assert _t(language, "New estimate") in text and _t(language, "Originally expected") in text
    # Not late: no alert, and the estimate is the plain one.
    calm = make_order_page(language, parcels=[make_parcel(is_late=False, original_eta=None)])
    calm_markup = render_order_page(calm, nonce=NONCE)
    assert _t(language, "This parcel is running late.") not in calm_markup
    assert _t(language, "Estimated delivery") in htmllib.unescape(calm_markup)


@pytest.mark.parametrize("language", LANGUAGES)
def test_rejection_reason_is_quoted_and_escaped(language):
    markup = render_order_page(make_order_page(language), nonce=NONCE)
    assert "<script" not in markup
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Worn &amp; washed" in markup
    sentence = _t(language, "The reason for our decision: “%(reason)s”", reason=REJECTION)
    assert sentence in htmllib.unescape(markup)


@pytest.mark.parametrize("language", LANGUAGES)
def test_form_errors_are_sentences_next_to_their_fields(language):
    markup = render_order_page(make_order_page(language), nonce=NONCE)
    page = Page(markup)
    expected = {
        "qty-1": _t(language, "You can return at most %(num)s of this item.", num=format_decimal(2, locale=_fmt(language))),
        "return-reason": _t(language, "Please fill in this field."),
        "return-resolution": _t(language, "This option isn't available for the items you chose."),
        "return-comment": _t(language, "Please check what you entered here."),
    }
    summary = page.text_of("error-summary")
    assert _t(language, "Please check your return request") in summary
    for control, sentence in expected.items():
        attrs = page.by_id(control)
        assert attrs.get("aria-invalid") == "true", control
        described = " ".join(page.text_of(ref) for ref in attrs["aria-describedby"].split())
        assert sentence in described, control
        assert sentence in summary, control
        assert page.find("a", href=f"#{control}"), control
    assert page.by_id("error-summary")["role"] == "alert"
    # What the customer entered is kept.
    assert page.by_id("qty-1")["value"] == "3" and page.by_id("qty-1")["max"] == "2"
    assert page.by_id("qty-1")["name"] == "qty.SILK-1"
    assert "BOOK-2" not in [a.get("name", "")[4:] for a in page.find("input")]


ERROR_SENTENCES = {
    "required": "Please fill in this field.",
    "no_items": "Please choose at least one item to return.",
    "too_many": "You asked to return more items than you can.",
    "not_returnable": "This item can't be returned.",
    "invalid": "Please check what you entered here.",
    "window_closed": "The return window for this item has closed.",
    "already_returned": "This item has already been returned.",
    "not_allowed": "This option isn't available for the items you chose.",
}


@pytest.mark.parametrize("code", ERROR_SENTENCES)
def test_every_error_code_has_its_sentence(code):
    """The API's refusals come back on "items" (the items as a whole): every code has words."""
    page_model = make_order_page("ru", form=model.ReturnForm(quantities={"SILK-1": 1}, errors={"items": code}))
    page = Page(render_order_page(page_model, nonce=NONCE))
    sentence = _t("ru", ERROR_SENTENCES[code])
    assert sentence in page.text_of("return-items-error")
    assert sentence in page.text_of("error-summary")
    assert page.by_id("return-items")["aria-describedby"] == "return-items-error"
    assert page.by_id("qty-1")["aria-invalid"] == "true"
    assert "return-items-error" in page.by_id("qty-1")["aria-describedby"]
    assert len(set(ERROR_SENTENCES.values())) == len(ERROR_SENTENCES)


def test_no_errors_no_summary_and_no_aria_invalid():
    markup = _body(render_order_page(make_order_page(form=model.ReturnForm()), nonce=NONCE))
    assert "aria-invalid" not in markup and "error-summary" not in markup


def test_a_refused_cancel_is_said_with_the_returns():
    page_model = make_order_page(form=model.ReturnForm(errors={"cancel": "not_allowed"}))
    markup = _body(render_order_page(page_model, nonce=NONCE))
    assert "This return can no longer be cancelled." in markup
    assert "error-summary" not in markup


def test_the_form_is_hidden_when_nothing_can_be_returned():
    returnables = [model.Returnable(sku="SILK-1", title=THAI_TITLE, returnable=False, reason="window_closed",
                                    returnable_quantity=0, last_day=date(2026, 11, 1), resolutions=[]),
                   model.Returnable(sku="BOOK-2", title=BOOK, returnable=False, reason="not_yet_shipped",
                                    returnable_quantity=0, resolutions=[])]
    markup = render_order_page(make_order_page(returnables=returnables, returns=[], form=model.ReturnForm()),
                               nonce=NONCE)
    # Only the message-us form is left.
    assert [f["attrs"]["action"] for f in Page(markup).forms] == ["/pages/m-1/orders/o-9f2/messages"]
    visible = _plain(markup)
    assert "The return window for this item closed on 1 November 2026." in visible
    assert "This item hasn't shipped yet, so it can't be returned yet." in visible
    assert "Request a return" not in visible


@pytest.mark.parametrize("reason,sentence", [
    ("window_closed", "The return window for this item has closed."),
    ("final_sale", "This item was sold as final sale and can't be returned."),
    ("non_returnable", "This item can't be returned."),
    ("already_returned", "This item has already been returned."),
    ("not_yet_shipped", "This item hasn't shipped yet, so it can't be returned yet."),
    ("something_new", "This item can't be returned."),
])
def test_every_ineligibility_reason_has_its_sentence(reason, sentence):
    blocked = model.Returnable(sku="BOOK-2", title=BOOK, returnable=False, reason=reason, returnable_quantity=0,
                               resolutions=[])
    page_model = make_order_page(returnables=[make_order_page().returnables[0], blocked], form=model.ReturnForm())
    visible = Page(render_order_page(page_model, nonce=NONCE)).visible()
    assert sentence in visible
    assert reason not in visible


def test_select_options_are_words_in_the_pages_order():
    page = Page(render_order_page(make_order_page(form=model.ReturnForm()), nonce=NONCE))
    markup = render_order_page(make_order_page(form=model.ReturnForm(reason="damaged", resolution="store_credit")),
                               nonce=NONCE)
    reasons = [a["value"] for a in page.find("option") if a.get("value") in make_order_page().reasons]
    assert reasons == make_order_page().reasons
    for words in ("Changed my mind", "Damaged or defective", "Wrong item received", "Doesn't fit",
                  "Not as described", "Other reason", "Refund to your original payment method", "Store credit"):
        assert f">{words}</option>" in markup, words
    # Only the resolutions the returnable items offer; the customer's choices stay selected.
    assert "Exchange for another size or colour" not in markup
    assert '<option value="damaged" selected>' in markup and '<option value="store_credit" selected>' in markup


def test_every_tracking_status_and_return_status_is_in_words():
    parcels = [make_parcel(shipment_id=f"s-{status.value}", status=status.value, is_late=False, original_eta=None,
                           timeline=[model.TimelineStep(at=utc(2026, 11, 22), status=status.value)])
               for status in TrackingStatus]
    returns = [make_returns()[0].model_copy(update={"rma_id": f"R-{i}", "status": status.value, "can_cancel": False,
                                                    "history": [model.ReturnStep(status=status.value, at=utc(2026, 11, 24),
                                                                                 by=by)]})
               for i, (status, by) in enumerate(zip(RmaStatus, ["customer", "merchant", "carrier", "system"] * 3))]
    for language in LANGUAGES:
        page = Page(render_order_page(make_order_page(language, parcels=parcels, returns=returns), nonce=NONCE))
        statuses = [page.text_of(p["id"]) for p in page.find("article") if (p.get("id") or "").startswith("parcel-")]
        assert len(statuses) == len(TrackingStatus)
        visible = page.visible()
        raw = set(visible.split()) if language != "en" else set()  # English words may equal a value
        assert raw.isdisjoint(status.value for status in TrackingStatus)
        words = {page.text_of(f"return-R-{i}") for i in range(len(RmaStatus))}
        assert len(words) == len(RmaStatus)  # a different status line for each
        assert raw.isdisjoint(status.value for status in RmaStatus)
        for actor in ("By you", "By the shop", "By the carrier", "Automatically"):
            assert _t(language, actor) in visible
    english = render_order_page(make_order_page(parcels=parcels, returns=returns), nonce=NONCE)
    for words in ("Waiting for the carrier", "Label created", "In transit", "Out for delivery", "Ready for pickup",
                  "Delivered", "Delivery attempt failed", "Delivery problem", "Returning to the sender",
                  "Returned to the sender", "No longer tracked", "Requested", "Approved", "Not accepted",
                  "Return label ready", "On its way back to us", "Received", "Checked", "Completed", "Closed",
                  "Cancelled", "Expired"):
        assert f">{words}<" in english, words


def test_existing_returns_show_what_the_customer_needs():
    page = Page(render_order_page(make_order_page(), nonce=NONCE))
    cancellable = page.text_of("return-R-1001-2")
    assert "Return R-1001-2" in cancellable and "Approved" in cancellable
    assert DROP_OFF_CODE in cancellable and "Show this code when you hand in your parcel." in cancellable
    assert "Royal Mail" in cancellable and "RM123" in cancellable
    assert "Reason: Doesn't fit" in cancellable and "You asked for: Refund to your original payment method" in cancellable
    assert LABEL_URL in [htmllib.unescape(a["href"]) for a in page.find("a")]
    assert "Cancel this return" in cancellable
    resolved = page.text_of("return-R-1001-1")
    assert "Completed" in resolved and "Accepted: 1 of 1" in resolved and "Not accepted" in resolved
    assert "Cancel this return" not in resolved
    assert "By you" in resolved and "By the shop" in resolved


def test_tracking_number_links_to_the_carrier_and_items_link_to_products():
    page = Page(render_order_page(make_order_page(), nonce=NONCE))
    hrefs = [htmllib.unescape(a["href"]) for a in page.find("a")]
    assert TRACKING_URL in hrefs and "https://dukkan.example/products/silk" in hrefs
    assert f"/pages/m-1/preferences?customer={CUSTOMER}&token=t0k" in hrefs
    images = page.find("img", **{"class": "thumb"})
    assert {a["alt"] for a in images} == {THAI_TITLE}


def test_unsafe_urls_and_colours_never_reach_the_page():
    context = make_context(shop=model.Shop(merchant_id="m-1", name=SHOP, logo_url="javascript:alert(1)",
                                           brand_color="red;} body{display:none", website_url="data:text/html,x"))
    silk = SILK.model_copy(update={"product_url": "javascript:alert(1)", "image_url": "http://cdn.example/a.png"})
    page_model = make_order_page(context=context, items=[silk],
                                 parcels=[make_parcel(tracking_url="javascript:alert(2)")],
                                 preferences_url="//evil.example/x")
    markup = render_order_page(page_model, nonce=NONCE)
    assert "javascript:" not in markup and "data:text" not in markup and "evil.example" not in markup
    assert "http://cdn.example" not in markup  # images only over https (the CSP's img-src)
    assert "display:none" not in markup and "--brand: #1f6feb" in markup
    # The shop's name stands in for a missing logo.
    assert f'<span class="brand">{SHOP}</span>' in markup


@pytest.mark.parametrize("brand,text", [("#ffeb3b", "#111111"), ("#0b3d91", "#ffffff"), ("#FC0", "#111111")])
def test_text_on_the_brand_colour_is_black_or_white(brand, text):
    context = make_context(shop=model.Shop(merchant_id="m-1", name=SHOP, brand_color=brand))
    markup = render_lookup_page(make_lookup_page(context=context), nonce=NONCE)
    assert f"--on-brand: {text};" in markup
    # Links keep readable contrast on white: a light brand colour is not used for them.
    assert ("--link: #1f2328;" in markup) == (text == "#111111")


@pytest.mark.parametrize("nonce", ["", "short", 'x" onload="y', "a b c d e f g h"])
def test_a_bad_nonce_is_refused(nonce):
    with pytest.raises(ValueError):
        render_lookup_page(make_lookup_page(), nonce=nonce)


def test_no_parcels_yet_says_not_shipped_and_cancelled_is_clear():
    markup = _plain(render_order_page(make_order_page(parcels=[]), nonce=NONCE))
    not_shipped = "Your order hasn't shipped yet. We'll email you as soon as it's on its way."
    assert markup.count(not_shipped) == 2  # the tracking section and the FAQ answer
    cancelled = Page(render_order_page(make_order_page(parcels=[], status="cancelled"), nonce=NONCE))
    assert "This order has been cancelled." in cancelled.visible()
    assert cancelled.find("div", **{"class": "banner banner-cancelled"})
    assert "Cancelled" in cancelled.visible() and "Confirmed" not in cancelled.visible()
    assert not cancelled.find("section", id="tracking")


@pytest.mark.parametrize("language", LANGUAGES)
def test_faq_answers_from_the_policy_with_its_own_sentences(language):
    fmt = _fmt(language)
    text = htmllib.unescape(re.sub(r"<[^>]+>", "", render_order_page(make_order_page(language), nonce=NONCE)))
    expected = [
        _plural(language, "You can return items within %(num)s day of delivery.", 30,
                num=format_decimal(30, locale=fmt)),
        _t(language, "We provide a prepaid return label."),
        _t(language, "Drop your parcel off at a carrier location"),
        _t(language, "Book a pickup from your address"),
        _t(language, "Please include proof of purchase, such as your order number."),
        _plural(language, "We check your return within %(num)s day of receiving it.", 3,
                num=format_decimal(3, locale=fmt)),
        _plural(language, "Your refund arrives within %(num)s day of approval.", 5, num=format_decimal(5, locale=fmt)),
        _t(language, "Questions about your order? Contact us at %(email)s.", email="help@dukkan.example"),
        _t(language, "Your order %(number)s is taking longer than expected to reach you.", number=NUMBER),
    ]
    for sentence in expected:
        assert sentence in text, sentence
    for question in ("Where is my order?", "How do I return an item?", "How long do refunds take?"):
        assert _t(language, question) in text


@pytest.mark.parametrize("starts,sentence", [
    ("fulfilment", "You can return items within 1 day of dispatch."),
    ("order", "You can return items within 1 day of placing your order."),
])
def test_faq_window_counts_from_where_the_policy_says(starts, sentence):
    faq = make_order_page().faq.model_copy(update={"window_days": 1, "window_starts": starts})
    assert sentence in render_order_page(make_order_page(faq=faq), nonce=NONCE)
    closed = make_order_page().faq.model_copy(update={"window_days": 0})
    assert "This shop does not accept returns." in render_order_page(make_order_page(faq=closed), nonce=NONCE)


# --- lookup, preferences, error --------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_lookup_not_found_is_one_message_whichever_field_was_wrong(language):
    page = Page(render_lookup_page(make_lookup_page(language), nonce=NONCE))
    message = page.text_of("lookup-error")
    assert message == _t(language, "We couldn't find an order matching these details.")
    for control in ("lookup-order-number", "lookup-email"):
        attrs = page.by_id(control)
        assert attrs["aria-invalid"] == "true" and attrs["aria-describedby"] == "lookup-error"
    assert page.by_id("lookup-order-number")["value"] == NUMBER
    assert page.by_id("lookup-email")["value"] == "ayse@example.com"
    english = _t("en", "We couldn't find an order matching these details.").lower()
    assert "email" not in english and "number" not in english


@pytest.mark.parametrize("error,msgid", [
    ("too_many_attempts", "You've tried too many times. Please wait a few minutes and try again."),
    ("invalid_link", "This link is invalid or has expired. You can look up your order below."),
    ("expired_link", "This link is invalid or has expired. You can look up your order below."),
])
@pytest.mark.parametrize("language", LANGUAGES)
def test_lookup_errors(language, error, msgid):
    page = Page(render_lookup_page(make_lookup_page(language, error=error), nonce=NONCE))
    assert page.text_of("lookup-error") == _t(language, msgid)
    assert page.by_id("lookup-error")["role"] == "alert"
    assert "aria-invalid" not in page.by_id("lookup-email")


def test_lookup_without_error_has_no_alert():
    empty_contact = model.LookupContactForm(form_nonce="1796601600.bm9uY2Utbm9uY2U", csrf_token=CSRF)
    markup = _body(render_lookup_page(make_lookup_page(error=None, order_number="", email="", contact=empty_contact),
                                      nonce=NONCE))
    assert 'role="alert"' not in markup and "aria-invalid" not in markup


@pytest.mark.parametrize("language", LANGUAGES)
def test_preferences_show_known_kinds_only(language):
    markup = render_preferences_page(make_preferences_page(language), nonce=NONCE)
    page = Page(markup)
    assert "sms_blast_x" not in markup
    boxes = {a["name"]: "checked" in a for a in page.find("input", type="checkbox")}
    assert boxes == {"kind.review_request": True, "kind.birthday_offer": True, "kind.anniversary": True,
                     "kind.win_back": False, "kind.campaign": True, "all": False}
    visible = page.visible()
    for words in ("Requests to review what you bought", "Birthday offers", "Anniversary offers",
                  "We-miss-you offers", "News and special offers", "Unsubscribe from all marketing email",
                  "We'll always email you about your orders, deliveries and returns.",
                  "Your email preferences have been saved."):
        assert _t(language, words) in visible, words
    options = {a["value"]: ("selected" in a, a["lang"]) for a in page.find("option")}
    assert options == {code: (code == "tr", code) for code in LANGUAGES}
    names = [text for text in page.texts if text in LANGUAGE_NAMES.values()]
    assert set(LANGUAGE_NAMES.values()) <= set(names)


def test_preferences_all_off_and_no_chosen_language():
    page_model = make_preferences_page("ru", unsubscribed_all=True, language=None, notice=None)
    page = Page(render_preferences_page(page_model, nonce=NONCE))
    assert "checked" in page.by_id("all-marketing")
    assert [a["value"] for a in page.find("option") if "selected" in a] == ["ru"]


@pytest.mark.parametrize("error", ["not_found", "invalid_link", "bad_request", "server_error", "anything_else"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_error_pages_are_friendly(language, error):
    markup = render_error_page(make_error_page(language, error), nonce=NONCE)
    page = Page(markup)
    sentences = {
        "not_found": "We couldn't find the page you were looking for. You can look up your order below.",
        "invalid_link": "This link is invalid or has expired. You can look up your order below.",
        "bad_request": "Something in your request wasn't quite right. Please go back and try again.",
        "server_error": "We're sorry, something went wrong on our side. Please try again in a few minutes.",
    }
    assert _t(language, sentences.get(error, sentences["server_error"])) in page.visible()
    assert len(page.find("h1")) == 1
    assert bool(page.forms) == (error in ("not_found", "invalid_link"))
    assert error not in page.visible() and "Traceback" not in markup


# --- every string goes through the catalogs ---------------------------------------------------------


def test_every_visible_string_comes_from_the_catalog(en_only_locale_dir):  # noqa: F811
    """A pseudo-translation (every msgstr wrapped in ⟦ ⟧) leaves nothing outside the catalog."""
    _pseudo_catalog(en_only_locale_dir, "ar")
    pages = {
        "order": render_order_page(make_order_page("ar"), nonce=NONCE),
        "order-none": render_order_page(make_order_page("ar", parcels=[], form=model.ReturnForm(errors={"items": "no_items"})),
                                        nonce=NONCE),
        "lookup": render_lookup_page(make_lookup_page("ar"), nonce=NONCE),
        "preferences": render_preferences_page(make_preferences_page("ar"), nonce=NONCE),
        "error": render_error_page(make_error_page("ar", "not_found"), nonce=NONCE),
    }
    for name, markup in pages.items():
        assert '<html lang="ar" dir="rtl">' in markup, name
        visible = re.sub(r"⟦.*?⟧", "", Page(markup).visible(), flags=re.S)
        left = re.findall(r"[A-Za-z]{3,}", _without_data(visible))
        assert left == [], (name, left)
    # The check has teeth: English text is full of words outside ⟦ ⟧.
    english = Page(render_order_page(make_order_page("en"), nonce=NONCE)).visible()
    assert {"Order", "Tracking", "Returns"} <= set(re.findall(r"[A-Za-z]{3,}", _without_data(english)))
