"""The packing insert: the pure builder, and the PDF in every language and paper size, read back
with poppler (pdftotext for the words, pdfinfo for the paper, pdftoppm for a look). PNGs of each
language's A6 and the Arabic and Thai A4 go to test-artifacts/insert-<lang>-<size>.png.

poppler-utils comes with `make browser` (the page tests' system packages)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import unicodedata
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from postpurchase.insert.content import PAPER_SIZES, InsertContent, InsertItem, build_insert
from postpurchase.messaging.requests import MerchantBranding
from postpurchase.orders.models import Order

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
LANGUAGES = ["en", "id", "th", "tr", "ar", "ru"]
poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing: run make browser")

# The thank-you sentence and the quantity label as each catalog has them (the shop name filled in).
NOTES = {
    "en": "Thank you for shopping with Demo Store.",
    "id": "Terima kasih telah berbelanja di Demo Store.",
    "th": "ขอบคุณที่เลือกซื้อสินค้ากับ Demo Store",
    "tr": "Demo Store'tan alışveriş yaptığınız için teşekkür ederiz.",
    "ar": "شكرًا لتسوقك من Demo Store",
    "ru": "Спасибо за покупку в Demo Store.",
}
POINTS = {"en": "Your points balance: 1,250", "id": "Saldo poin Anda: 1.250", "th": "คะแนนสะสมของคุณ: 1,250",
          "tr": "Puan bakiyeniz: 1.250", "ar": "رصيد نقاطك: 1,250", "ru": "Ваш баланс баллов: 1 250"}
NAMES = {"th": "สมชาย", "ar": "ليلى", "ru": "Ольга"}
ORDER_URL = "https://api.example/pages/demo-store/orders/1042?token=k1.0000.abcdef"
REVIEW_URL = "https://api.example/pages/demo-store/feedback/k1.claims.0000.abcdef"


def _order(**changes) -> Order:
    data = {
        "order_id": "1042", "order_number": "#1042", "placed_at": "2026-12-05T10:00:00Z", "email": "a@example.com",
        "currency": "USD", "customer": {"id": "c-1", "email": "a@example.com", "first_name": " Leyla ",
                                        "locale": "ar-SA", "timezone": "Asia/Riyadh"},
        "items": [{"sku": "SH-1", "title": "Linen shirt", "variant_title": "M / Blue", "quantity": 1, "price": "40.00"},
                  {"sku": "SH-1", "title": "Linen shirt", "variant_title": "M / Blue", "quantity": 2, "price": "40.00"},
                  {"sku": "BG-2", "title": "Tote bag", "quantity": 1, "price": "15.00"}],
        "totals": {"subtotal": "135.00", "shipping": "0.00", "tax": "0.00", "total": "135.00"},
    }
    data.update(changes)
    return Order.model_validate(data)


BRANDING = MerchantBranding(merchant_id="demo-store", name="Demo Store", from_email="orders@demo.example",
                            support_email="help@demo.example", brand_color="#0b7a75")


def content(language: str, **changes) -> InsertContent:
    values = dict(
        shop_name="Demo Store", brand_color="#0b7a75", support_email="help@demo.example", language=language,
        locale={"ar": "ar-SA", "th": "th-TH"}.get(language, language), timezone="Asia/Bangkok",
        first_name=NAMES.get(language, "Ayşe"), order_number="#1042",
        placed_at=datetime(2026, 12, 5, 10, 0, tzinfo=timezone.utc),
        items=[InsertItem(title="Linen shirt", variant_title="M / Blue", sku="SH-1", quantity=2),
               InsertItem(title="กระเป๋าผ้า ทอมือ", sku="BG-2", quantity=1),
               InsertItem(title="حقيبة جلدية", sku="BG-3", quantity=1),
               InsertItem(title="Шерстяной шарф", sku="SC-4", quantity=3)],
        order_url=ORDER_URL, review_url=REVIEW_URL, referral_code="RF-7QM3XPD9", points_balance=1250)
    values.update(changes)
    return InsertContent(**values)


def render(language: str, size: str = "a6", **changes) -> bytes:
    from postpurchase.insert.render import render_insert

    return render_insert(content(language, **changes), size)


def _comparable(text: str) -> str:
    """pdftotext splits Thai and Arabic around combining marks (it sets a mark shaped onto its
    letter apart, even on its own line) and wraps runs in bidi controls: compare the base letters
    only, without spaces. NFKC on both sides folds Arabic presentation forms (U+FB50-U+FEFF) into
    the letters, should a font's ToUnicode map a shaped glyph to one; ours map to the letters."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Mn", "Cf"))


def _letters(text: str) -> str:
    """The letters and digits only, in order. For right-to-left text: pdftotext rebuilds the
    logical order from the glyphs' positions, so a neutral character between a left-to-right run
    and Arabic comes out on the wrong side ("من .Demo Store" for "من Demo Store." which the page
    shows correctly, the full stop left of the name). Where each run sits on the page is tested
    separately, from the words' boxes (test_arabic_runs_right_to_left)."""
    return "".join(ch for ch in _comparable(text) if unicodedata.category(ch)[0] in "LN")


