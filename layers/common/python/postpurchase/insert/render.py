"""Lay out a packing insert as a PDF (fpdf2; text shaped by HarfBuzz, so Thai marks stack and
Arabic joins and runs right to left; QR codes by segno, drawn as vector squares).

Imported only where an insert is served: fpdf2, uharfbuzz, fonttools and segno load with this
module. Fonts are bundled (``fonts/``, Noto, SIL OFL 1.1): Lambda has no system fonts. Every
sentence comes from ``messaging/templates/insert/_text.txt`` through the email catalogs.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import segno
from babel.dates import format_date
from fpdf import FPDF

from ..messaging import rendering as mail
from .content import PAPER_SIZES, InsertContent

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
# family -> (regular, bold) file; the script's own family first, the others as fallbacks (a
# Thai note can name a Latin shop; an Arabic order can hold an English product title).
FAMILIES = {
    "sans": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    "thai": ("NotoSansThai-Regular.ttf", "NotoSansThai-Bold.ttf"),
    "naskh": ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf"),
}
PRIMARY_FAMILY = {"th": "thai", "ar": "naskh"}
# Paper sizes in mm (fpdf2 knows A6 and A4 but not every spelling of Letter; one table is clearer).
PAPER_MM = {"a6": (105.0, 148.0), "a4": (210.0, 297.0), "letter": (215.9, 279.4)}
TEXT = "#1f2328"
MUTED = "#57606a"


@dataclass(frozen=True)
class _Scale:
    """Type sizes (pt) and measures (mm) per paper size."""

    margin: float
    shop: float
    title: float
    body: float
    small: float
    qr: float  # QR side (mm), quiet zone included
    band: float


_SCALES = {
    "a6": _Scale(margin=7, shop=13, title=15, body=9, small=7.5, qr=27, band=3),
    "a4": _Scale(margin=16, shop=22, title=26, body=12, small=10, qr=42, band=6),
    "letter": _Scale(margin=16, shop=22, title=26, body=12, small=10, qr=42, band=6),
}

_macros_lock = threading.Lock()
_macros: dict[str, object] = {}


def _text(language: str):
    """The template module of the insert's sentences in ``language`` (one per language per process)."""
    with _macros_lock:
        module = _macros.get(language)
        if module is None:
            module = mail.environment(language).get_template("insert/_text.txt").module
            _macros[language] = module
    return module


