"""Every customer email, in every language, opened in headless Chromium (Debian's, `make browser`)
through Playwright, at the width of a small and of a large phone (phone_layout.PHONES): screenshots
and a gallery under test-artifacts/emails/gallery/, and a failure for what a browser can see and a
string test cannot: a layout wider than the phone, an image without alt text, the wrong text
direction, an English sentence left in a translated email. test_layout_fonts_browser.py checks the
widest emails again with a forced wide font.

No server needed: the emails are rendered in-process to HTML files and opened from disk (remote
images are answered with a placeholder so the layout has real image boxes)."""
from __future__ import annotations

import base64
import html as htmllib
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "unit"))  # the shared email builders (not test modules)

from email_gallery import ALL_CASES, LANGUAGES, make_merchant, request_for  # noqa: E402
from phone_layout import HEIGHT, PHONES, overflow, set_width  # noqa: E402
from test_translations import ENGLISH  # noqa: E402

from postpurchase.messaging.rendering import render_email  # noqa: E402

GALLERY = REPO / "test-artifacts" / "emails" / "gallery"
# A 1x1 grey PNG for every remote image (the test runs offline).
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mN8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==")

# Chromium comes from `make browser`; the `browser` fixture (conftest.py) launches it.
pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="run `make browser` first")


def _name(language: str, kind: str, variant: str) -> str:
    return f"{language}-{kind}-{variant}".replace("_", "-")


@pytest.fixture(scope="module", autouse=True)
def _artifacts_folder():
    GALLERY.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="module")
def page(browser):
    """One page for every email and both widths (a test sets its width): a new context per test
    would cost more than the checks."""
    context = browser.new_context(viewport={"width": PHONES[0], "height": HEIGHT}, device_scale_factor=1,
                                  is_mobile=True, has_touch=True)
    context.route("http*://**/*", lambda route: route.fulfill(status=200, content_type="image/png", body=PIXEL)
                  if route.request.resource_type == "image" else route.abort())
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def gallery():
    """Collects (language, name, subject) of every rendered email; writes index.html at the end
    (the small phone's screenshots)."""
    entries: set[tuple[str, str, str]] = set()
    yield entries
    small = PHONES[0]
    rows = "\n".join(
        f'<figure><figcaption><b>{htmllib.escape(name)}</b><br><span dir="auto">{htmllib.escape(subject)}</span>'
        f'<br><a href="{name}.html">HTML</a></figcaption>'
        f'<a href="{name}-{small}.png"><img src="{name}-{small}.png" alt="{name}" loading="lazy"></a></figure>'
        for _, name, subject in sorted(entries))
    (GALLERY / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Email gallery</title><style>'
        "body{font-family:sans-serif;margin:16px} main{display:flex;flex-wrap:wrap;gap:16px}"
        "figure{margin:0;width:200px;font-size:12px} img{width:200px;border:1px solid #ccc}"
        f"</style></head><body><h1>Every customer email ({len(entries)})</h1><main>{rows}</main></body></html>",
        encoding="utf-8")


CHECKS = """() => {
    const doc = document.documentElement;
    return {
        noAlt: [...document.images].filter(img => !(img.getAttribute('alt') || '').trim()).map(img => img.src),
        brokenImages: [...document.images].filter(img => !img.complete || img.naturalWidth === 0).length,
        dir: getComputedStyle(document.querySelector('td.content')).direction,
        align: getComputedStyle(document.querySelector('td.content')).textAlign,
        lang: doc.getAttribute('lang'),
        text: document.body.innerText,
    };
}"""


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", PHONES)
def test_every_email_in_a_real_browser(page, gallery, width, language):
    set_width(page, width)
    problems: list[str] = []
    for kind, variant in ALL_CASES:
        name = _name(language, kind, variant)
        email = render_email(request_for(language, kind, variant), make_merchant())
        path = GALLERY / f"{name}.html"
        path.write_text(email.html, encoding="utf-8")
        (GALLERY / f"{name}.txt").write_text(f"Subject: {email.subject}\n\n{email.text}", encoding="utf-8")
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        if width == PHONES[0]:  # the small phone's picture is the one to look at (pictures are half the time)
            page.screenshot(path=str(GALLERY / f"{name}-{width}.png"), full_page=True)
        gallery.add((language, name, email.subject))

        too_wide = overflow(page, width)
        if too_wide:
            problems.append(f"{name}: {too_wide}")
        seen = page.evaluate(CHECKS)
        if seen["noAlt"]:
            problems.append(f"{name}: images without alt: {seen['noAlt']}")
        if seen["brokenImages"]:
            problems.append(f"{name}: {seen['brokenImages']} images did not load")
        rtl = language == "ar"
        if seen["dir"] != ("rtl" if rtl else "ltr") or seen["align"] != ("right" if rtl else "left"):
            problems.append(f"{name}: direction {seen['dir']}, aligned {seen['align']}")
        if not seen["lang"].startswith(language):
            problems.append(f"{name}: lang={seen['lang']}")
        if not email.text.strip() or not email.subject:
            problems.append(f"{name}: no plain-text part or subject")
        if language != "en":
            left = sorted(fragment for fragment in ENGLISH
                          if fragment in seen["text"] or fragment in email.text or fragment in email.subject)
            if left:
                problems.append(f"{name}: untranslated: {left}")
    assert problems == [], "\n".join(problems)