def _runs(text: str) -> list[str]:
    """The letters of ``text`` in runs of one direction ("+ 52 منتجًا آخر": "52", "منتجاآخر").
    On a line that mixes directions pdftotext may put the runs in either order."""
    runs: list[str] = []
    for ch in _letters(text):
        arabic = unicodedata.bidirectional(ch) in ("AL", "R")
        if runs and (unicodedata.bidirectional(runs[-1][-1]) in ("AL", "R")) == arabic:
            runs[-1] += ch
        else:
            runs.append(ch)
    return runs


def has(text: str, expected: str, language: str) -> bool:
    """``expected`` is in pdftotext's ``text``: whole for left-to-right text, run by run for Arabic."""
    if language == "ar":
        letters = _letters(text)
        return all(run in letters for run in _runs(expected))
    return _comparable(expected) in _comparable(text)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "insert.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


# ------------------------------------------------------------------------------ the builder (pure)


def test_the_builder_takes_the_order_and_the_shops_branding():
    built = build_insert(_order(), BRANDING, language="ar", order_url=ORDER_URL, review_url=REVIEW_URL,
                         referral_code="RF-7QM3XPD9", points_balance=40)
    assert (built.shop_name, built.brand_color, built.support_email) == ("Demo Store", "#0b7a75", "help@demo.example")
    assert (built.language, built.locale, built.timezone, built.first_name) == ("ar", "ar-SA", "Asia/Riyadh", "Leyla")
    assert built.order_number == "#1042"
    # Lines sharing a SKU are one line with their units added up.
    assert [(i.sku, i.title, i.variant_title, i.quantity) for i in built.items] == [
        ("SH-1", "Linen shirt", "M / Blue", 3), ("BG-2", "Tote bag", None, 1)]
    assert (built.order_url, built.review_url, built.referral_code, built.points_balance) == (
        ORDER_URL, REVIEW_URL, "RF-7QM3XPD9", 40)


def test_without_programmes_the_insert_has_no_code_and_no_points():
    built = build_insert(_order(customer={"id": "c-2", "email": "a@example.com"}), BRANDING, language="en",
                         order_url=ORDER_URL)
    assert (built.first_name, built.review_url, built.referral_code, built.points_balance) == (None, None, None, None)


def test_sizes_are_checked_before_any_read():
    from postpurchase.errors import InvalidInput
    from postpurchase.insert.service import paper_size

    assert [paper_size(s) for s in (None, "A4", "letter", " a6 ")] == ["a6", "a4", "letter", "a6"]
    for bad in ("a5", "", " ", "a4;"):
        with pytest.raises(InvalidInput) as refused:
            paper_size(bad)
        assert refused.value.field == "size"


def test_the_pdf_libraries_load_only_with_the_insert():
    """Other functions' cold start: importing the API app (and the insert's builder and service)
    loads neither fpdf2, HarfBuzz nor segno."""
    import os

    code = ("import sys; sys.path[:0] = ['functions/api'];"
            "import app, postpurchase.insert.service, postpurchase.insert.content;"
            "loaded = [m for m in ('fpdf', 'uharfbuzz', 'segno', 'fontTools', 'PIL') if m in sys.modules];"
            "assert not loaded, loaded")
    names = ("TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "ORDER_EVENTS_QUEUE_URL", "OUTBOUND_EMAIL_QUEUE_URL",
             "TRACKING_QUEUE_URL", "RETURN_EVENTS_QUEUE_URL", "CAMPAIGN_QUEUE_URL", "EVENT_BUS_NAME",
             "SES_CONFIGURATION_SET", "LINK_KEYS_SECRET_ARN", "MERCHANT_SECRETS_PREFIX")
    env = {**os.environ, **{name: "xx" for name in names}, "PUBLIC_BASE_URL": "https://api.example",
           "MERCHANT_SECRETS_PREFIX": "postpurchase/test/", "AWS_DEFAULT_REGION": "eu-west-1",
           "POWERTOOLS_TRACE_DISABLED": "true"}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT, env=env)


# ------------------------------------------------------------------------------ the PDF


@poppler
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_reads_back_from_the_pdf(language, tmp_path):
    pdf = render(language)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    for expected in (NOTES[language], POINTS[language], "RF-7QM3XPD9", "#1042", "help@demo.example",
                     "Linen shirt", "กระเป๋าผ้า", "حقيبة جلدية", "Шерстяной шарф"):
        assert has(text, expected, language), (language, expected)
    if language in NAMES:
        assert has(text, NAMES[language], language)
    # Both QR codes are links too, so a PDF viewer opens them with a click.
    assert ORDER_URL.encode() in pdf and REVIEW_URL.encode() in pdf
    # A6 in the customer's language, and no glyph fell back to a box: every character we wrote
    # is in one of the bundled fonts (pdffonts would list a missing one as Type 3 or not embedded).
    fonts = subprocess.run(["pdffonts", str(tmp_path / "insert.pdf")], capture_output=True, text=True).stdout
    assert "NotoSans" in fonts and all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:] if line)
    ARTIFACTS.mkdir(exist_ok=True)
    _png(pdf, f"insert-{language}-a6", tmp_path)


