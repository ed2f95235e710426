"""The customer's pages in a real browser: headless Chromium (Debian's, `make browser`) driven by
Playwright against the local runtime, and every page in every language rendered in-process, each
checked at the width of a small and of a large phone (phone_layout.PHONES). Screenshots go to
test-artifacts/pages-browser/."""
from __future__ import annotations

import base64
import json
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "unit"))  # the shared page builders (not test modules)

from page_gallery import PAGES, render_page  # noqa: E402
from phone_layout import HEIGHT, PHONES, overflow, set_width  # noqa: E402
from test_page_rendering import LANGUAGES  # noqa: E402

ARTIFACTS = REPO / "test-artifacts" / "pages-browser"
RENDERED = ARTIFACTS / "rendered"
# A 1x1 grey PNG for every remote image (product pictures, the logo): real image boxes, offline.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mN8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==")

# Chromium comes from `make browser`; the `browser` fixture (conftest.py) launches it.
pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="run `make browser` first")


@pytest.fixture(scope="module", autouse=True)
def _artifacts_folder():
    RENDERED.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": PHONES[-1], "height": HEIGHT}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def rendered_page(browser):
    """One page for every in-process rendering and both widths (a test sets its width)."""
    context = browser.new_context(viewport={"width": PHONES[0], "height": HEIGHT}, device_scale_factor=1,
                                  is_mobile=True, has_touch=True)
    context.route("http*://**/*", lambda route: route.fulfill(status=200, content_type="image/png", body=PIXEL)
                  if route.request.resource_type == "image" else route.abort())
    page = context.new_page()
    yield page
    context.close()


def _fits_phones(page, name: str) -> None:
    """The page open in `page` fits both phones (a screenshot at the small one), then back to the large one."""
    problems = []
    for width in PHONES:
        set_width(page, width)
        if width == PHONES[0]:
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        problems += [f"{name}: {too_wide}"] if (too_wide := overflow(page, width)) else []
    set_width(page, PHONES[-1])
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", PHONES)
def test_every_page_in_every_language_fits_a_phone(rendered_page, width, language):
    set_width(rendered_page, width)
    problems = []
    for name in PAGES:
        path = RENDERED / f"{language}-{name}.html"
        path.write_text(render_page(name, language), encoding="utf-8")
        rendered_page.goto(path.as_uri())
        rendered_page.wait_for_load_state("load")
        if width == PHONES[0]:  # the small phone's picture is the one to look at (pictures are half the time)
            rendered_page.screenshot(path=str(RENDERED / f"{language}-{name}-{width}.png"), full_page=True)
        if too_wide := overflow(rendered_page, width):
            problems.append(f"{language}-{name}: {too_wide}")
        if rendered_page.locator("html").get_attribute("dir") != ("rtl" if language == "ar" else "ltr"):
            problems.append(f"{language}-{name}: wrong direction")
    assert problems == [], "\n".join(problems)


