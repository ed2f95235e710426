"""Recommendations end to end: learning from orders and returns, and answering the API and the
"you may also like" email with the same function (`Recommendations.suggestions`).

A read (`GET /v1/customers/{c}/recommendations`, `services.recommender().for_customer`) makes:
the catalog and rules (one Query of the catalog partition, cached per container for 60 s:
0 requests when warm), the customer's purchase summary (1 GetItem) and the co-purchase rows of
the seed products (1 BatchGet per 100 products; seeds are the order's products plus at most
MAX_HISTORY_SEEDS past ones). So 2 requests warm, whatever the customer's history.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ..messaging.requests import ProductCard
from ..orders.models import Order
from .catalog import Catalog, Product
from .rules import RecommendationRules
from .scoring import Seed, Suggestion, recommend

if TYPE_CHECKING:
    from ..orders.processing import RecordedOrderLike
    from ..returns.rma import ReturnRequest

# An order's products counted together: MAX rows + the marker + the customer's summary stay far
# under TransactWriteItems' 100 items, and MAX*(MAX-1) pair increments under its 4 MB.
MAX_PRODUCTS_LEARNED = 24
MAX_HISTORY_SEEDS = 50
MAX_LIMIT = 20


class CatalogStore(Protocol):
    def catalog(self, merchant_id: str) -> tuple[Catalog, RecommendationRules]: ...

    def sku_map(self, merchant_id: str, skus: Iterable[str]) -> dict[str, str]: ...


class PurchaseStore(Protocol):
    def learn_order(self, merchant_id: str, order_id: str, customer_id: str, products: list[str],
                    pairs: dict[str, list[str]], now: datetime) -> bool: ...

    def add_returned(self, merchant_id: str, customer_id: str, products: set[str], now: datetime) -> None: ...

    def purchases(self, merchant_id: str, customer_id: str) -> tuple[set[str], set[str]]: ...

    def copurchases(self, merchant_id: str, product_ids: Iterable[str]) -> dict[str, dict[str, int]]: ...


# --- learning (pure) --------------------------------------------------------------------------


def order_products(order: Order, sku_map: dict[str, str]) -> list[str]:
    """The order's distinct products (the catalog's id, else the SKU), the most valuable lines
    first, at most MAX_PRODUCTS_LEARNED."""
    value: dict[str, object] = {}
    for line in order.items:
        product_id = sku_map.get(line.sku, line.sku)
        value[product_id] = value.get(product_id, 0) + line.price * line.quantity  # type: ignore[operator]
    ranked = sorted(value, key=lambda product_id: (-value[product_id], product_id))  # type: ignore[operator]
    return ranked[:MAX_PRODUCTS_LEARNED]


def pair_increments(products: list[str]) -> dict[str, list[str]]:
    """Each product -> the others of the same order (both directions are stored)."""
    if len(products) < 2:
        return {}
    return {product: [other for other in products if other != product] for product in products}


def returned_skus(rma: "ReturnRequest") -> set[str]:
    """What came back: the inspection's accepted lines; without an inspection, the asked lines."""
    if rma.inspection is not None:
        return {line.sku for line in rma.inspection if line.accepted_quantity > 0}
    return {line.sku for line in rma.lines}


# --- the service ------------------------------------------------------------------------------


class Recommendations:
    """Implements postpurchase.recommendations.ports.Recommender."""

    def __init__(self, catalogs: CatalogStore, purchases: PurchaseStore) -> None:
        self.catalogs = catalogs
        self.purchases = purchases

    def suggestions(self, merchant_id: str, customer_id: str, *, limit: int = 4,
                    order: Order | None = None) -> list[Suggestion]:
        catalog, rules = self.catalogs.catalog(merchant_id)
        if not catalog.products:
            return []
        bought_raw, returned_raw = self.purchases.purchases(merchant_id, customer_id)
        bought, returned = catalog.canonical(bought_raw), catalog.canonical(returned_raw)
        seeds: dict[str, Seed] = {}
        for line in order.items if order else ():
            product_id = catalog.resolve(line.sku, line.product_url) or line.sku
            known = catalog.get(product_id)
            seeds.setdefault(product_id, Seed(product_id, known.category if known else line.category, 1.0,
                                              known.title if known else line.title))
        history = sorted(bought - returned - set(seeds))[:MAX_HISTORY_SEEDS]
        for product_id in history:
            known = catalog.get(product_id)
            seeds[product_id] = Seed(product_id, known.category if known else None, rules.history_weight)
        if not seeds:
            return []
        # Rows are stored under the id an order line resolved to when it was learned: the
        # product, or its SKU if the catalog did not know it yet.
        raw_ids = set(seeds) | {raw for raw in bought_raw if (catalog.resolve(raw) or raw) in seeds}
        counts: dict[str, dict[str, int]] = {}
        for raw, partners in self.purchases.copurchases(merchant_id, raw_ids).items():
            target = counts.setdefault(catalog.resolve(raw) or raw, {})
            for partner, n in partners.items():
                partner_id = catalog.resolve(partner) or partner
                target[partner_id] = target.get(partner_id, 0) + n
        return recommend(catalog, rules, seeds.values(), counts, bought | returned, max(0, min(limit, MAX_LIMIT)))

    def for_customer(self, merchant_id: str, customer_id: str, *, limit: int = 4,
                     order: Order | None = None) -> list[ProductCard]:
        """The port: never raises (the email falls back to another variant on [])."""
        try:
            return [suggestion.product.card()
                    for suggestion in self.suggestions(merchant_id, customer_id, limit=limit, order=order)]
        except Exception:
            from ..observability import MetricUnit, logger, metrics

            logger.exception("recommendations failed; answering none",
                             extra={"merchant_id": merchant_id, "customer_id": customer_id})
            metrics.add_metric(name="RecommendationsFailed", unit=MetricUnit.Count, value=1)
            return []

    # --- reactions (postpurchase.orders.reactions) -------------------------------------------

    def learn_order(self, recorded: "RecordedOrderLike", now: datetime) -> bool:
        """Once per order (a marker in the same transaction): the customer's bought products and
        the order's co-purchase pairs. 2 requests: BatchGet SKU -> product, TransactWriteItems."""
        order = recorded.order
        sku_map = self.catalogs.sku_map(recorded.merchant_id, {line.sku for line in order.items})
        products = order_products(order, sku_map)
        return self.purchases.learn_order(recorded.merchant_id, order.order_id, recorded.customer_id, products,
                                          pair_increments(products), now)

    def learn_return(self, merchant_id: str, customer_id: str, rma: "ReturnRequest", now: datetime) -> None:
        skus = returned_skus(rma)
        if not skus:
            return
        sku_map = self.catalogs.sku_map(merchant_id, skus)
        self.purchases.add_returned(merchant_id, customer_id, {sku_map.get(sku, sku) for sku in skus}, now)


# --- reactions as registered in orders/reactions.py -------------------------------------------


def on_order_recorded(recorded: "RecordedOrderLike", now: datetime) -> None:
    from ..services import recommendations

    recommendations().learn_order(recorded, now)


def on_return_resolved(merchant_id: str, order_id: str, rma: "ReturnRequest", now: datetime) -> None:
    """3 requests: the order (its customer), SKU -> product, the summary update (a set ADD)."""
    from ..services import order_store, recommendations

    view = order_store().order_view(merchant_id, order_id)
    if view is None:
        return
    recommendations().learn_return(merchant_id, view.order.customer.customer_id(), rma, now)
