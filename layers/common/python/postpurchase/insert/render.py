"""Lay out a packing insert as a PDF (fpdf2; text shaped by HarfBuzz, so Thai marks stack and
Arabic joins and runs right to left; QR codes by segno, drawn as vector squares).

Imported only where an insert is served: fpdf2, uharfbuzz, fonttools and segno load with this
module. Fonts are bundled (``fonts/``, Noto, SIL OFL 1.1): Lambda has no system fonts. Every
sentence comes from ``messaging/templates/insert/_text.txt`` through the email catalogs.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable
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
    qr: float  # QR side (mm), quiet zone included; larger when the code has many modules
    band: float
    title_lines: int  # an item's title is cut to this many lines (with "…")


# Every insert is ONE page: a packer slips one sheet into the parcel, and page n of a day's batch
# is order n. A6 is small, so its QR codes and type are tighter; items that do not fit are
# counted on a "+ N more items" line.
_SCALES = {
    "a6": _Scale(margin=6, shop=12, title=14, body=8.5, small=7, qr=22, band=3, title_lines=2),
    "a4": _Scale(margin=16, shop=22, title=26, body=12, small=10, qr=40, band=6, title_lines=3),
    "letter": _Scale(margin=16, shop=22, title=26, body=12, small=10, qr=40, band=6, title_lines=3),
}
LEADING = 0.5  # line height in mm per point of type (1.4 x the type size: room for Thai marks)
CAPTION_LEADING = 0.45  # the QR captions' (small type, tighter)
MIN_MODULE_MM = 0.33  # the smallest QR module a phone camera reads reliably from a printed sheet
# Thai has no spaces between words: a Thai line may break only at a space (Thai puts them between
# phrases) or at a ZERO WIDTH SPACE, the break hints the Thai catalog carries between words. Never
# inside a segment: when one does not fit the line, the whole text gets smaller type instead.
ZWSP = "\u200b"
SEGMENT_BREAKS = re.compile("[ \u200b]+")
_THAI = re.compile("[\u0e00-\u0e7f]")
FIT_STEP = 0.25  # pt: how much smaller the type gets per try when a segment is too wide
MIN_FIT_POINTS = 4.0

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


def visible(text: str) -> str:
    """The text as drawn: break hints are not characters (pdftotext would copy them out)."""
    return text.replace(ZWSP, "")


def segments(text: str) -> list[str]:
    """The unbreakable pieces of Thai text: what lies between spaces and break hints."""
    return [piece for piece in SEGMENT_BREAKS.split(text) if piece]


def whole_segments(lines: list[str], text: str) -> bool:
    """True when every line is a run of whole segments of ``text``, in order."""
    pieces = segments(text)
    at = 0
    for line in lines:
        rest = SEGMENT_BREAKS.sub("", line)
        while rest:
            if at >= len(pieces) or not rest.startswith(pieces[at]):
                return False
            rest, at = rest[len(pieces[at]):], at + 1
    return at == len(pieces)


def wrap(pdf: FPDF, text: str, family: str, style: str, points: float, width: float,
         leading: float) -> tuple[float, list[str]]:
    """(type size, lines) of ``text`` in a box ``width`` mm wide. Thai breaks only between
    segments: when fpdf2 had to break inside one (it was wider than the box), the type gets
    smaller until each fits. Other scripts wrap at spaces as fpdf2 does, at the size asked."""
    # The same sentences recur on every page of a batch: measured once per document (its fonts).
    known: dict = pdf.__dict__.setdefault("_wrapped", {})
    key = (text, family, style, points, width, leading)
    if key in known:
        return known[key]
    thai = bool(_THAI.search(text))
    while True:
        pdf.set_font(family, style, points)
        lines = pdf.multi_cell(width, points * leading, text, dry_run=True, output="LINES")
        if not thai or points <= MIN_FIT_POINTS or whole_segments(lines, text):
            known[key] = (points, lines)
            return points, lines
        points = max(MIN_FIT_POINTS, points - FIT_STEP)


def paragraph(pdf: FPDF, text: str, family: str, style: str, points: float, x: float, width: float,
              leading: float, align: str) -> float:
    """A paragraph from (x, current y), the next line below it; answers the type size used. Thai
    comes line by line as ``wrap`` broke it (break hints left out); other text goes through
    fpdf2's multi_cell unchanged, so bidi reorders each line of an Arabic paragraph as a whole."""
    if not _THAI.search(text):
        pdf.set_font(family, style, points)
        pdf.set_x(x)
        pdf.multi_cell(width, points * leading, visible(text), align=align, new_x="LMARGIN", new_y="NEXT")
        return points
    fitted, lines = wrap(pdf, text, family, style, points, width, leading)
    pdf.set_font(family, style, fitted)
    for line in lines:
        pdf.set_x(x)
        pdf.cell(width, fitted * leading, visible(line).strip(), align=align, new_x="LMARGIN", new_y="NEXT")
    return fitted


