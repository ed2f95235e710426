"""The lookup page's message-us form in a real browser (Chromium via Playwright, against the local
runtime), in English and in Arabic (right to left): the customer writes without their order link,
the page answers only "received", and the automated answer arrives by email at the order's own
address. Screenshots go to test-artifacts/pages-browser/."""
from __future__ import annotations

import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from tests.e2e.test_pages_browser import ARTIFACTS, HEIGHT, PHONES, _order

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="run `make browser` first")

NOTICE = {"en": "we've received your message", "ar": "تلقّينا رسالتك"}
HEADING = {"en": "Message us", "ar": "راسلنا"}


@pytest.fixture
def page(browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": PHONES[0], "height": HEIGHT}, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


def _support_replies_to(local_api, address: str, seconds: float = 30) -> list:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [m for m in (message_from_bytes(p.read_bytes(), policy=default)
                             for p in sorted(local_api.outbox.glob("*.eml")))
                 if (m["X-Postpurchase-Message"] or "").startswith("demo-store/support_reply#") and m["To"] == address]
        if found:
            return found
        time.sleep(0.3)
    return []


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_customer_writes_from_the_lookup_page_and_is_answered_by_email(local_api, page, language):
    order_id = f"PW-LC-{language.upper()}"
    _order(local_api, order_id)
    address = f"{order_id}@example.com"
    response = page.goto(f"{local_api.base_url}/pages/demo-store/lookup?lang={language}")
    assert response.status == 200
    assert page.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
    form = page.locator("#lookup-contact-form")
    assert page.locator("#contact-heading").inner_text() == HEADING[language]

    # An empty message comes back at its field (the browser's own check is bypassed to see ours).
    form.evaluate("f => f.noValidate = true")
    page.locator("#contact-email").fill(address)
    page.locator("#contact-order-number").fill(order_id)
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()
    assert page.locator("#contact-message-error").is_visible()
    assert page.locator("#contact-message").get_attribute("aria-invalid") == "true"
    assert page.locator("#contact-email").input_value() == address  # what was typed is kept
    page.screenshot(path=str(ARTIFACTS / f"lookup-contact-error-{language}.png"), full_page=True)

    text = "Where is my order?" if language == "en" else "أين طلبي؟"
    page.locator("#contact-message").fill(text)
    with page.expect_navigation():
        page.locator('#lookup-contact-form button[type="submit"]').click()
    assert "notice=message_sent" in page.url
    shown = page.locator("main").inner_text() + page.locator(".notice-area").inner_text()
    assert NOTICE[language] in shown.replace("’", "'")
    assert "SBX-OK" not in page.content() and address not in page.content()  # nothing about the order on the page
    page.screenshot(path=str(ARTIFACTS / f"lookup-contact-sent-{language}.png"), full_page=True)

    [answer] = _support_replies_to(local_api, address)
    assert answer["Auto-Submitted"] == "auto-replied"
    assert f"SBX-OK-{order_id}" in answer.get_body(("plain",)).get_content()
