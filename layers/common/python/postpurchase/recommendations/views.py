"""The API's recommendation and catalog documents (functions/api routes call one of these)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from pydantic import BaseModel

from ..errors import InvalidInput
from ..orders.models import Identifier
from ..validation import validate
from .catalog import CatalogIn, Product
from .rules import RecommendationRules
from .service import MAX_LIMIT

class _CustomerId(BaseModel):
    customer_id: Identifier


MAX_PAGE = 200
DEFAULT_PAGE = 100


def _product(product: Product) -> dict[str, Any]:
    return product.model_dump(mode="json", exclude_none=True)


def _int_param(query: Mapping[str, str] | None, name: str, default: int, low: int, high: int) -> int:
    raw = (query or {}).get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer from {low} to {high}", field=name) from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be an integer from {low} to {high}", field=name)
    return value


def put_catalog(merchant_id: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    from ..services import catalog_store

    catalog = validate(CatalogIn, body)
    written = catalog_store().upsert(merchant_id, catalog.products, now)
    return {"upserted": written}


def catalog_page(merchant_id: str, query: Mapping[str, str] | None) -> dict[str, Any]:
    """One Query: a page of products in product_id order, and the cursor of the next page."""
    from ..services import catalog_store

    limit = _int_param(query, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    products, cursor = catalog_store().page(merchant_id, limit, (query or {}).get("cursor") or None)
    return {"products": [_product(product) for product in products], "next_cursor": cursor}


def customer_recommendations(merchant_id: str, customer_id: str, query: Mapping[str, str] | None) -> dict[str, Any]:
    from ..services import recommendations

    customer_id = validate(_CustomerId, {"customer_id": customer_id}).customer_id
    limit = _int_param(query, "limit", 4, 1, MAX_LIMIT)
    suggestions = recommendations().suggestions(merchant_id, customer_id, limit=limit)
    return {"customer_id": customer_id,
            "products": [{**_product(suggestion.product), "score": round(suggestion.score, 4),
                          "reasons": [reason.as_dict() for reason in suggestion.reasons]}
                         for suggestion in suggestions]}


def put_rules(merchant_id: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    from ..services import catalog_store

    rules = validate(RecommendationRules, body)
    catalog_store().save_rules(merchant_id, rules, now)
    return rules.model_dump(mode="json")


def rules_document(merchant_id: str) -> dict[str, Any]:
    from ..services import catalog_store

    return catalog_store().rules(merchant_id).model_dump(mode="json")


def apply_shopify_product(merchant_id: str, topic: str, raw_body: bytes, shop_url: str | None,
                          now: datetime) -> dict[str, Any]:
    """products/create|update upsert (an older `updated_at` than stored is ignored: Shopify may
    deliver out of order), products/delete removes. Idempotent, so a redelivery changes nothing."""
    from ..services import catalog_store
    from ..storefronts.payloads import parse_object
    from ..storefronts.shopify_products import DELETE_TOPIC, deleted_product_id, product_update

    data = parse_object(raw_body)
    if topic == DELETE_TOPIC:
        product_id = deleted_product_id(data)
        return {"product_id": product_id, "deleted": catalog_store().delete(merchant_id, product_id)}
    product, updated_at = product_update(data, shop_url)
    written = catalog_store().upsert(merchant_id, [product], now, source_updated_at=updated_at or now)
    return {"product_id": product.product_id, "updated": bool(written)}