def _rgb(hex_color: str) -> tuple[int, int, int]:
    digits = hex_color.lstrip("#")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _ink(brand: str) -> str:
    """The brand colour for text when it reads on white (WCAG AA, 4.5:1), else near-black."""
    channels = [c / 255 for c in _rgb(brand)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return brand if 1.05 / (luminance + 0.05) >= 4.5 else TEXT


class _Insert(FPDF):
    def set_font(self, family=None, style="", size=0):  # type: ignore[override]
        # fpdf2 2.8 skips set_font when family, style and size are unchanged, but text that fell
        # back to another font can leave that font current: Thai after a Latin product title then
        # came out in Noto Sans (empty boxes). Always switch for real.
        self.font_family = ""
        super().set_font(family, style, size)


def _document(content: InsertContent, size: str) -> FPDF:
    pdf = _Insert(orientation="portrait", unit="mm", format=PAPER_MM[size])
    pdf.set_creator("postpurchase")
    pdf.set_title(f"{content.shop_name} {content.order_number}")
    pdf.set_lang(content.language)
    for family, (regular, bold) in FAMILIES.items():
        pdf.add_font(family, "", str(FONTS_DIR / regular))
        pdf.add_font(family, "B", str(FONTS_DIR / bold))
    primary = PRIMARY_FAMILY.get(content.language, "sans")
    pdf.set_fallback_fonts([family for family in FAMILIES if family != primary], exact_match=False)
    # Direction per paragraph from its first strong character (Unicode bidi): an Arabic sentence
    # runs right to left, an English product title inside the Arabic insert left to right.
    pdf.set_text_shaping(use_shaping_engine=True)
    return pdf


def _qr(pdf: FPDF, url: str, x: float, y: float, side: float) -> None:
    """The QR code as filled squares (one rectangle per run of dark modules), clickable too."""
    code = segno.make(url, error="m", micro=False)
    matrix = code.matrix
    modules = len(matrix) + 8  # 4 modules of quiet zone on each side
    unit = side / modules
    pdf.set_fill_color(0, 0, 0)
    for row, line in enumerate(matrix):
        start = None
        for column, dark in enumerate(list(line) + [0]):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                pdf.rect(x + (4 + start) * unit, y + (4 + row) * unit, (column - start) * unit, unit * 1.0, style="F")
                start = None
    pdf.link(x, y, side, side, url)


def render_insert(content: InsertContent, size: str) -> bytes:
    if size not in PAPER_SIZES:
        raise ValueError(f"size must be one of {PAPER_SIZES}")
    scale = _SCALES[size]
    words = _text(content.language)
    rtl = mail.text_direction(content.language) == "rtl"
    start, end = ("R", "L") if rtl else ("L", "R")
    primary = PRIMARY_FAMILY.get(content.language, "sans")
    zone = mail.zone(content.timezone)
    fmt_locale = mail.formatting_locale(content.language, content.locale)
    brand = content.brand_color

    pdf = _document(content, size)
    pdf.set_margins(scale.margin, scale.margin, scale.margin)
    pdf.set_auto_page_break(True, margin=scale.margin)
    pdf.add_page()
    width = pdf.w - 2 * scale.margin

    def say(text: str, points: float, *, bold: bool = False, color: str = TEXT, align: str = start,
            gap: float = 0.0) -> None:
        pdf.set_font(primary, "B" if bold else "", points)
        pdf.set_text_color(*_rgb(color))
        pdf.set_x(scale.margin)
        pdf.multi_cell(width, points * 0.5, text.strip(), align=align, new_x="LMARGIN", new_y="NEXT")
        if gap:
            pdf.ln(gap)

    # The shop: a band in its colour, its name below.
    pdf.set_fill_color(*_rgb(brand))
    pdf.rect(0, 0, pdf.w, scale.band, style="F")
    pdf.set_y(scale.margin)
    say(content.shop_name, scale.shop, bold=True, color=_ink(brand), gap=scale.body * 0.4)
    say(words.title(content.first_name), scale.title, bold=True, gap=scale.body * 0.2)
    say(words.note(content.shop_name), scale.body, gap=scale.body * 0.3)
    day = format_date(content.placed_at.astimezone(zone).date(), format="long", locale=fmt_locale)
    say(words.order_line(content.order_number, day), scale.small, color=MUTED, gap=scale.body * 0.5)

    # The items: title (and variant) at the start, the quantity at the end of each row.
    say(words.items_heading(), scale.body, bold=True, gap=scale.body * 0.1)
    pdf.set_draw_color(*_rgb("#d0d7de"))
    pdf.line(scale.margin, pdf.get_y(), pdf.w - scale.margin, pdf.get_y())
    pdf.ln(scale.body * 0.15)
    quantity_width = width * 0.22
    for item in content.items:
        title = f"{item.title} · {item.variant_title}" if item.variant_title else item.title
        top = pdf.get_y()
        pdf.set_font(primary, "", scale.body)
        pdf.set_text_color(*_rgb(TEXT))
        lines = pdf.multi_cell(width - quantity_width, scale.body * 0.5, title, dry_run=True, output="LINES")
        if top + len(lines) * scale.body * 0.5 > pdf.h - scale.margin:
            pdf.add_page()
            top = pdf.get_y()
        title_x = scale.margin + (quantity_width if rtl else 0)
        quantity_x = scale.margin if rtl else scale.margin + width - quantity_width
        pdf.set_xy(title_x, top)
        pdf.multi_cell(width - quantity_width, scale.body * 0.5, title, align=start, new_x="LMARGIN", new_y="NEXT")
        bottom = pdf.get_y()
        pdf.set_xy(quantity_x, top)
        pdf.set_font(primary, "", scale.body)
        pdf.cell(quantity_width, scale.body * 0.5, words.quantity(item.quantity).strip(), align=end)
        pdf.set_y(bottom + scale.body * 0.12)
    pdf.ln(scale.body * 0.3)

    # The customer's programmes, when the merchant runs them.
    if content.referral_code:
        say(words.referral(content.referral_code), scale.body, gap=scale.body * 0.15)
    if content.points_balance is not None:
        from babel.numbers import format_decimal

        say(words.points(format_decimal(content.points_balance, locale=fmt_locale)), scale.body, bold=True,
            gap=scale.body * 0.15)

    # The QR codes side by side (the order page at the start), each with its caption below.
    codes = [(content.order_url, words.order_qr())]
    if content.review_url:
        codes.append((content.review_url, words.review_qr()))
    caption_lines = 3
    block = scale.qr + caption_lines * scale.small * 0.45 + scale.small
    if content.support_email:
        block += scale.small * 0.6
    if pdf.get_y() + block > pdf.h - scale.margin:
        pdf.add_page()
    top = max(pdf.get_y() + scale.body * 0.3, pdf.h - scale.margin - block)
    column = width / len(codes) if len(codes) > 1 else width
    for index, (url, caption) in enumerate(codes):
        slot = (len(codes) - 1 - index) if rtl else index
        left = scale.margin + slot * column
        qr_x = left + (column - scale.qr) / 2 if len(codes) > 1 else (
            pdf.w - scale.margin - scale.qr if rtl else scale.margin)
        _qr(pdf, url, qr_x, top, scale.qr)
        pdf.set_font(primary, "", scale.small)
        pdf.set_text_color(*_rgb(MUTED))
        caption_width = column - 2 if len(codes) > 1 else scale.qr * 1.6
        caption_x = left + 1 if len(codes) > 1 else (pdf.w - scale.margin - caption_width if rtl else scale.margin)
        pdf.set_xy(caption_x, top + scale.qr)
        pdf.multi_cell(caption_width, scale.small * 0.45, caption.strip(), align="C" if len(codes) > 1 else start)
    if content.support_email:
        pdf.set_y(pdf.h - scale.margin - scale.small * 0.5)
        pdf.set_font(primary, "", scale.small)
        pdf.set_text_color(*_rgb(MUTED))
        pdf.set_x(scale.margin)
        pdf.cell(width, scale.small * 0.45, words.contact(content.support_email).strip(), align="C")
    return bytes(pdf.output())
