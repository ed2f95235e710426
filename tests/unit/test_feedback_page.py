"""The rating page's HTML (no AWS): words from the catalogs, smileys labelled, RTL, the coupon."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from postpurchase.messaging.requests import OfferNotice
from postpurchase.pages import model
from postpurchase.pages.feedback_model import FeedbackPage
from postpurchase.pages.feedback_rendering import render_feedback_page

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
NONCE = "abcdefghijklmnop"


def page(language: str, **fields) -> str:
    context = model.PageContext(shop=model.Shop(merchant_id="demo-store", name="Demo <Store>"), language=language,
                                locale="tr-TR", timezone="Europe/Istanbul", languages=["en", "tr", "ar"], now=NOW,
                                token="link.tok.en", csrf_token="csrf-1")
    return render_feedback_page(FeedbackPage(context=context, link_token="link.tok.en", **fields), nonce=NONCE)


def test_arabic_is_right_to_left_with_labelled_smileys_and_the_form_tokens():
    html = page("ar", product_title="كوب <خزفي>", rating=4)
    assert '<html lang="ar" dir="rtl">' in html
    assert "<bdi>كوب &lt;خزفي&gt;</bdi>" in html  # the product title is escaped and isolated
    for value, label in ((1, "غير راضٍ إطلاقًا"), (5, "راضٍ جدًا")):
        assert f'<label for="rating-{value}">' in html and label in html
    assert 'id="rating-4" name="rating" value="4" checked' in html and html.count(" checked") == 1
    assert 'name="csrf_token" value="csrf-1"' in html and 'name="token" value="link.tok.en"' in html
    assert 'action="/pages/demo-store/feedback/link.tok.en"' in html
    assert f'<style nonce="{NONCE}">' in html and "<script" not in html and "style=" not in html


def test_turkish_thank_you_with_an_amount_coupon_and_errors():
    coupon = OfferNotice(code="TESEKKUR10", discount_type="amount", value=Decimal("10.00"), currency="TRY",
                         min_spend=Decimal("100"), expires_at=datetime(2026, 12, 23, 21, tzinfo=timezone.utc))
    html = page("tr", thanked=True, coupon=coupon, rating=5, comment="Güzel & sağlam")
    assert "Teşekkürler! Görüşünüz kaydedildi." in html and "TESEKKUR10" in html
    assert "24 Aralık 2026" in html  # the expiry is a day in the customer's zone
    assert "Güzel &amp; sağlam</textarea>" in html
    errors = page("tr", errors={"rating": "invalid", "comment": "too_long"})
    assert "Lütfen 1 ile 5 arasında bir puan seçin." in errors and "Yorumunuz çok uzun." in errors
    assert 'aria-invalid="true"' in errors and 'aria-describedby="rating-error"' in errors
    assert "Teşekkürler" not in errors and "TESEKKUR10" not in errors
