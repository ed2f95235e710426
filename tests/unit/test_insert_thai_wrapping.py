"""Thai on the packing insert wraps only at legal break points: the spaces Thai puts between
phrases and the ZERO WIDTH SPACE (U+200B) hints the Thai catalog carries between words; a segment
wider than its box gets smaller type, never a break inside it. The hints are not drawn: the page
looks the same with or without them and pdftotext copies none out. Read back with poppler
(pdftotext -bbox: pdftotext's plain text puts Thai marks on lines of their own, so lines are
rebuilt from the words' boxes); PNGs in test-artifacts/insert-th-*.png."""
from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path

import pytest

from tests.unit.test_packing_insert import ARTIFACTS, _comparable, content, poppler

ZWSP = "\u200b"
THAI = re.compile("[\u0e00-\u0e7f]")
CATALOG = (Path(__file__).resolve().parents[2] / "layers/common/python/postpurchase/messaging/locale/th/LC_MESSAGES"
           / "messages.po")
LONG_SHOP = "ร้านของขวัญทำมือจากเชียงใหม่"  # a Thai shop name: one long segment (no spaces)
# A merchant's Thai product titles: one segment wider than the title column, and phrases enough
# for more lines than a title may take (cut after a whole phrase, with "…").
LONG_WORD_TITLE = "กระเป๋าผ้าทอมือสีครามจากสกลนครลายโบราณแบบดั้งเดิมของชุมชนบ้านนาดี"
MANY_PHRASES_TITLE = " ".join(["ผ้าพันคอ", "ไหมไทย", "ทอมือ", "ลายขิด", "สีแดงเข้ม", "จากอุดรธานี"] * 8)


def _sentences(insert) -> list[str]:
    """Every text the Thai insert prints, as the catalog words it (hints included), values filled."""
    from babel.dates import format_date
    from babel.numbers import format_decimal

    from postpurchase.insert.render import _text
    from postpurchase.messaging import rendering as mail

    words = _text("th")
    fmt = mail.formatting_locale("th", insert.locale)
    day = format_date(insert.placed_at.astimezone(mail.zone(insert.timezone)).date(), format="long", locale=fmt)
    texts = [insert.shop_name, words.title(insert.first_name), words.note(insert.shop_name),
             words.order_line(insert.order_number, day), words.items_heading(), words.order_qr(), words.review_qr(),
             words.contact(insert.support_email), words.more_items(1), words.more_items(7)]
    if insert.referral_code:
        texts.append(words.referral(insert.referral_code))
    if insert.points_balance is not None:
        texts.append(words.points(format_decimal(insert.points_balance, locale=fmt)))
    for item in insert.items:  # the merchant's words, wrapped at their own spaces
        texts += [item.title, item.variant_title or "", words.quantity(item.quantity), "·", "…"]
    return [text.strip() for text in texts if text.strip()]


def _segments(texts: list[str]) -> set[str]:
    """Comparable forms of the pieces between spaces and hints; an Arabic piece (a product title)
    also as pdftotext's word boxes spell it, in visual order."""
    pieces = {_comparable(piece) for text in texts for piece in re.split("[ \u200b]+", text) if _comparable(piece)}
    return pieces | {piece[::-1] for piece in pieces if re.search("[\u0600-\u06ff]", piece)}


def _whole(line: str, segments: set[str]) -> bool:
    """``line`` (letters only) is a concatenation of whole segments."""
    reachable = [True] + [False] * len(line)
    for start in range(len(line)):
        if reachable[start]:
            for segment in segments:
                if line.startswith(segment, start):
                    reachable[start + len(segment)] = True
    return reachable[-1]


def _pdf(pdf: bytes, tmp_path: Path, name: str = "insert") -> Path:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return path