def _order(local_api, order_id: str, locale: str = "en-GB") -> None:
    body = json.loads((REPO / "events" / "storefronts" / "api" / "order.json").read_text(encoding="utf-8"))
    body.update(order_id=order_id, placed_at=datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"))
    body["customer"].update(locale=locale, email=f"{order_id}@example.com")
    body["email"] = f"{order_id}@example.com"
    status, _ = local_api.call("POST", "/v1/orders", body)
    assert status == 202
    deadline = time.monotonic() + 30  # stored by the order-events consumer, a moment later
    while local_api.call("GET", f"/v1/orders/{order_id}")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    status, _ = local_api.call("POST", f"/v1/orders/{order_id}/shipments",
                               {"carrier": "ups", "tracking_number": f"SBX-OK-{order_id}"})
    assert status == 201
    # The shipment is accepted (201) and stored by the consumer a moment later; until then the order
    # page rightly says "not shipped yet" and offers no return form.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, document = local_api.call("GET", f"/v1/orders/{order_id}")
        if status == 200 and document.get("shipments"):
            return
        time.sleep(0.2)
    raise AssertionError(f"the shipment of {order_id} was not stored within 30 s")


def _link_from_email(local_api, order_id: str) -> str:
    emails = local_api.emails_for(f"demo-store/order_confirmation#{order_id}")
    assert emails, "the confirmation did not arrive"
    html = emails[0].get_body(("html",)).get_content()
    match = re.search(r'href="(http://127\.0\.0\.1:\d+/pages/demo-store/orders/[^"]+)"', html)
    assert match, "no order-page link in the confirmation"
    return match.group(1).replace("&amp;", "&")


def _wait_for_parcel_scan(page, url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.goto(url)
        if page.locator("ol li").count():
            return
        time.sleep(1)


def test_a_customer_opens_the_order_from_the_email_sees_the_parcel_and_returns_an_item(local_api, page):
    _order(local_api, "PW-1001")
    link = _link_from_email(local_api, "PW-1001")

    _wait_for_parcel_scan(page, link)
    assert page.locator("html").get_attribute("lang").startswith("en")
    assert page.get_by_text("PW-1001").first.is_visible()
    assert page.locator("main").count() == 1 and page.locator("header").count() >= 1
    assert "SBX-OK-PW-1001" in page.content()
    # Fits a phone: nothing wider than the screen.
    _fits_phones(page, "order-en")

    # The return form: one unit, a reason, a resolution; submitted once, listed after the redirect.
    page.locator('input[name="qty.MUG-1"]').fill("1")
    page.locator('select[name="reason"]').select_option("doesnt_fit")
    page.locator('select[name="resolution"]').select_option("refund")
    page.locator('textarea[name="comment"]').fill("Too small for my coffee")
    page.locator('form[action$="/returns"] button[type="submit"], form[action$="/returns"] input[type="submit"]'
                 ).first.click()
    page.wait_for_load_state()
    assert "notice=return_requested" in page.url, page.locator("main").inner_text()[:2000]
    _fits_phones(page, "order-en-returned")
    assert re.search(r"R-[A-Z2-7]{10}", page.content()), "the new return is not listed"
    assert page.locator('[role="status"]').count() >= 1

    # Switch to Arabic with the page's language switcher: the page reads right to left.
    page.get_by_role("link", name="العربية").first.click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert re.search(r"R-[A-Z2-7]{10}", page.content()), "the return is listed in Arabic too"
    _fits_phones(page, "order-ar-switched")

    # Every control of every form has a label.
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map(el => el.name)""")
    assert unlabelled == []


def test_arabic_reads_right_to_left_and_a_bad_form_is_explained(local_api, page):
    _order(local_api, "PW-1002", locale="ar-SA")
    link = _link_from_email(local_api, "PW-1002")
    page.goto(link)
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang").startswith("ar")
    _fits_phones(page, "order-ar")

    # Submit with nothing chosen (the browser's own checks switched off, as an old browser would):
    # the server sends the page back with the errors next to the fields.
    page.evaluate("document.querySelector('form[action$=\"/returns\"]').noValidate = true")
    page.locator('form[action$="/returns"] button[type="submit"], form[action$="/returns"] input[type="submit"]'
                 ).first.click()
    page.wait_for_load_state()
    assert page.locator('[aria-invalid="true"]').count() >= 1
    _fits_phones(page, "order-ar-errors")

    # Switch to English from the language switcher and back: direction follows the language.
    page.goto(link + "&lang=en")
    assert page.locator("html").get_attribute("dir") == "ltr"


def test_a_wrong_or_expired_link_gets_the_lookup_form_and_the_lookup_opens_the_order(local_api, page):
    _order(local_api, "PW-1003")
    link = _link_from_email(local_api, "PW-1003")
    broken = re.sub(r"token=[^&]+", "token=ffffffff.forged", link)
    response = page.goto(broken)
    assert response.status == 401
    assert "Traceback" not in page.content()
    _fits_phones(page, "invalid-link")

    page.locator('input[name="order_number"]').fill("PW-1003")
    page.locator('input[name="email"]').fill("nobody@example.com")
    page.locator('form[action$="/lookup"] button[type="submit"], form[action$="/lookup"] input[type="submit"]'
                 ).first.click()
    page.wait_for_load_state()
    wrong_email = page.locator("main").inner_text()
    page.locator('input[name="order_number"]').fill("PW-9999")
    page.locator('input[name="email"]').fill("PW-1003@example.com")
    page.locator('form[action$="/lookup"] button[type="submit"], form[action$="/lookup"] input[type="submit"]'
                 ).first.click()
    page.wait_for_load_state()
    # One answer for every miss: the page does not say which of the two was wrong.
    assert page.locator("main").inner_text() == wrong_email

    page.locator('input[name="order_number"]').fill("PW-1003")
    page.locator('input[name="email"]').fill("PW-1003@example.com")
    page.locator('form[action$="/lookup"] button[type="submit"], form[action$="/lookup"] input[type="submit"]'
                 ).first.click()
    page.wait_for_load_state()
    assert "/pages/demo-store/orders/PW-1003" in page.url
    assert "SBX-OK-PW-1003" in page.content()


def test_pages_send_a_strict_policy_and_no_store(local_api, page):
    _order(local_api, "PW-1004")
    link = _link_from_email(local_api, "PW-1004")
    response = page.goto(link)
    headers = response.headers
    assert "script-src" not in headers["content-security-policy"] and "default-src 'none'" in \
        headers["content-security-policy"]
    assert headers["cache-control"] == "no-store" and headers["referrer-policy"] == "same-origin"
    assert page.locator("script").count() == 0
