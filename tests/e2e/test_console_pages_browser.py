"""The console's messages view and settings pages in a real browser (Debian's Chromium via
Playwright) against the local runtime: the confirmation the shop just sent is listed, filtered by
kind and found by customer; a settings form refuses a bad value at its field, then saves what
the API reads back; the return policy preview shows six languages. In English and Arabic (right
to left), and neither overflows a 390 px phone. Screenshots: test-artifacts/console-*.png."""
from __future__ import annotations

import re
import time

import pytest

from tests.e2e.phone_layout import overflow, set_width
from tests.e2e.test_console_browser import ARTIFACTS, DESKTOP, _shipped_order, _shot

pytestmark = pytest.mark.skipif(not __import__("pathlib").Path("/usr/bin/chromium").exists(),
                                reason="run `make browser` first")
PHONE = 390


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def messaging_restored(local_api):
    """The shop's messaging settings and branding as they were, whatever the test saved."""
    status, before = local_api.call("GET", "/v1/settings/messaging")
    assert status == 200
    yield before
    assert local_api.call("PUT", "/v1/settings/messaging", before)[0] == 200


def _sign_in(page, local_api) -> None:
    page.goto(f"{local_api.base_url}/console/demo-store/signin?lang=en")
    page.locator('input[name="api_key"]').fill(local_api.api_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/demo-store/returns$"))


def _fits_a_phone(page, name: str) -> None:
    set_width(page, PHONE)
    page.reload()
    assert overflow(page, PHONE) is None, f"{name}: {overflow(page, PHONE)}"
    _shot(page, f"{name}-{PHONE}")
    page.set_viewport_size(DESKTOP)


def test_messages_and_settings_in_english_and_arabic(local_api, page, messaging_restored):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    order_id = "CW-2001"
    _shipped_order(local_api, order_id)
    assert local_api.emails_for(f"demo-store/order_confirmation#{order_id}")
    _sign_in(page, local_api)

    # Messages: the confirmation is on the Sent tab (newest first), reached from the navigation.
    page.get_by_role("link", name="Messages").click()
    page.wait_for_url(re.compile(r"/console/demo-store/messages$"))
    deadline = time.monotonic() + 20  # marked sent by the email worker just after SES took it
    while page.get_by_role("link", name=order_id).count() == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    row = page.locator("tr", has=page.get_by_role("link", name=order_id)).filter(has_text="Order confirmation")
    assert row.count() == 1 and "Sent" in row.inner_text()
    assert page.locator('.tabs a[aria-current="page"]').inner_text() == "Sent"
    _shot(page, "messages-en")

    # A kind filters the list; the customer search finds their emails.
    page.locator("#kind").select_option("review_request")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"kind=review_request"))
    assert page.get_by_role("link", name=order_id).count() == 0
    page.locator("#kind").select_option("")
    page.locator("#q").fill("c-1")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"q=c-1"))
    assert page.get_by_role("link", name=order_id).count() >= 1
    assert "Results for “c-1”" in page.locator("main").inner_text()
    page.goto(f"{local_api.base_url}/console/demo-store/messages")
    _fits_a_phone(page, "messages-en")

    # Settings: a bad hour is refused next to its field and nothing is saved ...
    page.get_by_role("link", name="Settings").click()
    page.wait_for_url(re.compile(r"/settings/messaging$"))
    page.locator("#quiet_hours-start_hour").fill("24")
    page.get_by_role("button", name="Save").click()
    error = page.locator("#quiet_hours-start_hour-error")
    assert error.is_visible() and "out of range" in error.inner_text()
    assert page.locator("#quiet_hours-start_hour").get_attribute("aria-invalid") == "true"
    assert page.get_by_role("alert").inner_text().startswith("Nothing was saved.")
    _shot(page, "settings-error-en")
    assert local_api.call("GET", "/v1/settings/messaging")[1]["quiet_hours"] == messaging_restored["quiet_hours"]
    # ... and a good one is saved where the API reads it.
    page.locator("#quiet_hours-start_hour").fill("22")
    page.locator("#frequency_cap-max_messages").fill("3")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"notice=settings_saved"))
    assert page.get_by_role("status").inner_text().strip() == "Your settings are saved."
    stored = local_api.call("GET", "/v1/settings/messaging")[1]
    assert stored["quiet_hours"]["start_hour"] == 22 and stored["frequency_cap"]["max_messages"] == 3
    _shot(page, "settings-saved-en")
    _fits_a_phone(page, "settings-en")

    # The return policy page previews the policy in force in six languages, Arabic right to left.
    page.get_by_role("link", name="Return policy").click()
    previews = page.locator(".preview article")
    assert previews.count() == 6
    assert page.locator('.preview article[lang="ar"]').get_attribute("dir") == "rtl"
    assert "Returns and refunds" in page.locator('.preview article[lang="en"]').inner_text()
    _shot(page, "settings-policy-en")
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(el => !(el.labels && el.labels.length)).map(el => el.name)""")
    assert unlabelled == []

    # Loyalty and webhooks (not saved here: a save rotates the shop's signing secret).
    for section in ("loyalty", "webhooks"):
        page.goto(f"{local_api.base_url}/console/demo-store/settings/{section}")
        assert page.locator('.tabs a[aria-current="page"]').count() == 1
        _shot(page, f"settings-{section}-en")
        _fits_a_phone(page, f"settings-{section}-en")

    # Arabic: right to left, the same pages fit the phone, and a save works in Arabic.
    page.get_by_role("link", name="العربية").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"
    _shot(page, "settings-policy-ar")
    _fits_a_phone(page, "settings-policy-ar")
    page.goto(f"{local_api.base_url}/console/demo-store/settings/messaging")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.locator("#quiet_hours-end_hour").fill("8")
    page.get_by_role("button", name="حفظ").click()
    page.wait_for_url(re.compile(r"notice=settings_saved"))
    assert page.get_by_role("status").inner_text().strip() == "تم حفظ إعداداتك."
    assert local_api.call("GET", "/v1/settings/messaging")[1]["quiet_hours"]["end_hour"] == 8
    _shot(page, "settings-saved-ar")
    _fits_a_phone(page, "settings-ar")
    page.goto(f"{local_api.base_url}/console/demo-store/messages")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.get_by_role("link", name=order_id).count() >= 1
    _shot(page, "messages-ar")
    _fits_a_phone(page, "messages-ar")
