"""The console's analytics page in a real browser (Debian's Chromium via Playwright, `make browser`)
against the local runtime: orders, a parcel, a return and loyalty points go through the real
consumers, and the page draws them as inline SVG under the strict CSP, in English and in Arabic
(right to left, the charts' time axis still left to right). Screenshots:
test-artifacts/console-analytics-{en,ar}.png."""
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
LOYALTY = {"points_per_unit": "1", "review_bonus": 20, "birthday_bonus": 100, "expiry_months": 12,
           "notice_days": 14, "min_redemption": 10, "point_value": "0.05", "code_valid_days": 60}

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="run `make browser` first")


def _order(local_api, order_id: str, quantity: int) -> None:
    body = json.loads((REPO / "events" / "storefronts" / "api" / "order.json").read_text(encoding="utf-8"))
    body.update(order_id=order_id, placed_at=datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
                email=f"{order_id}@example.com")
    body["customer"].update(email=f"{order_id}@example.com", id=f"c-{order_id}")
    body["items"][0]["quantity"] = quantity
    assert local_api.call("POST", "/v1/orders", body)[0] == 202


def _wait(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.3)


def test_the_analytics_page_draws_the_shops_numbers_in_english_and_arabic(local_api, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert local_api.call("PUT", "/v1/settings/loyalty", LOYALTY)[0] == 200
    orders = ["AN-1", "AN-2", "AN-3"]
    for n, order_id in enumerate(orders, start=1):
        _order(local_api, order_id, n)
    for order_id in orders:
        assert local_api.emails_for(f"demo-store/order_confirmation#{order_id}"), order_id
    assert local_api.call("POST", "/v1/orders/AN-3/shipments", {"carrier": "ups", "tracking_number": "SBX-OK-AN3"})[0] == 201
    request = {"items": [{"sku": "MUG-1", "quantity": 1}], "reason": "damaged", "resolution": "refund"}
    state = {}

    def returned() -> bool:
        state["status"], state["rma"] = local_api.call("POST", "/v1/orders/AN-3/returns", request)
        return state["status"] == 201

    _wait(returned, "the return request")  # the shipment is stored by the order-events consumer, a moment later

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text or "Refused" in message.text else None)
    try:
        response = page.goto(f"{local_api.base_url}/console/demo-store/analytics")
        assert response.status == 401  # not signed in: the sign-in page
        page.locator('input[name="api_key"]').fill(local_api.api_key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/console/demo-store/returns$"))
        page.get_by_role("link", name="Analytics").click()
        page.wait_for_url(re.compile(r"/console/demo-store/analytics$"))

        def counted() -> bool:  # the return's counters arrive through the return-events consumer
            page.reload()
            return "Damaged or defective" in page.locator("main").inner_text()

        _wait(counted, "the return on the page")
        assert page.locator("h1").inner_text() == "Analytics"
        orders_chart = page.get_by_role("img", name="Orders per day")
        assert orders_chart.count() == 1
        bars = orders_chart.locator("rect.bar")
        assert bars.count() == 30  # one a day
        heights = [float(bars.nth(n).get_attribute("height")) for n in range(30)]
        assert heights[-1] > 0 and sum(1 for h in heights if h > 0) >= 1
        assert "ups" in page.locator("#carriers-heading + .table-wrap").inner_text()
        assert page.get_by_role("img", name="Points issued and redeemed per day").locator("rect.bar").count() == 60
        assert page.locator("svg.chart").count() == 8
        assert page.locator("svg.chart title").first.text_content() == "Orders per day"
        for chart in page.locator("svg.chart").all():
            box = chart.bounding_box()
            assert box["width"] > 300 and box["x"] >= 0 and box["x"] + box["width"] <= DESKTOP["width"]
        assert page.locator('a[href$="/analytics?days=90"]').count() == 1
        page.screenshot(path=str(ARTIFACTS / "console-analytics-en.png"), full_page=True)

        page.get_by_role("link", name="العربية").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert page.locator("h1").inner_text() == "التحليلات"
        chart = page.get_by_role("img", name="الطلبات يوميًا")
        assert chart.count() == 1 and chart.get_attribute("direction") == "ltr"
        # Time runs left to right in Arabic too: today's bar is the rightmost.
        xs = [float(chart.locator("rect.bar").nth(n).get_attribute("x")) for n in (0, 29)]
        assert xs[0] < xs[1]
        assert "تالف أو معيب" in page.locator("main").inner_text()  # the return reason, in Arabic
        page.screenshot(path=str(ARTIFACTS / "console-analytics-ar.png"), full_page=True)
        assert violations == []
        assert page.evaluate("document.scripts.length") == 0
    finally:
        context.close()
