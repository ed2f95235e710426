"""Shopify `products/create|update|delete` webhooks -> catalog products (pure).

Payloads are Shopify's REST `Product` resource. A product's variants share one product: every
variant SKU resolves to it. The category is the merchant's `product_type`, else the name of
Shopify's standard taxonomy category. The price shown is the lowest variant price. Product
payloads carry no currency: it is taken from a variant's `presentment_prices` when present.
A product is available when active, published and not sold out (a variant in stock, untracked,
or sellable when out of stock).
"""
from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from ..recommendations.catalog import Product
from .payloads import MoneyText, PayloadModel, StorefrontId, blank, build, decimal_amount, identifier, validate_payload

PRODUCT_TOPICS = frozenset({"products/create", "products/update"})
DELETE_TOPIC = "products/delete"


class _Money(PayloadModel):
    amount: MoneyText
    currency_code: str


class _PresentmentPrice(PayloadModel):
    price: _Money


class _Variant(PayloadModel):
    id: StorefrontId | None = None
    sku: str | None = None
    price: MoneyText
    inventory_quantity: int | None = None
    inventory_policy: str | None = None  # deny | continue
    inventory_management: str | None = None  # "shopify" when tracked
    presentment_prices: list[_PresentmentPrice] = []


class _Image(PayloadModel):
    src: str | None = None


class _TaxonomyCategory(PayloadModel):
    name: str | None = None


class ProductPayload(PayloadModel):
    id: StorefrontId
    title: str
    handle: str | None = None
    product_type: str | None = None
    category: _TaxonomyCategory | None = None
    status: str | None = "active"  # active | draft | archived
    published_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    variants: list[_Variant] = Field(default_factory=list)
    image: _Image | None = None
    images: list[_Image] = Field(default_factory=list)


class DeletedProduct(PayloadModel):
    id: StorefrontId


def product_update(data: dict, shop_url: str | None) -> tuple[Product, datetime | None]:
    """The product and Shopify's modification time (an older update must not win)."""
    payload = validate_payload(ProductPayload, data)
    product_id = identifier(payload.id, "id")
    prices = [decimal_amount(variant.price, f"variants[{index}].price")
              for index, variant in enumerate(payload.variants)]
    currency = next((variant.presentment_prices[0].price.currency_code for variant in payload.variants
                     if variant.presentment_prices), None)
    image = payload.image.src if payload.image and payload.image.src else next(
        (image.src for image in payload.images if image.src), None)
    category = blank(payload.product_type) or blank(payload.category.name if payload.category else None) or "other"
    url = f"{shop_url.rstrip('/')}/products/{payload.handle}" if shop_url and blank(payload.handle) else None
    product = build(Product, {
        "product_id": product_id,
        "skus": [variant.sku.strip() for variant in payload.variants if blank(variant.sku)],
        "title": payload.title,
        "category": category,
        "price": str(min(prices)) if prices else "0",
        "currency": currency,
        "image_url": image,
        "product_url": url,
        "available": _available(payload),
    }, {"skus": "variants", "price": "variants", "image_url": "image.src", "product_url": "handle",
        "category": "product_type"})
    return product, payload.updated_at


def deleted_product_id(data: dict) -> str:
    return identifier(validate_payload(DeletedProduct, data).id, "id")


def _available(payload: ProductPayload) -> bool:
    if (payload.status or "active") != "active" or payload.published_at is None:
        return False
    if not payload.variants:
        return False
    return any(variant.inventory_management in (None, "") or variant.inventory_policy == "continue"
               or (variant.inventory_quantity or 0) > 0 for variant in payload.variants)