def _lines(path: Path) -> list[str]:
    """The page's visual lines, left to right, from pdftotext's word boxes: a word belongs to the
    line whose top it shares (a mark that pdftotext set apart keeps its letter's line)."""
    html = subprocess.run(["pdftotext", "-bbox", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "&#8203;" not in html and ZWSP not in html  # no break hint copied out
    words = sorted((float(y0), float(x0), word) for x0, y0, word in
                   re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">([^<]*)</word>', html))
    lines: list[list[tuple[float, str]]] = []
    top = None
    for y0, x0, word in words:
        if top is None or y0 - top > 2.5:
            lines.append([])
            top = y0
        lines[-1].append((x0, word))
    return [_comparable("".join(word for _, word in sorted(line))) for line in lines]


def _thai_lines_are_whole_segments(path: Path, texts: list[str]) -> int:
    segments = _segments(texts)
    thai = [line for line in _lines(path) if THAI.search(line)]
    broken = [line for line in thai if not _whole(line, segments)]
    assert not broken, broken
    return len(thai)


@poppler
@pytest.mark.parametrize("size", ["a6", "a4", "letter"])
@pytest.mark.parametrize("variant", ["sample", "long_shop_name", "thai_titles"])
def test_every_thai_line_is_made_of_whole_catalog_segments(size, variant, tmp_path):
    from postpurchase.insert.content import InsertItem
    from postpurchase.insert.render import render_insert

    changes = {
        "sample": {},
        # One segment wider than an A6 line at the shop name's size: smaller type, not two pieces.
        "long_shop_name": {"shop_name": LONG_SHOP + LONG_SHOP},
        "thai_titles": {"items": [InsertItem(title=LONG_WORD_TITLE, sku="TH-1", quantity=1),
                                  InsertItem(title=MANY_PHRASES_TITLE, sku="TH-2", quantity=2),
                                  InsertItem(title="Linen shirt", sku="SH-1", quantity=1)]},
    }[variant]
    insert = content("th", **changes)
    path = _pdf(render_insert(insert, size), tmp_path)
    assert _thai_lines_are_whole_segments(path, _sentences(insert)) >= 10
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert ZWSP not in text and "\ufffd" not in text
    if variant == "thai_titles":  # the long title is cut after a whole phrase, the row after it still there
        assert "…" in text and "Linen shirt" in text and text.count("ผ้าพันคอ") < 8
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "110", "-png", "-singlefile", str(path), str(ARTIFACTS / f"insert-th-{size}-{variant}")],
                   check=True)


def _paragraphs(texts: list[str], width: float, points: float = 9.0) -> tuple[bytes, list[float]]:
    """Each text as a paragraph ``width`` mm wide on an A4 page (as the insert lays them out)."""
    from postpurchase.insert.render import LEADING, _document, paragraph

    pdf = _document("wrapping", "th")
    pdf.set_fallback_fonts(["sans", "naskh"], exact_match=False)
    pdf.add_page(format="a4")
    pdf.set_margins(10, 10, 10)
    sizes = []
    for text in texts:
        sizes.append(paragraph(pdf, text, "thai", "", points, 10, width, LEADING, "L"))
        pdf.ln(4)
    return bytes(pdf.output()), sizes


@poppler
@pytest.mark.parametrize("width", [12.0, 18.0, 25.0, 33.0, 45.0, 60.0])
def test_narrow_boxes_break_between_segments_or_shrink_the_type(width, tmp_path):
    """The captions and sentences in boxes from 12 mm (narrower than a long word at 9 pt) up:
    every line still holds whole segments; where one is wider than the box, the type is smaller."""
    insert = content("th")
    texts = [text for text in _sentences(insert) if THAI.search(text)]
    pdf, sizes = _paragraphs(texts, width)
    assert _thai_lines_are_whole_segments(_pdf(pdf, tmp_path), texts) >= len(texts)
    if width <= 18.0:  # "คำสั่งซื้อ" alone is wider than that at 9 pt: made smaller, not cut
        assert min(sizes) < 9.0
    if width >= 60.0:
        assert sizes == [9.0] * len(texts)  # room enough: the size asked for


def test_the_thai_catalog_carries_break_hints_between_words():
    """Every Thai sentence of the insert breaks somewhere inside a phrase: the hints are there,
    and only between Thai letters (never at a placeholder, a space or the string's ends)."""
    entries = re.findall(r'#: templates/insert/_text\.txt:\d+\n(?:#,[^\n]*\n)?((?:msgid[^\n]*\n(?:"[^\n]*"\n)*)+)'
                         r'((?:msgstr[^\n]*\n(?:"[^\n]*"\n)*)+)', CATALOG.read_text(encoding="utf-8"))
    assert len(entries) >= 12
    hinted = 0
    for _, msgstr in entries:
        text = "".join(re.findall(r'"(.*)"', msgstr))
        for at in (match.start() for match in re.finditer(ZWSP, text)):
            before, after = text[at - 1], text[at + 1]
            assert THAI.match(before) and THAI.match(after), (text, at)
            assert unicodedata.category(after) != "Mn"  # never before a mark: it belongs to its letter
        hinted += ZWSP in text
    assert hinted >= 10


@poppler
def test_break_hints_are_not_drawn(tmp_path):
    """Within a line a hint takes no room and shows nothing: the page rasterises to the same
    pixels with the hints as without them."""
    from postpurchase.insert.render import _text

    words = _text("th")
    hinted = [words.order_qr().strip(), words.review_qr().strip(), words.note("Demo Store").strip()]
    assert all(ZWSP in text for text in hinted)
    plain = [text.replace(ZWSP, "") for text in hinted]
    images = []
    for name, texts in (("hinted", hinted), ("plain", plain)):
        pdf, _ = _paragraphs(texts, 180.0)
        path = _pdf(pdf, tmp_path, name)
        subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", str(path), str(tmp_path / name)], check=True)
        images.append((tmp_path / f"{name}.png").read_bytes())
    assert images[0] == images[1]