class _Insert(FPDF):
    def set_font(self, family=None, style="", size=0):  # type: ignore[override]
        # fpdf2 2.8 skips set_font when family, style and size are unchanged, but text that fell
        # back to another font can leave that font current: Thai after a Latin product title then
        # came out in Noto Sans (empty boxes). Always switch for real.
        self.font_family = ""
        super().set_font(family, style, size)


def _document(title: str, language: str | None) -> FPDF:
    pdf = _Insert(orientation="portrait", unit="mm", format="a4")
    pdf.set_creator("postpurchase")
    pdf.set_title(title)
    if language:
        pdf.set_lang(language)
    for family, (regular, bold) in FAMILIES.items():
        pdf.add_font(family, "", str(FONTS_DIR / regular))
        pdf.add_font(family, "B", str(FONTS_DIR / bold))
    # Direction per paragraph from its first strong character (Unicode bidi): an Arabic sentence
    # runs right to left, an English product title inside the Arabic insert left to right.
    pdf.set_text_shaping(use_shaping_engine=True)
    # One page per insert, laid out to fit: never an automatic page break.
    pdf.set_auto_page_break(False)
    return pdf


def _qr_code(url: str):
    return segno.make(url, error="m", micro=False)


def _qr_side(code, minimum: float) -> float:
    return max(minimum, (len(code.matrix) + 8) * MIN_MODULE_MM)


def _qr(pdf: FPDF, code, url: str, x: float, y: float, side: float) -> None:
    """The QR code as filled squares (one rectangle per run of dark modules), clickable too."""
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
    """One insert, one page."""
    return render_inserts([content], size)


def render_inserts(contents: Iterable[InsertContent], size: str, *, title: str | None = None) -> bytes:
    """Inserts, one page each, in one PDF (a day's batch prints in one go)."""
    if size not in PAPER_SIZES:
        raise ValueError(f"size must be one of {PAPER_SIZES}")
    contents = list(contents)
    if not contents:
        raise ValueError("no insert to render")
    first = contents[0]
    languages = {content.language for content in contents}
    pdf = _document(title or f"{first.shop_name} {first.order_number}",
                    first.language if len(languages) == 1 else None)
    for content in contents:
        _page(pdf, content, size)
    return bytes(pdf.output())


