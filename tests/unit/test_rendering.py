"""Order-confirmation rendering: content, escaping, formatting, locales, catalogs."""
from __future__ import annotations

import html as htmllib
import re
import shutil
from datetime import datetime, timezone
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel import Locale
from babel.dates import format_date
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_currency

from postpurchase.messaging import catalogs, rendering
from postpurchase.messaging.rendering import RenderedEmail, formatting_locale, render_email, text_direction
from postpurchase.messaging.requests import EmailRequest, MerchantBranding

ORDER_URL = "https://shop.example/orders/1001?token=abc&utm_source=email"
THAI_TITLE = "ผ้าไหมไทย ทอมือ"
RUSSIAN_VARIANT = "Красный / M"
ARABIC_NAME = "أحمد علي"
ARABIC_STREET = "شارع الملك فهد ١٢"
ARABIC_CITY = "الرياض"


def make_order(**overrides) -> dict:
    order = {
        "order_id": "o-9f2",
        "order_number": "#1001",
        "placed_at": "2026-11-20T23:30:00Z",
        "currency": "USD",
        "customer": {"email": "ayse@example.com", "first_name": "Ayşe", "last_name": "Yılmaz"},
        "items": [
            {
                "sku": "SILK-1",
                "title": THAI_TITLE,
                "variant_title": RUSSIAN_VARIANT,
                "quantity": 2,
                "price": "12.50",
                "image_url": "https://cdn.example/silk.png",
            },
            {"sku": "BOOK-2", "title": "Kitap: Çağdaş Şiir", "quantity": 1, "price": "5.00"},
        ],
        "shipping_address": {
            "name": ARABIC_NAME,
            "address1": ARABIC_STREET,
            "address2": "الطابق ٣",
            "city": ARABIC_CITY,
            "province": "منطقة الرياض",
            "zip": "12345",
            "country_code": "SA",
        },
        "totals": {"subtotal": "30.00", "shipping": "4.00", "tax": "2.00", "discount": "0", "total": "36.00"},
    }
    for key, value in overrides.items():
        if key in ("customer", "totals") and isinstance(value, dict):
            order[key] = {**order[key], **value}
        else:
            order[key] = value
    return order


def make_request(*, order: dict | None = None, **overrides) -> EmailRequest:
    fields = {
        "kind": "order_confirmation",
        "variant": "plain",
        "merchant_id": "m-1",
        "ref": "o-9f2",
        "recipient": "ayse@example.com",
        "locale": "en",
        "timezone": None,
        "order": order or make_order(),
        "order_page_url": ORDER_URL,
        "requested_at": datetime(2026, 11, 20, 23, 31, tzinfo=timezone.utc),
    }
    fields.update(overrides)
    return EmailRequest(**fields)


def make_merchant(**overrides) -> MerchantBranding:
    fields = {
        "merchant_id": "m-1",
        "name": "Dükkan",
        "from_email": "orders@dukkan.example",
        "support_email": "help@dukkan.example",
        "logo_url": "https://cdn.example/logo.png",
        "brand_color": "#a3195b",
        "website_url": "https://dukkan.example",
    }
    fields.update(overrides)
    return MerchantBranding(**fields)