@poppler
@pytest.mark.parametrize("size, points", [("a6", (297.6, 419.5)), ("a4", (595.3, 841.9)), ("letter", (612, 792))])
def test_each_paper_size(size, points, tmp_path):
    pdf = render("th", size)
    path = tmp_path / "insert.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert (round(width, 1), round(height, 1)) == pytest.approx(points, abs=0.2)
    assert re.search(r"Pages:\s+1\b", info)
    assert _pages(render("ar", size), tmp_path) == 1
    if size != "a6":
        ARTIFACTS.mkdir(exist_ok=True)
        for language in ("ar", "th"):
            _png(render(language, size), f"insert-{language}-{size}", tmp_path)


def _pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "count.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


@poppler
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", ["a6", "a4"])
def test_a_long_order_stays_on_one_page_with_the_rest_counted(language, size, tmp_path):
    from postpurchase.insert.render import _text

    items = [InsertItem(title=f"Product number {n} with a rather long name", sku=f"S-{n}", quantity=1)
             for n in range(60)]
    pdf = render(language, size, items=items)
    assert _pages(pdf, tmp_path) == 1
    text = pdf_text(pdf, tmp_path)
    shown = [n for n in range(60) if re.search(rf"Product number {n} with\b", text)]
    # The first items, in order, as many as the page holds; the rest on a "+ N more items" line.
    assert shown == list(range(len(shown))) and len(shown) >= (3 if size == "a6" else 10), shown
    more = _text(language).more_items(60 - len(shown))
    assert has(text, more, language) and str(60 - len(shown)) in more
    if language == "en":
        assert f"+ {60 - len(shown)} more items" in text
    # The bottom of the page is still there: both codes, their captions, the contact line.
    assert ORDER_URL.encode() in pdf and REVIEW_URL.encode() in pdf
    assert has(text, _text(language).order_qr(), language)
    assert "help@demo.example" in _comparable(text)
    if size == "a6":
        ARTIFACTS.mkdir(exist_ok=True)
        _png(pdf, f"insert-{language}-a6-long", tmp_path)


@poppler
def test_a_very_long_title_is_cut_not_spread(tmp_path):
    long = "Handmade " + " ".join(["ceramic"] * 40) + " mug"
    pdf = render("en", "a6", items=[InsertItem(title=long, sku="M-1", quantity=2),
                                    InsertItem(title="Tote bag", sku="BG-2", quantity=1)])
    assert _pages(pdf, tmp_path) == 1
    text = pdf_text(pdf, tmp_path)
    assert "…" in text and "Tote bag" in text and "more item" not in text
    assert text.count("ceramic") < 40


@poppler
def test_arabic_runs_right_to_left(tmp_path):
    """In the Arabic note the sentence starts at the right edge and runs left, the shop's Latin
    name inside it reads left to right, and the full stop after the name sits left of it."""
    pdf = render("ar")
    path = tmp_path / "insert.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", "-enc", "UTF-8", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    # pdftotext -bbox lists each word's glyphs left to right as they sit on the page.
    boxes = [(float(x0), float(y0), float(x1), word) for x0, y0, x1, word in
             re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', html)]

    def box(logical: str, line: float | None = None) -> tuple[float, float, float]:
        visual = logical[::-1] if unicodedata.bidirectional(logical[0]) == "AL" else logical
        found = [(x0, y0, x1) for x0, y0, x1, word in boxes if _comparable(word) == _comparable(visual)
                 and (line is None or abs(y0 - line) < 1)]
        assert found, (logical, [w for *_, w in boxes][:40])
        return found[0]

    thanks = box("لتسوقك")
    shop_from, demo, store = box("من", thanks[1]), box(".Demo", thanks[1]), box("Store", thanks[1])
    assert thanks[0] > shop_from[0] > store[0] > demo[0]  # Arabic right to left, before the name
    assert demo[2] < store[0]  # "Demo Store" left to right
    page_width = float(re.search(r'<page width="([\d.]+)"', html).group(1))
    title = box("ليلى!")  # the title's last word is its leftmost
    assert max(x1 for x0, y0, x1, w in boxes if abs(y0 - title[1]) < 1) > page_width - 25  # flush right


@poppler
def test_without_extras_only_the_order_code_is_printed(tmp_path):
    pdf = render("en", review_url=None, referral_code=None, points_balance=None, first_name=None)
    text = pdf_text(pdf, tmp_path)
    assert "Thank you!" in text and "Scan to track your order" in text
    assert "referral" not in text and "points" not in text and "tell us what you think" not in text
    assert REVIEW_URL.encode() not in pdf


def _png(pdf: bytes, name: str, tmp_path: Path) -> None:
    source = tmp_path / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "110", "-png", "-singlefile", "-f", "1", "-l", "1", str(source),
                    str(ARTIFACTS / name)], check=True)
    assert (ARTIFACTS / f"{name}.png").stat().st_size > 5000
