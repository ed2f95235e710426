"""Every customer page as HTML, rendered in-process from the page models with the data of
test_page_rendering.py and test_feedback_page.py (a late parcel and its timeline, returns with
their history and codes, form errors, a thank-you coupon, Thai, Russian and Arabic text). Shared by
the browser tests tests/e2e/test_pages_browser.py and tests/e2e/test_layout_fonts_browser.py
(not a test module: no tests here)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from postpurchase.messaging.requests import OfferNotice
from postpurchase.pages import model
from postpurchase.pages.rendering import render_order_page, render_unsubscribe_page

from test_feedback_page import page as feedback_page
from test_page_rendering import LANGUAGES, NONCE, THAI_TITLE, make_context, make_order_page, make_parcel, render

PAGES = ["order", "order-delivered", "lookup", "preferences", "unsubscribe", "error", "feedback"]
RUSSIAN_TITLE = "Чашка «Утро» ручной работы"


def render_page(name: str, language: str) -> str:
    _, currency = LANGUAGES[language]
    if name == "order-delivered":  # delivered parcel, nothing late, no form errors
        parcel = make_parcel(status="delivered", is_late=False, original_eta=None,
                             delivered_at=datetime(2026, 11, 24, 15, 30, tzinfo=timezone.utc))
        return render_order_page(make_order_page(language, parcels=[parcel], form=model.ReturnForm(), notice=None),
                                 nonce=NONCE)
    if name == "unsubscribe":
        return render_unsubscribe_page(model.UnsubscribePage(
            context=make_context(language), email="ayse.yilmaz.long-address@example.com", kind="review_request",
            done=False, action="/pages/m-1/unsubscribe/tok123", preferences_url="/pages/m-1/preferences/tok456"),
            nonce=NONCE)
    if name == "feedback":
        coupon = OfferNotice(code="THANKS-7Q2-LONGCODE", discount_type="amount", value=Decimal("1250"),
                             currency=currency, min_spend=Decimal("15000"),
                             expires_at=datetime(2026, 12, 31, 20, tzinfo=timezone.utc))
        return feedback_page(language, product_title=f"{THAI_TITLE} / {RUSSIAN_TITLE}", rating=4, thanked=True,
                             coupon=coupon, comment="x", has_review=True, photo_outcome="size",
                             photos=[{"url": "https://media.example/public/reviews/p1.jpg", "width": 800,
                                      "height": 600}],
                             photo_upload_url="https://review-media.s3.amazonaws.com/",
                             photo_fields={"key": "uploads/demo-store/abc/u1", "policy": "eyJleHBpcmF0aW9uIjoi"})
    return render(name, language)
