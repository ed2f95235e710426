"""The layouts do not rely on one font's widths: the emails and pages most at risk of widening
(long dates, place names and labels in Thai and Russian, right-to-left Arabic) still fit the small
phone when every element is forced into a wide monospaced font with extra letter spacing, far
wider than any font a reader's phone falls back to; the emails also without their <style> block
(only the inlined styles, no media queries), as some webmail apps show them. Headless Chromium (Debian's, `make browser`)
through Playwright; screenshots in test-artifacts/layout-fonts/."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "unit"))  # the shared email and page builders (not test modules)

from email_gallery import make_merchant, request_for  # noqa: E402
from page_gallery import render_page  # noqa: E402
from phone_layout import HEIGHT, PHONES, WIDE_FONT, WIDE_FONT_FILE, overflow  # noqa: E402

from postpurchase.messaging.rendering import render_email  # noqa: E402

ARTIFACTS = REPO / "test-artifacts" / "layout-fonts"

# Chromium comes from `make browser`; the `browser` fixture (conftest.py) launches it.
pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="run `make browser` first")

# (name, HTML) of the widest-risk layouts: the delayed notice's two dates and the shipped notice's
# estimate beside their labels (issue 12: 404-450px before), the return email's codes, the order page.
RISKY_EMAILS = [("th", "shipment_notice", "delayed"), ("ru", "shipment_notice", "delayed"),
                ("ar", "shipment_notice", "delayed"), ("th", "shipment_notice", "shipped"),
                ("ru", "shipment_notice", "shipped"), ("ru", "return_update", "approved"),
                ("ru", "order_confirmation", "recommendations")]
RISKY_PAGES = [("ru", "order"), ("th", "order"), ("ar", "order"), ("ru", "feedback")]

# The width of a line of sample text set in the page's own font (added, measured, removed).
PROBE = """() => {
    const span = document.createElement('span');
    span.textContent = 'Tracking number 1Z999AA1 вторник ноября';
    span.style.whiteSpace = 'nowrap';
    document.querySelector('h1').appendChild(span);
    const width = span.getBoundingClientRect().width;
    span.remove();
    return width;
}"""


def _risky():
    """(name, HTML, is an email) of each risky layout."""
    for language, kind, variant in RISKY_EMAILS:
        yield (f"{language}-{kind}-{variant}".replace("_", "-"),
               render_email(request_for(language, kind, variant), make_merchant()).html, True)
    for language, name in RISKY_PAGES:
        yield f"page-{language}-{name}", render_page(name, language), False


def test_the_widest_emails_and_pages_fit_a_small_phone_in_a_wide_font(browser):
    assert WIDE_FONT_FILE.exists(), f"{WIDE_FONT_FILE} is missing: run `make browser` (fonts-dejavu-core)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = PHONES[0]
    context = browser.new_context(viewport={"width": width, "height": HEIGHT}, is_mobile=True, has_touch=True)
    context.route("http*://**/*", lambda route: route.abort())  # images show their alt text: wider still
    page = context.new_page()
    problems = []
    try:
        for name, html, email in _risky():
            path = ARTIFACTS / f"{name}.html"
            path.write_text(html, encoding="utf-8")
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            normal = page.evaluate(PROBE)
            page.add_style_tag(content=WIDE_FONT)
            # The font took hold: the same words are set wider than in the page's own font.
            font = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
            assert "DejaVu Sans Mono" in font and page.evaluate(PROBE) > 1.05 * normal, f"{name}: {font}"
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
            if too_wide := overflow(page, width):
                problems.append(f"{name}: {too_wide}")
            if email:
                page.goto(path.as_uri())
                page.evaluate("document.querySelectorAll('style').forEach(style => style.remove())")
                page.add_style_tag(content=WIDE_FONT)
                if too_wide := overflow(page, width):
                    problems.append(f"{name} without its <style>: {too_wide}")
    finally:
        context.close()
    assert problems == [], "\n".join(problems)