class Doc(HTMLParser):
    """Elements (tag, attrs) in document order and the visible text chunks."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self._stack: list[str] = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag not in ("meta", "img", "br", "link"):
            self._stack.append(tag)

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop() == tag:
                break

    def handle_data(self, data):
        if data.strip() and "style" not in self._stack:
            self.texts.append(data.strip())

    def find(self, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        return [
            attrs
            for name, attrs in self.elements
            if name == tag and (cls is None or cls in (attrs.get("class") or "").split())
        ]


def _text_of_class(markup: str, cls: str) -> str:
    match = re.search(rf'<[a-z0-9]+ class="{cls}"[^>]*>(.*?)</(p|div|td|h1)>', markup, re.S)
    assert match, cls
    return htmllib.unescape(re.sub(r"<[^>]+>", "\n", match.group(1)))


@pytest.fixture
def en_only_locale_dir(tmp_path, monkeypatch) -> Path:
    """A locale dir with only the English catalog (as today), whatever is added later."""
    root = tmp_path / "locale"
    (root / "en" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(catalogs.LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po", root / "en" / "LC_MESSAGES")
    monkeypatch.setattr(rendering, "LOCALE_DIR", root)
    return root


def _pseudo_catalog(root: Path, language: str) -> Path:
    """A catalog for ``language`` whose every msgstr is its msgid wrapped in ⟦ ⟧."""
    with catalogs.POT_PATH.open("rb") as fp:
        catalog = read_po(fp, locale=language.split("_")[0])
    catalog.fuzzy = False
    for message in catalog:
        if not message.id:
            continue
        if message.pluralizable:
            message.string = tuple(f"⟦{message.id[min(i, 1)]}⟧" for i in range(catalog.num_plurals))
        else:
            message.string = f"⟦{message.id}⟧"
    path = root / language / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fp:
        write_po(fp, catalog)
    return path


# --- content ---------------------------------------------------------------------------------


def test_returns_subject_html_text():
    email = render_email(make_request(), make_merchant())
    assert isinstance(email, RenderedEmail)
    assert "#1001" in email.subject
    assert "\n" not in email.subject
    assert email.html.lower().startswith("<!doctype html>")
    assert '<meta charset="utf-8">' in email.html
    assert 'name="viewport"' in email.html
    assert "max-width: 600px" in email.html
    assert 'role="presentation"' in email.html


def test_every_customer_fact_in_html_and_text():
    email = render_email(make_request(), make_merchant())
    doc = Doc(email.html)
    for part in (email.html, email.text):
        assert "Hi Ayşe," in part
        assert "#1001" in part
        assert "November 20, 2026" in part
        assert THAI_TITLE in part
        assert RUSSIAN_VARIANT in part
        assert ARABIC_NAME in part and ARABIC_STREET in part and ARABIC_CITY in part
        assert "Saudi Arabia" in part
        assert "$12.50" in part and "$25.00" in part and "$5.00" in part
        assert "$30.00" in part and "$4.00" in part and "$2.00" in part and "$36.00" in part
        assert "help@dukkan.example" in part
        assert "https://dukkan.example" in part
        assert "Dükkan" in part
    # Images only where given; logo instead of the shop name as text.
    assert [img["src"] for img in doc.find("img")] == [
        "https://cdn.example/logo.png",
        "https://cdn.example/silk.png",
    ]
    assert doc.find("img", "logo")[0]["alt"] == "Dükkan"
    assert doc.find("a", "button-link")[0]["href"] == ORDER_URL
    assert [a["href"] for a in doc.find("a") if (a["href"] or "").startswith("mailto:")] == [
        "mailto:help@dukkan.example"
    ]
    # The items table has a row per item with the quantity shown.
    assert len(doc.find("tr", "item-row")) == 2
    assert "Qty 2 × $12.50" in email.html and "Qty 1 × $5.00" in email.html


def test_preheader_is_hidden_and_mentions_order():
    email = render_email(make_request(), make_merchant())
    preheader = Doc(email.html).find("div", "preheader")[0]
    assert "display: none" in preheader["style"]
    assert "We've received your order #1001" in htmllib.unescape(email.html)


def test_address_country_is_a_name_in_the_language_of_the_text():
    email = render_email(make_request(), make_merchant())
    lines = [line.strip() for line in _text_of_class(email.html, "address").splitlines() if line.strip()]
    assert lines == [ARABIC_NAME, ARABIC_STREET, "الطابق ٣", f"{ARABIC_CITY}, منطقة الرياض 12345", "Saudi Arabia"]
    assert "SA" not in lines
    # A Brazilian customer reads English text (no pt catalog): the country too.
    brazilian = render_email(make_request(locale="pt-BR"), make_merchant())
    assert Locale.parse("pt").territories["SA"] not in brazilian.html
    assert "Saudi Arabia" in brazilian.html and "Saudi Arabia" in brazilian.text


def test_no_address_block_without_shipping_address():
    email = render_email(make_request(order=make_order(shipping_address=None)), make_merchant())
    assert "Shipping to" not in email.html and "Shipping to" not in email.text
    assert 'class="address"' not in email.html


def test_generic_greeting_without_first_name():
    order = make_order(customer={"first_name": None})
    email = render_email(make_request(order=order), make_merchant())
    assert "Hello," in email.html and "Hello," in email.text
    assert "Hi " not in email.text


def test_support_contact_falls_back_to_reply_to_then_from():
    reply = render_email(make_request(), make_merchant(support_email=None, reply_to="reply@dukkan.example"))
    assert 'href="mailto:reply@dukkan.example"' in reply.html and "reply@dukkan.example" in reply.text
    sender = render_email(make_request(), make_merchant(support_email=None, reply_to=None))
    assert 'href="mailto:orders@dukkan.example"' in sender.html and "orders@dukkan.example" in sender.text


def test_shop_name_without_logo_and_no_website():
    email = render_email(make_request(), make_merchant(logo_url=None, website_url=None))
    doc = Doc(email.html)
    assert not doc.find("img", "logo")
    assert "Dükkan" in doc.texts
    assert 'href="https://dukkan.example"' not in email.html
    assert "https://dukkan.example" not in email.text


def test_non_web_urls_are_not_rendered():
    order = make_order()
    order["items"][0]["image_url"] = "javascript:alert(1)"
    email = render_email(
        make_request(order=order), make_merchant(logo_url="data:image/png;base64,AAA", website_url="javascript:x")
    )
    assert "javascript:" not in email.html and "data:image" not in email.html
    assert not Doc(email.html).find("img")


# --- escaping and unicode --------------------------------------------------------------------


def test_html_escapes_customer_and_merchant_data():
    order = make_order(customer={"first_name": "<script>alert(1)</script>"})
    order["items"][1]["title"] = '<img src=x onerror="alert(2)">'
    email = render_email(make_request(order=order), make_merchant(name="A & B <Shop>"))
    assert "<script>alert" not in email.html
    assert "<img src=x" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "A &amp; B &lt;Shop&gt;" in email.html
    # The subject and the text part are plain text: no entities there.
    assert email.subject == "Your order #1001 is confirmed"
    assert "Hi <script>alert(1)</script>," in email.text
    welcome = render_email(make_request(order=order, variant="welcome"), make_merchant(name="A & B <Shop>"))
    assert "A & B <Shop>" in welcome.subject and "&amp;" not in welcome.subject


def test_subject_is_one_line_even_with_newlines_in_data():
    email = render_email(make_request(variant="welcome"), make_merchant(name="Shop\r\nBcc: x@evil.example"))
    assert "\n" not in email.subject and "\r" not in email.subject
    assert email.subject.startswith("Welcome to Shop Bcc: x@evil.example!")


def test_unicode_survives():
    order = make_order(customer={"first_name": "Ayşe"})
    email = render_email(make_request(order=order, locale="ru-RU"), make_merchant(name="Дом Ткани"))
    for part in (email.html, email.text):
        for value in ("Ayşe", THAI_TITLE, RUSSIAN_VARIANT, ARABIC_STREET, "Дом Ткани", "Kitap: Çağdaş Şiir"):
            assert value in part
    assert "Дом Ткани" in render_email(make_request(variant="welcome"), make_merchant(name="Дом Ткани")).subject


# --- CSS and the button ----------------------------------------------------------------------


def test_css_is_inlined():
    email = render_email(make_request(), make_merchant())
    doc = Doc(email.html)
    for tag in ("body", "table", "td", "p", "h1", "h2", "a"):
        found = doc.find(tag)
        assert found, tag
        assert all(attrs.get("style") for attrs in found), tag
    assert "background-color: #a3195b" in doc.find("td", "button-cell")[0]["style"]
    assert "background-color: #a3195b" in doc.find("td", "header")[0]["style"]
    # Only the @media rules stay in a <style> block (they cannot be inlined).
    styles = re.findall(r"<style[^>]*>(.*?)</style>", email.html, re.S)
    assert styles and all(s.strip().startswith("@media") for s in styles)


def test_button_text_contrasts_with_brand_color():
    dark = Doc(render_email(make_request(), make_merchant(brand_color="#1f2328")).html)
    light = Doc(render_email(make_request(), make_merchant(brand_color="#ffd33d")).html)
    assert "color: #ffffff" in dark.find("a", "button-link")[0]["style"]
    assert "color: #111111" in light.find("a", "button-link")[0]["style"]


def test_button_links_to_order_page():
    email = render_email(make_request(), make_merchant())
    assert 'href="https://shop.example/orders/1001?token=abc&amp;utm_source=email"' in email.html
    button = Doc(email.html).find("a", "button-link")
    assert len(button) == 1 and button[0]["href"] == ORDER_URL
    assert "View your order" in email.html


# --- money and dates -------------------------------------------------------------------------


def test_money_usd_and_eur_in_english():
    usd = render_email(make_request(), make_merchant())
    assert "$12.50" in usd.html and "$36.00" in usd.text
    eur = render_email(make_request(order=make_order(currency="EUR")), make_merchant())
    for part in (eur.html, eur.text):
        assert "€12.50" in part and "€30.00" in part and "€36.00" in part
        assert "$" not in part


def test_money_follows_the_text_language_with_the_customers_region():
    # English text (no pt catalog): English number format, not "12,50" inside English.
    email = render_email(make_request(locale="pt-BR", order=make_order(currency="BRL")), make_merchant())
    expected = format_currency(Decimal("12.50"), "BRL", locale="en")
    assert expected != format_currency(Decimal("12.50"), "BRL", locale="pt_BR")
    assert expected in email.html and expected in email.text
    assert "Subtotal" in email.text
    # Where CLDR knows English for the customer's region, its conventions apply (en-DE: 12,50).
    german = render_email(make_request(locale="de-DE", order=make_order(currency="EUR")), make_merchant())
    assert format_currency(Decimal("12.50"), "EUR", locale="en_DE") in german.text
    assert formatting_locale("en", "de-DE") == Locale.parse("en_DE")
    assert formatting_locale("en", "pt-BR") == Locale.parse("en")
    assert formatting_locale("ar", "ar-SA") == Locale.parse("ar_SA")


def test_discount_row_only_when_non_zero():
    none = render_email(make_request(), make_merchant())
    assert "Discount" not in none.html and "Discount" not in none.text
    assert not Doc(none.html).find("tr", "totals-discount")
    order = make_order(totals={"discount": "3.00", "total": "33.00"})
    some = render_email(make_request(order=order), make_merchant())
    assert len(Doc(some.html).find("tr", "totals-discount")) == 1
    assert "Discount: -$3.00" in some.text
    assert ">-$3.00<" in some.html


def test_placed_date_in_customer_time_zone_and_locale():
    utc = render_email(make_request(), make_merchant())
    assert "November 20, 2026" in utc.html
    istanbul = render_email(make_request(timezone="Europe/Istanbul"), make_merchant())
    assert "November 21, 2026" in istanbul.html and "November 21, 2026" in istanbul.text
    brazilian = render_email(make_request(timezone="Europe/Istanbul", locale="pt-BR"), make_merchant())
    assert format_date(datetime(2026, 11, 21).date(), format="long", locale="pt_BR") not in brazilian.html
    assert "November 21, 2026" in brazilian.html and "November 21, 2026" in brazilian.text
    bogus = render_email(make_request(timezone="Not/AZone"), make_merchant())
    assert "November 20, 2026" in bogus.html


# --- variants --------------------------------------------------------------------------------


def test_welcome_and_plain_variants_differ():
    merchant = make_merchant()
    plain = render_email(make_request(variant="plain"), merchant)
    welcome = render_email(make_request(variant="welcome"), merchant)
    assert plain.subject == "Your order #1001 is confirmed"
    assert welcome.subject == "Welcome to Dükkan! Your order #1001 is confirmed"
    plain_h1 = re.findall(r"<h1[^>]*>(.*?)</h1>", plain.html, re.S)
    welcome_h1 = re.findall(r"<h1[^>]*>(.*?)</h1>", welcome.html, re.S)
    assert plain_h1 == ["Thank you for your order!"]
    assert welcome_h1 == ["Welcome to Dükkan!"]
    assert "first order with Dükkan" in welcome.html and "first order with Dükkan" in welcome.text
    assert "first order" not in plain.html and "first order" not in plain.text
    assert f"<title>{plain.subject}</title>" in plain.html


# --- plain text ------------------------------------------------------------------------------


def test_text_part_is_plain():
    email = render_email(make_request(order=make_order(totals={"discount": "3.00"})), make_merchant())
    assert not re.search(r"<[A-Za-z/!]", email.text)
    assert "&amp;" not in email.text and "&nbsp;" not in email.text
    assert ORDER_URL in email.text.splitlines()
    assert "- " + THAI_TITLE + f" ({RUSSIAN_VARIANT})" in email.text
    assert "Qty 2 × $12.50: $25.00" in email.text
    assert "\n\n\n" not in email.text


# --- locales ---------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["xx-YY", "tr-TR", "tr_TR", "ar", "pt-BR", "en-US"])
def test_unavailable_languages_fall_back_to_english(en_only_locale_dir, locale):
    email = render_email(make_request(locale=locale), make_merchant(default_locale="de"))
    assert '<html lang="en" dir="ltr">' in email.html
    assert "View your order" in email.html and "Subtotal" in email.text
    assert email.subject == "Your order #1001 is confirmed"


def test_text_direction():
    assert text_direction("ar") == "rtl"
    assert text_direction("ar-SA") == "rtl"
    assert text_direction("he_IL") == "rtl"
    assert text_direction("en-US") == "ltr"
    assert text_direction("ru") == "ltr"
    assert text_direction("tr-TR") == "ltr"
    assert text_direction("xx-YY") == "ltr"


def test_resolution_order(en_only_locale_dir):
    _pseudo_catalog(en_only_locale_dir, "pt_BR")
    _pseudo_catalog(en_only_locale_dir, "de")
    resolve = rendering.resolve_language
    assert resolve("pt-BR", "en") == "pt_BR"
    assert resolve("pt_br", "en") == "pt_BR"
    assert resolve("pt", "en") == "en"  # pt alone has no catalog, and the merchant's is en
    assert resolve("de-AT", "en") == "de"  # full tag, then the language
    assert resolve("xx-YY", "de") == "de"  # then the merchant's default locale
    assert resolve("xx-YY", "fr") == "en"  # then English
    assert resolve(None, None) == "en"


def test_new_catalog_is_picked_up_and_every_string_goes_through_it(en_only_locale_dir):
    """Adding locale/<lang>/LC_MESSAGES/messages.po is all a language needs; no English is left
    over outside the catalog (a pseudo-translation wraps every msgstr in ⟦ ⟧)."""
    _pseudo_catalog(en_only_locale_dir, "ar")
    order = make_order(totals={"discount": "3.00"})
    merchant = make_merchant(name="Дом Ткани", support_email="help@dukkan.example")
    data = [
        "Ayşe", "Kitap: Çağdaş Şiir", "help@dukkan.example", "https://dukkan.example", ORDER_URL,
        "https://cdn.example/logo.png", "https://cdn.example/silk.png", "US$",
    ]  # fmt: skip

    def leftover(text: str) -> list[str]:
        text = re.sub(r"⟦.*?⟧", "", text, flags=re.S)
        for value in sorted(data, key=len, reverse=True):
            text = text.replace(value, "")
        return re.findall(r"[A-Za-z]{3,}", text)

    for variant in ("plain", "welcome"):
        email = render_email(make_request(order=order, variant=variant, locale="ar-SA"), merchant)
        assert '<html lang="ar" dir="rtl">' in email.html
        assert "text-align: right" in Doc(email.html).find("td", "content")[0]["style"]
        assert "⟦View your order⟧" in email.html and "⟦View your order⟧" in email.text
        assert email.subject.startswith("⟦") and email.subject.endswith("⟧")
        doc = Doc(email.html)
        visible = "\n".join(doc.texts + [a.get("alt") or "" for _, a in doc.elements])
        assert leftover(visible) == [], variant
        assert leftover(email.text) == [], variant
        assert leftover(email.subject) == [], variant
        # Text in Arabic: money and dates in Arabic with the customer's region (ar-SA).
        price = format_currency(Decimal("12.50"), "USD", locale="ar_SA")
        assert price in htmllib.unescape(email.html) and price in email.text
    # The check has teeth: the English rendering is full of text outside ⟦ ⟧.
    english = render_email(make_request(order=order, locale="en"), merchant)
    assert {"View", "your", "order", "Subtotal"} <= set(leftover(english.text))


def test_missing_mo_is_compiled_on_first_render(en_only_locale_dir):
    po = _pseudo_catalog(en_only_locale_dir, "ar")
    mo = catalogs.mo_path(po)
    assert not mo.exists()
    email = render_email(make_request(locale="ar"), make_merchant())
    assert mo.exists() and catalogs.is_compiled(po)
    assert "⟦View your order⟧" in email.html


def test_read_only_locale_dir_compiles_in_memory(en_only_locale_dir, monkeypatch):
    po = _pseudo_catalog(en_only_locale_dir, "ar")

    def read_only(locale_dir=None):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(catalogs, "compile_catalogs", read_only)
    email = render_email(make_request(locale="ar"), make_merchant())
    assert not catalogs.mo_path(po).exists()
    assert "⟦View your order⟧" in email.html


def test_environment_is_cached_and_templates_compiled_once(en_only_locale_dir, monkeypatch):
    render_email(make_request(), make_merchant())
    env = rendering._environment("en")
    assert rendering._environment("en") is env

    def no_compile(*args, **kwargs):
        raise AssertionError("template compiled again")

    monkeypatch.setattr(env, "compile", no_compile)
    again = render_email(make_request(variant="welcome"), make_merchant())
    assert "Welcome to Dükkan!" in again.html
