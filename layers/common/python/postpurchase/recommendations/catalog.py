"""The merchant's catalog as recommendations see it (pure: no AWS).

A product is what we can suggest; order lines name SKUs (and maybe a product URL), so every
product lists the SKUs that resolve to it (a Shopify product's variants all map to one product).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..messaging.requests import ProductCard
from ..orders.models import Identifier, Money, Sku

MAX_PRODUCTS_PER_CALL = 500
MAX_SKUS_PER_PRODUCT = 100


def normalise_category(value: object) -> object:
    """Categories compare case- and space-insensitively ("Phone " == "phone")."""
    if isinstance(value, str):
        return " ".join(value.split()).lower()
    return value


Category = Annotated[str, BeforeValidator(normalise_category), Field(min_length=1, max_length=100)]
Url = Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^https?://")]


class Product(BaseModel):
    """One product of the catalog (`PUT /v1/catalog`, Shopify products webhooks)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    product_id: Identifier
    sku: Sku | None = None
    # Every SKU that resolves to this product (variants); `sku` is included when given.
    skus: Annotated[tuple[Sku, ...], Field(max_length=MAX_SKUS_PER_PRODUCT)] = ()
    title: Annotated[str, Field(min_length=1, max_length=500)]
    category: Category
    price: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    image_url: Url | None = None
    product_url: Url | None = None
    available: bool = True

    @field_validator("price")
    @classmethod
    def _non_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @model_validator(mode="after")
    def _all_skus(self) -> "Product":
        skus = tuple(dict.fromkeys(((self.sku,) if self.sku else ()) + tuple(self.skus)))
        object.__setattr__(self, "skus", skus)
        return self

    def card(self) -> ProductCard:
        return ProductCard(product_id=self.product_id, title=self.title, price=self.price, currency=self.currency,
                           image_url=self.image_url, product_url=self.product_url)


class CatalogIn(BaseModel):
    """`PUT /v1/catalog`: products upserted by product_id (others are left as they are)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    products: Annotated[list[Product], Field(min_length=1, max_length=MAX_PRODUCTS_PER_CALL)]

    @model_validator(mode="after")
    def _unique(self) -> "CatalogIn":
        seen: set[str] = set()
        owners: dict[str, str] = {}
        for product in self.products:
            if product.product_id in seen:
                raise ValueError(f"product_id {product.product_id} appears twice")
            seen.add(product.product_id)
            for sku in product.skus:
                if owners.setdefault(sku, product.product_id) != product.product_id:
                    raise ValueError(f"sku {sku} belongs to both {owners[sku]} and {product.product_id}")
        return self


class Catalog:
    """A merchant's products, indexed for resolving order lines (SKU, product URL)."""

    def __init__(self, products: Iterable[Product]) -> None:
        self.products: dict[str, Product] = {product.product_id: product for product in products}
        self._by_sku: dict[str, str] = {}
        self._by_url: dict[str, str] = {}
        # Sorted so that a SKU listed by two products resolves the same way every time.
        for product in sorted(self.products.values(), key=lambda p: p.product_id):
            for sku in product.skus:
                self._by_sku.setdefault(sku, product.product_id)
            if product.product_url:
                self._by_url.setdefault(_url_key(product.product_url), product.product_id)

    def get(self, product_id: str) -> Product | None:
        return self.products.get(product_id)

    def resolve(self, sku: str | None, product_url: str | None = None) -> str | None:
        """The product an order line (or a stored id) refers to, if the catalog knows it."""
        if sku:
            if sku in self.products:
                return sku
            if sku in self._by_sku:
                return self._by_sku[sku]
        if product_url:
            return self._by_url.get(_url_key(product_url))
        return None

    def canonical(self, ids: Iterable[str]) -> set[str]:
        """Stored ids (product ids, or SKUs learned before the catalog knew them) as product ids."""
        return {self.resolve(value) or value for value in ids}


def _url_key(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0].rstrip("/").lower()


def line_product_id(sku: str, sku_map: Mapping[str, str]) -> str:
    """An order line's product: the catalog's, else the SKU itself (learned now, resolved later)."""
    return sku_map.get(sku, sku)
