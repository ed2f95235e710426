"""The merchant console in a real browser (Debian's Chromium via Playwright, `make browser`)
against the local runtime: staff sign in with the API key, approve a requested return, and the
customer's order page shows it approved. Screenshots: test-artifacts/console-*.png (en and ar)."""
from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="run `make browser` first")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def merchant_approves_returns(local_api):
    """The shop's policy without auto-approval while the test runs (the default approves at once)."""
    from postpurchase.returns.policy import DEFAULT_POLICY

    document = DEFAULT_POLICY.model_dump(mode="json", exclude={"version", "effective_from"})
    document["default_rule"]["auto_approve"] = False
    assert local_api.call("PUT", "/v1/returns/policy", document)[0] == 200
    time.sleep(1.1)  # orders placed from now on are judged by it
    yield
    document["default_rule"]["auto_approve"] = True
    assert local_api.call("PUT", "/v1/returns/policy", document)[0] == 200


def _shipped_order(local_api, order_id: str) -> None:
    body = json.loads((REPO / "events" / "storefronts" / "api" / "order.json").read_text(encoding="utf-8"))
    body.update(order_id=order_id, placed_at=datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
                email=f"{order_id}@example.com")
    body["customer"].update(locale="en-GB", email=f"{order_id}@example.com")
    assert local_api.call("POST", "/v1/orders", body)[0] == 202
    deadline = time.monotonic() + 30
    while local_api.call("GET", f"/v1/orders/{order_id}")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert local_api.call("POST", f"/v1/orders/{order_id}/shipments",
                          {"carrier": "ups", "tracking_number": f"SBX-OK-{order_id}"})[0] == 201


def _order_link(local_api, order_id: str) -> str:
    emails = local_api.emails_for(f"demo-store/order_confirmation#{order_id}")
    assert emails, "the confirmation did not arrive"
    html = emails[0].get_body(("html",)).get_content()
    return re.search(r'href="(http://127\.0\.0\.1:\d+/pages/demo-store/orders/[^"]+)"', html).group(1).replace(
        "&amp;", "&")


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def test_staff_sign_in_approve_a_return_and_the_customer_sees_it(local_api, page, merchant_approves_returns):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    order_id = "CW-1001"
    _shipped_order(local_api, order_id)
    request = {"items": [{"sku": "MUG-1", "quantity": 1}], "reason": "damaged", "resolution": "refund",
               "comment": "Chipped handle"}
    deadline = time.monotonic() + 30  # the shipment is stored by the order-events consumer, a moment later
    status, rma = local_api.call("POST", f"/v1/orders/{order_id}/returns", request)
    while status == 422 and time.monotonic() < deadline:
        time.sleep(0.3)
        status, rma = local_api.call("POST", f"/v1/orders/{order_id}/returns", request)
    assert status == 201 and rma["status"] == "requested", rma
    rma_id = rma["rma_id"]

    # Not signed in: the console answers its sign-in page.
    response = page.goto(f"{local_api.base_url}/console/demo-store/returns")
    assert response.status == 401 and page.locator('input[name="api_key"]').count() == 1
    page.locator('input[name="api_key"]').fill("not-the-key")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().strip() == "That API key is not valid for this shop."
    _shot(page, "signin-en")
    page.locator('input[name="api_key"]').fill(local_api.api_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/demo-store/returns$"))
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["pp_console"]["httpOnly"] and cookies["pp_console"]["sameSite"] == "Strict"
    assert cookies["pp_console"]["path"] == "/console/demo-store"
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script can read it
    _shot(page, "returns-en")

    # The requested return is in the queue; open it and approve it.
    page.get_by_role("link", name=rma_id).click()
    assert page.locator("h1").inner_text().startswith(f"Return {rma_id}")
    assert "Chipped handle" in page.locator("main").inner_text()
    _shot(page, "return-en")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r"notice=step_saved"))
    assert page.get_by_role("status").inner_text().strip() == "The step was saved."
    assert "Approved" in page.locator("h1").inner_text()
    _shot(page, "approved-en")
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(el => !(el.labels && el.labels.length)).map(el => el.name)""")
    assert unlabelled == []

    # It left the requested tab for the approved one.
    page.goto(f"{local_api.base_url}/console/demo-store/returns?tab=approved")
    assert page.get_by_role("link", name=rma_id).count() == 1
    page.goto(f"{local_api.base_url}/console/demo-store/returns?tab=requested")
    assert page.get_by_role("link", name=rma_id).count() == 0

    # The customer's order page (from the confirmation email's link) shows the approval.
    customer = page.context.browser.new_page()
    try:
        customer.goto(_order_link(local_api, order_id))
        text = customer.locator("main").inner_text()
        assert rma_id in text and "Approved" in text
        customer.screenshot(path=str(ARTIFACTS / "console-customer-page-en.png"), full_page=True)
    finally:
        customer.close()

    # Arabic: the console's language link switches it (kept in the session cookie), right to left.
    page.goto(f"{local_api.base_url}/console/demo-store/returns?tab=approved")
    page.get_by_role("link", name="العربية").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    _shot(page, "returns-ar")
    page.get_by_role("link", name=rma_id).click()
    assert page.locator("html").get_attribute("dir") == "rtl"  # the cookie carries the language
    _shot(page, "return-ar")
    bar = page.locator(".bar .wrap").bounding_box()
    shop = page.locator(".shop").bounding_box()
    assert shop["x"] + shop["width"] > bar["x"] + bar["width"] - 40  # the shop name sits on the right

    # Sign out: the cookie is gone and the console asks for the key again (in Arabic).
    page.get_by_role("button", name="تسجيل الخروج").click()
    page.wait_for_url(re.compile(r"/signin\?notice=signed_out"))
    assert "pp_console" not in {cookie["name"] for cookie in page.context.cookies()}
    page.goto(f"{local_api.base_url}/console/demo-store/signin?lang=ar")
    assert page.locator("html").get_attribute("dir") == "rtl"
    _shot(page, "signin-ar")
    response = page.goto(f"{local_api.base_url}/console/demo-store/returns")
    assert response.status == 401
