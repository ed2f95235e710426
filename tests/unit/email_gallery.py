"""Every customer email we send, as requests: each kind and variant (confirmation variants,
parcel and return notices, review requests, birthday/anniversary/win-back/points, every campaign
occasion) in every language, with data that exercises the layout (offer, referral, products,
ratings). Shared by tests/unit/test_email_variants.py and tests/e2e/test_email_gallery_browser.py
(not a test module: no tests here)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from postpurchase.messaging.requests import (
    CampaignNotice,
    EmailRequest,
    OfferNotice,
    PointsNotice,
    ProductCard,
    ReferralInvite,
    ReturnNotice,
    ReviewItem,
    ShipmentNotice,
)

from test_page_rendering import LANGUAGES  # language -> (customer's locale tag, order's currency)
from test_rendering import make_merchant, make_order, make_request
from test_return_notice_emails import RETURN_VARIANTS, make_return_notice
from test_shipment_notices import VARIANTS as SHIPMENT_VARIANTS, make_shipment

OCCASIONS = ["valentines_day", "mothers_day", "black_friday", "new_year", "ramadan", "seasonal_sale"]
CONFIRMATION_VARIANTS = ["plain", "welcome", "reassuring", "enticing", "recommendations"]
CUSTOMER_KINDS = ["birthday_offer", "anniversary", "win_back", "points_expiring"]
NEW_CASES = (
    [("order_confirmation", v) for v in CONFIRMATION_VARIANTS if v not in ("plain", "welcome")]
    + [("review_request", "-"), ("review_reminder", "-")]
    + [(kind, "-") for kind in CUSTOMER_KINDS]
    + [("campaign", occasion) for occasion in OCCASIONS]
)
ALL_CASES = (
    [("order_confirmation", "plain"), ("order_confirmation", "welcome")]
    + [("shipment_notice", v) for v in SHIPMENT_VARIANTS]
    + [("return_update", v) for v in RETURN_VARIANTS]
    + NEW_CASES
)

TIMEZONE = "Asia/Bangkok"  # 31 Dec 20:00 UTC is already 1 January there
OFFER_EXPIRES = datetime(2026, 12, 31, 20, 0, tzinfo=timezone.utc)
POINTS_EXPIRE = datetime(2026, 12, 14, 18, 0, tzinfo=timezone.utc)  # the 15th in Bangkok
NAUGHTY_TITLE = 'Mug <script>alert("x")</script> & Co'
UNSUBSCRIBE_URL = "https://dukkan.example/pages/m-1/unsubscribe/tok123"
PREFERENCES_URL = "https://dukkan.example/pages/m-1/preferences/tok456"
RATING_URL = "https://dukkan.example/pages/m-1/feedback/fb789"
SHARE_URL = "https://dukkan.example/r/AYSE-42"
SHOP_URL = "https://dukkan.example/sale"


def offer(currency: str, percent: bool = True) -> OfferNotice:
    return OfferNotice(code="THANKS-7Q2", discount_type="percent" if percent else "amount",
                       value=Decimal("15") if percent else Decimal("250"), currency=currency,
                       min_spend=Decimal("1500"), expires_at=OFFER_EXPIRES)


def referral(currency: str) -> ReferralInvite:
    return ReferralInvite(code="AYSE-42", share_url=SHARE_URL,
                          friend_offer=OfferNotice(code="FRIEND", discount_type="amount", value=Decimal("100"),
                                                   currency=currency))


def products(currency: str, count: int = 3) -> list[ProductCard]:
    titles = [NAUGHTY_TITLE, "ผ้าพันคอไหม", "Чашка «Утро»", "Kahve Fincanı"]
    return [ProductCard(product_id=f"p-{i}", title=titles[i % len(titles)], price=Decimal("1234.50"),
                        currency=currency, image_url=f"https://cdn.example/p{i}.png",
                        product_url=f"https://dukkan.example/p/{i}") for i in range(count)]


def review_items() -> list[ReviewItem]:
    return [ReviewItem(sku="SILK-1", title="ผ้าไหมไทย ทอมือ", image_url="https://cdn.example/silk.png", rating_url=RATING_URL),
            ReviewItem(sku="MUG-1", title=NAUGHTY_TITLE, rating_url=RATING_URL)]


def customer(tag: str, first_name: str = "Ayşe") -> dict:
    return {"email": "ayse@example.com", "first_name": first_name, "locale": tag, "timezone": TIMEZONE}


def request_for(language: str, kind: str, variant: str, **overrides) -> EmailRequest:
    tag, currency = LANGUAGES[language]
    order = make_order(currency=currency, customer={"locale": tag, "timezone": TIMEZONE},
                       totals={"discount": "3.00", "total": "33.00"})
    common = {"locale": tag, "timezone": TIMEZONE}
    if kind == "order_confirmation":
        extras = {}
        if variant == "enticing":
            extras = {"offer": offer(currency), "referral": referral(currency)}
        elif variant == "recommendations":
            extras = {"products": products(currency)}
        return make_request(order=order, variant=variant, **common, **{**extras, **overrides})
    if kind == "shipment_notice":
        return make_request(order=order, kind=kind, variant=variant, ref="s-77", shipment=ShipmentNotice(**make_shipment()),
                            **common, **overrides)
    if kind == "return_update":
        return make_request(order=order, kind=kind, variant=variant, ref="R-1001-1",
                            return_notice=ReturnNotice(**make_return_notice()), **common, **overrides)
    marketing = {"unsubscribe_url": UNSUBSCRIBE_URL, "preferences_url": PREFERENCES_URL}
    if kind in ("review_request", "review_reminder"):
        return make_request(order=order, kind=kind, ref="o-9f2", review_items=review_items(),
                            **common, **{**marketing, **overrides})
    fields: dict = {"offer": offer(currency, percent=kind != "win_back"), "products": products(currency, 4)}
    if kind == "points_expiring":
        fields = {"points": PointsNotice(expiring_points=1200, balance=3400, expires_at=POINTS_EXPIRE)}
    elif kind == "campaign":
        fields = {"campaign": CampaignNotice(campaign_id=f"c-{variant}", occasion=variant, shop_url=SHOP_URL),
                  "offer": offer(currency)}
    elif kind == "win_back":
        fields["products"] = products(currency, 2)
    fields.update(marketing)
    fields["customer"] = customer(tag)
    fields.update(overrides)
    return EmailRequest(kind=kind, merchant_id="m-1", ref=f"{kind}-2026", recipient="ayse@example.com",
                        requested_at=datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc), **common, **fields)


__all__ = ["ALL_CASES", "NEW_CASES", "LANGUAGES", "OCCASIONS", "request_for", "make_merchant"]
