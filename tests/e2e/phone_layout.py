"""What "fits a phone" means for the browser tests (not a test module): the phone widths we check,
the overflow probe, and the forced wide font that proves a layout does not rely on one font's widths.

A layout fits when the document does not scroll sideways and no visible element's box reaches past
the right edge of the screen or before its left edge (a right-to-left layout spills to the left).
The width we compare with is the one we asked for, not `innerWidth`: a mobile browser widens its
layout viewport to fit content that overflows, which would hide the overflow we are looking for."""
from __future__ import annotations

from pathlib import Path

# A small Android phone and an iPhone 12-15; the height only matters for screenshots.
PHONES = (360, 390)
HEIGHT = 844

# Wider than any proportional font a reader's phone falls back to, and spaced out on top.
WIDE_FONT = '* { font-family: "DejaVu Sans Mono", monospace !important; letter-spacing: 0.05em !important; }'
WIDE_FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")  # fonts-dejavu-core, `make browser`

_PROBE = """(width) => {
    const doc = document.documentElement;
    const out = [...document.querySelectorAll('body *')].map(el => [el, el.getBoundingClientRect()])
        .filter(([el, box]) => box.width > 0 && (box.right > width + 1 || box.left < -1));
    // The innermost of them name the culprit (its table, row and cell stick out with it).
    const wide = out.filter(([el]) => !out.some(([other]) => other !== el && el.contains(other)))
        .map(([el, box]) => `${el.tagName.toLowerCase()}.${el.className} [${Math.round(box.left)}..${Math.round(box.right)}]`
             + ` "${(el.innerText || el.getAttribute('alt') || '').trim().slice(0, 30)}"`);
    return {scrollWidth: doc.scrollWidth, wide: wide.slice(0, 8)};
}"""


def set_width(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": HEIGHT})


def overflow(page, width: int) -> str | None:
    """None when the page open in `page` (at `width`) fits; otherwise what sticks out, and how far."""
    seen = page.evaluate(_PROBE, width)
    if seen["scrollWidth"] <= width and not seen["wide"]:
        return None
    return f"wider than a {width}px phone (scrollWidth {seen['scrollWidth']}px): {seen['wide']}"
