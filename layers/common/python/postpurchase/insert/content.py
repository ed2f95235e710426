"""What a packing insert shows, as data, from the stored order (pure: no AWS, no PDF library)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..messaging.requests import MerchantBranding
from ..orders.models import Order

PaperSize = Literal["a6", "a4", "letter"]
PAPER_SIZES: tuple[str, ...] = ("a6", "a4", "letter")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class InsertItem(_Frozen):
    title: str
    variant_title: str | None = None
    sku: str
    quantity: int


class InsertContent(_Frozen):
    """Raw values: the renderer formats dates in the customer's zone and puts every sentence into
    words from the catalogs (templates/insert/_text.txt)."""

    shop_name: str
    brand_color: str = "#1f6feb"
    support_email: str | None = None
    language: str  # the catalog language ("ar")
    locale: str | None = None  # the customer's locale, for dates ("ar-SA")
    timezone: str | None = None
    first_name: str | None = None
    order_number: str
    placed_at: datetime
    items: list[InsertItem]
    order_url: str  # the signed order-page link (QR)
    review_url: str | None = None  # the rating page of the order's first item (QR), when reviews are asked for
    referral_code: str | None = None  # when the merchant runs a referral programme
    points_balance: int | None = None  # when the merchant runs a loyalty programme


def build_insert(order: Order, branding: MerchantBranding, *, language: str, order_url: str,
                 review_url: str | None = None, referral_code: str | None = None,
                 points_balance: int | None = None) -> InsertContent:
    """Lines sharing a SKU are one line (a packer counts units per product)."""
    merged: dict[str, InsertItem] = {}
    for item in order.items:
        seen = merged.get(item.sku)
        merged[item.sku] = (seen.model_copy(update={"quantity": seen.quantity + item.quantity}) if seen else
                            InsertItem(title=item.title, variant_title=item.variant_title, sku=item.sku,
                                       quantity=item.quantity))
    customer = order.customer
    return InsertContent(
        shop_name=branding.name, brand_color=branding.brand_color,
        support_email=branding.support_email or branding.reply_to or branding.from_email,
        language=language, locale=customer.locale, timezone=customer.timezone,
        first_name=(customer.first_name or "").strip() or None, order_number=order.display_number,
        placed_at=order.placed_at, items=list(merged.values()), order_url=order_url, review_url=review_url,
        referral_code=referral_code, points_balance=points_balance)
