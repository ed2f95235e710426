"""The rating page's photo upload in a real browser (headless Chromium, `make browser`) against the
local runtime: no script, the form posts the file straight to the local S3 (moto), which redirects
back to our page; the photo is listed without its EXIF, a bad file is refused on the page, in
English and in Arabic (right to left), with no CSP violation. Screenshots go to
test-artifacts/review-photos-browser/."""
from __future__ import annotations

import io
import json
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from test_reviews_local import STOREFRONTS, _jpeg_with_exif, _rating_token

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "review-photos-browser"
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="run `make browser` first")]
TEXTS = {
    "en": {"added": "Thank you! Your photo has been added to your review.", "count": "Photos added: 1 of 4.",
           "bad": "That file is not a JPEG, PNG or WebP photo we can read."},
    "ar": {"added": "شكرًا لك! أُضيفت صورتك إلى مراجعتك.", "count": "الصور المضافة: 1 من 4.",
           "bad": "هذا الملف ليس صورة JPEG أو PNG أو WebP يمكننا قراءتها."},
}


def _order(local_api) -> str:
    order = json.loads((STOREFRONTS / "api" / "order.json").read_text(encoding="utf-8"))
    order.update(order_id=f"e2e-ph-{uuid.uuid4().hex[:8]}", placed_at=datetime.now(timezone.utc).isoformat())
    assert local_api.call("POST", "/v1/orders", order)[0] == 202
    local_api.emails_for(f"demo-store/order_confirmation#{order['order_id']}")
    return order["order_id"]


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_photo_goes_from_the_rating_page_to_s3_and_back_listed_without_exif(local_api, browser, tmp_path, language):
    from PIL import Image

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    texts = TEXTS[language]
    photo, bad = tmp_path / "holiday.jpg", tmp_path / "not-a-photo.jpg"
    photo.write_bytes(_jpeg_with_exif())
    bad.write_bytes(b"<?php echo 'not an image'; ?>")
    order_id = _order(local_api)
    token = _rating_token(order_id, "MUG-1")
    context = browser.new_context(viewport={"width": 412, "height": 915}, device_scale_factor=1)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if "Content Security Policy" in message.text or message.type == "error" else None)
    try:
        page.goto(f"{local_api.base_url}/pages/demo-store/feedback/{token}?rating=5&lang={language}")
        assert page.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
        assert page.locator("script").count() == 0
        form = page.locator("form.photo-form")
        assert form.get_attribute("enctype") == "multipart/form-data"
        page.set_input_files("#photo-file", str(photo))
        with page.expect_navigation(url=lambda url: "photo=added" in url):
            form.locator("button[type=submit]").click()
        assert texts["added"] in page.locator("#photo-added").inner_text()
        assert page.locator("#photo-count").inner_text().strip() == texts["count"]
        image = page.locator("#photo-list img")
        assert image.count() == 1
        image.scroll_into_view_if_needed()
        page.wait_for_function("document.querySelector('#photo-list img').complete")
        assert image.evaluate("img => img.naturalWidth") == 32  # the cleaned copy, shown from the media origin
        page.screenshot(path=str(ARTIFACTS / f"{language}-added.png"), full_page=True)
        with urllib.request.urlopen(image.get_attribute("src"), timeout=10) as served:
            data = served.read()
        with Image.open(io.BytesIO(data)) as shown:
            assert shown.format == "JPEG" and not shown.getexif()
        assert b"SecretCam" not in data

        page.set_input_files("#photo-file", str(bad))
        with page.expect_navigation(url=lambda url: "photo=" in url and "photo=added" not in url):
            page.locator("form.photo-form button[type=submit]").click()
        assert texts["bad"] in page.locator("#photo-error").inner_text()
        assert page.locator("#photo-list img").count() == 1
        page.screenshot(path=str(ARTIFACTS / f"{language}-refused.png"), full_page=True)
    finally:
        context.close()
    assert problems == []