def _page(pdf: FPDF, content: InsertContent, size: str) -> None:
    scale = _SCALES[size]
    words = _text(content.language)
    rtl = mail.text_direction(content.language) == "rtl"
    start, end = ("R", "L") if rtl else ("L", "R")
    primary = PRIMARY_FAMILY.get(content.language, "sans")
    pdf.set_fallback_fonts([family for family in FAMILIES if family != primary], exact_match=False)
    zone = mail.zone(content.timezone)
    fmt_locale = mail.formatting_locale(content.language, content.locale)
    brand = content.brand_color

    pdf.add_page(format=PAPER_MM[size])
    pdf.set_margins(scale.margin, scale.margin, scale.margin)
    width = pdf.w - 2 * scale.margin
    bottom_limit = pdf.h - scale.margin

    def lines_of(text: str, points: float, cell_width: float, *, bold: bool = False) -> list[str]:
        pdf.set_font(primary, "B" if bold else "", points)
        return pdf.multi_cell(cell_width, points * LEADING, text, dry_run=True, output="LINES")

    def height_of(text: str, points: float, *, bold: bool = False, gap: float = 0.0) -> float:
        fitted, lines = wrap(pdf, text.strip(), primary, "B" if bold else "", points, width, LEADING)
        return len(lines) * fitted * LEADING + gap

    def write(text: str, points: float, x: float, cell_width: float, leading: float, align: str, *,
              bold: bool = False) -> None:
        paragraph(pdf, text, primary, "B" if bold else "", points, x, cell_width, leading, align)

    def say(text: str, points: float, *, bold: bool = False, color: str = TEXT, align: str = start,
            gap: float = 0.0) -> None:
        pdf.set_text_color(*_rgb(color))
        write(text.strip(), points, scale.margin, width, LEADING, align, bold=bold)
        if gap:
            pdf.ln(gap)

    # The shop: a band in its colour, its name below.
    pdf.set_fill_color(*_rgb(brand))
    pdf.rect(0, 0, pdf.w, scale.band, style="F")
    pdf.set_y(scale.margin)
    say(content.shop_name, scale.shop, bold=True, color=_ink(brand), gap=scale.body * 0.3)
    say(words.title(content.first_name), scale.title, bold=True, gap=scale.body * 0.15)
    say(words.note(content.shop_name), scale.body, gap=scale.body * 0.25)
    day = format_date(content.placed_at.astimezone(zone).date(), format="long", locale=fmt_locale)
    say(words.order_line(content.order_number, day), scale.small, color=MUTED, gap=scale.body * 0.4)
    say(words.items_heading(), scale.body, bold=True, gap=scale.body * 0.1)
    pdf.set_draw_color(*_rgb("#d0d7de"))
    pdf.line(scale.margin, pdf.get_y(), pdf.w - scale.margin, pdf.get_y())
    pdf.ln(scale.body * 0.15)

    # What the bottom of the page holds, measured first: the QR codes with their captions, the
    # contact line, and above them the customer's programmes. The items get the room left.
    codes = [(content.order_url, words.order_qr().strip())]
    if content.review_url:
        codes.append((content.review_url, words.review_qr().strip()))
    column = width / len(codes)
    caption_width = column - 2 if len(codes) > 1 else min(width, scale.qr * 2.2)
    qr_codes = [_qr_code(url) for url, _ in codes]
    side = max(_qr_side(code, scale.qr) for code in qr_codes)
    caption_height = max(len(lines) * fitted * CAPTION_LEADING for fitted, lines in
                         (wrap(pdf, caption, primary, "", scale.small, caption_width, CAPTION_LEADING)
                          for _, caption in codes))
    contact = words.contact(content.support_email).strip() if content.support_email else None
    contact_height = scale.small * 0.85 if contact else 0.0
    qr_top = bottom_limit - contact_height - caption_height - side
    programmes = []
    if content.referral_code:
        programmes.append((words.referral(content.referral_code), False))
    if content.points_balance is not None:
        from babel.numbers import format_decimal

        programmes.append((words.points(format_decimal(content.points_balance, locale=fmt_locale)), True))
    programmes_height = sum(height_of(text, scale.body, bold=bold, gap=scale.body * 0.15) for text, bold in programmes)
    items_bottom = qr_top - programmes_height - scale.body * 0.3

    # The items: title (and variant) at the start, the quantity at the end of each row; as many
    # as fit, then "+ N more items" (a packer sees the count is not the whole order).
    quantity_width = width * 0.22
    title_width = width - quantity_width
    line_height = scale.body * LEADING
    row_gap = scale.body * 0.12
    rows = []
    for item in content.items:
        title = f"{item.title} · {item.variant_title}" if item.variant_title else item.title
        if _THAI.search(title):  # at its spaces only; cut after a whole segment; smaller if need be
            points, lines = wrap(pdf, title, primary, "", scale.body, title_width, LEADING)
            if len(lines) > scale.title_lines:
                title = _cut_segments(pdf, title, primary, points, title_width, scale.title_lines)
                points, lines = wrap(pdf, title, primary, "", points, title_width, LEADING)
            rows.append((title, item.quantity, max(len(lines) * points * LEADING, line_height) + row_gap, points))
            continue
        lines = lines_of(title, scale.body, title_width)
        if len(lines) > scale.title_lines:
            title = _cut(pdf, title, lines[:scale.title_lines], title_width * 0.97)
            lines = lines_of(title, scale.body, title_width)[:scale.title_lines]
        rows.append((title, item.quantity, len(lines) * line_height + row_gap, None))
    shown, used = 0, 0.0
    for index, (_, _, row_height, _) in enumerate(rows):
        rest = len(rows) - index - 1
        need = used + row_height + (line_height + row_gap if rest else 0.0)
        if pdf.get_y() + need > items_bottom:
            break
        shown, used = index + 1, used + row_height
    title_x = scale.margin + (quantity_width if rtl else 0)
    quantity_x = scale.margin if rtl else scale.margin + width - quantity_width
    for title, quantity, row_height, thai_points in rows[:shown]:
        top = pdf.get_y()
        pdf.set_font(primary, "", scale.body)
        pdf.set_text_color(*_rgb(TEXT))
        pdf.set_xy(title_x, top)
        if thai_points is not None:
            paragraph(pdf, title, primary, "", thai_points, title_x, title_width, LEADING, start)
        else:
            pdf.multi_cell(title_width, line_height, title, align=start, new_x="LMARGIN", new_y="NEXT")
        pdf.set_xy(quantity_x, top)
        pdf.set_font(primary, "", scale.body)
        pdf.cell(quantity_width, line_height, visible(words.quantity(quantity)).strip(), align=end)
        pdf.set_y(top + row_height)
    if shown < len(rows):
        say(words.more_items(len(rows) - shown), scale.body, color=MUTED, gap=row_gap)
    pdf.ln(scale.body * 0.3)

    # The customer's programmes, when the merchant runs them.
    for text, bold in programmes:
        say(text, scale.body, bold=bold, gap=scale.body * 0.15)

    # The QR codes side by side (the order page at the start), each with its caption below.
    for index, ((url, caption), code) in enumerate(zip(codes, qr_codes)):
        slot = (len(codes) - 1 - index) if rtl else index
        left = scale.margin + slot * column
        if len(codes) > 1:
            qr_x, caption_x = left + (column - side) / 2, left + 1
        else:
            qr_x = pdf.w - scale.margin - side if rtl else scale.margin
            caption_x = pdf.w - scale.margin - caption_width if rtl else scale.margin
        _qr(pdf, code, url, qr_x, qr_top, side)
        pdf.set_font(primary, "", scale.small)
        pdf.set_text_color(*_rgb(MUTED))
        pdf.set_y(qr_top + side)
        write(caption, scale.small, caption_x, caption_width, CAPTION_LEADING, "C" if len(codes) > 1 else start)
    if contact:
        pdf.set_y(bottom_limit - scale.small * 0.45)
        pdf.set_font(primary, "", scale.small)
        pdf.set_text_color(*_rgb(MUTED))
        pdf.set_x(scale.margin)
        pdf.cell(width, scale.small * 0.45, visible(contact), align="C")


def _cut_segments(pdf: FPDF, text: str, family: str, points: float, width: float, max_lines: int) -> str:
    """Thai ``text`` cut after its last whole segment that leaves room for "…" within
    ``max_lines`` lines (a Thai title is never cut inside a word)."""
    tokens = re.split("([ \u200b]+)", text)
    while len(tokens) > 1:
        tokens = tokens[:-2]  # the last segment and the break before it
        shorter = "".join(tokens).rstrip(" \u200b") + "…"
        if len(wrap(pdf, shorter, family, "", points, width, LEADING)[1]) <= max_lines:
            return shorter
    return tokens[0] + "…" if tokens else "…"


def _cut(pdf: FPDF, text: str, lines: list[str], room: float) -> str:
    """``text`` cut to its first ``lines`` (as wrapped), the last one shortened to leave room for
    "…" within ``room`` mm (at a character: Thai has no spaces to cut at)."""
    start = 0
    last_start = 0
    for line in lines:
        found = text.find(line.strip(), start)
        if found < 0:
            break
        last_start, start = found, found + len(line.strip())
    last = text[last_start:start].rstrip()
    while last and pdf.get_string_width(last + "…") > room:
        last = last[:-1].rstrip()
    return text[:last_start] + last + "…"
