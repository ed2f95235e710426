"""Catalog, rules, co-purchase counts and customers' purchase summaries on the one table.

Requests per operation:
- `catalog(m)`: one Query of `M#{m}#CATALOG` (one page per ~1 MB of products), cached per
  container for CATALOG_TTL_SECONDS; writes from this container drop the cache at once.
- `page(m, limit, cursor)`: one Query (`GET /v1/catalog`).
- `upsert(m, products)`: one BatchGet per 100 products (their previous SKUs), then BatchWrite
  (25 items per request) of the products, their SKU mappings and the mappings they lost.
- `sku_map(m, skus)`: one BatchGet per 100 SKUs.
- `learn_order(...)`: one TransactWriteItems (marker + summary + one item per product).
- `purchases(m, c)`: one GetItem; `copurchases(m, ids)`: one BatchGet per 100 products.
"""
from __future__ import annotations

import base64
import time
from datetime import datetime
from typing import Iterable

from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.expressions.operand import Path, Value
from pynamodb.transactions import TransactWrite

from ..config import settings
from ..errors import InvalidInput, RetryLater
from ..recommendations.catalog import Catalog, Product
from ..recommendations.rules import DEFAULT_RULES, RecommendationRules
from . import keys
from .orders import _connection
from .table import (CoPurchaseRecord, LearnedOrderRecord, ProductRecord, ProductSkuRecord, PurchaseSummaryRecord,
                    Record, RecommendationRulesRecord)

CATALOG_TTL_SECONDS = 60.0
PAIR_PREFIX = "n:"
_BATCH_GET = 100


class DynamoCatalogStore:
    """Products, their SKU mappings and the merchant's recommendation rules."""

    def __init__(self, ttl_seconds: float = CATALOG_TTL_SECONDS) -> None:
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Catalog, RecommendationRules]] = {}

    def clear_cache(self) -> None:
        self._cache.clear()

    def catalog(self, merchant_id: str) -> tuple[Catalog, RecommendationRules]:
        cached = self._cache.get(merchant_id)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        products: list[Product] = []
        rules = DEFAULT_RULES
        for record in Record.query(keys.catalog_pk(merchant_id)):
            if isinstance(record, ProductRecord):
                products.append(Product.model_validate_json(record.document))
            elif isinstance(record, RecommendationRulesRecord):
                rules = RecommendationRules.model_validate_json(record.document)
        catalog = Catalog(products)
        self._cache[merchant_id] = (time.monotonic() + self._ttl, catalog, rules)
        return catalog, rules

    def page(self, merchant_id: str, limit: int, cursor: str | None) -> tuple[list[Product], str | None]:
        start = None
        if cursor:
            try:
                product_id = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_",
                                              validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                product_id = ""
            if not product_id:
                raise InvalidInput("not a cursor this API returned", field="cursor") from None
            start = {"pk": {"S": keys.catalog_pk(merchant_id)}, "sk": {"S": keys.product_sk(product_id)}}
        result = ProductRecord.query(keys.catalog_pk(merchant_id),
                                     ProductRecord.sk.startswith(keys.PRODUCT_SK_PREFIX),
                                     limit=limit, last_evaluated_key=start)
        products = [Product.model_validate_json(record.document) for record in result]
        last = result.last_evaluated_key
        next_cursor = None
        if last and products:
            next_cursor = base64.urlsafe_b64encode(products[-1].product_id.encode()).decode().rstrip("=")
        return products, next_cursor

    def upsert(self, merchant_id: str, products: list[Product], now: datetime,
               source_updated_at: datetime | None = None) -> int:
        """Puts every product; with `source_updated_at` (one storefront product), only when it is
        newer than what is stored. Returns how many products were written."""
        previous = self._stored(merchant_id, [product.product_id for product in products])
        if source_updated_at is not None:
            written = [product for product in products
                       if self._put_if_newer(merchant_id, product, now, source_updated_at)]
        else:
            with ProductRecord.batch_write() as batch:
                for product in products:
                    batch.save(self._record(merchant_id, product, now, None))
            written = products
        with ProductSkuRecord.batch_write() as batch:
            for product in written:
                old = previous.get(product.product_id)
                for sku in set(old.skus if old else ()) - set(product.skus):
                    batch.delete(ProductSkuRecord(keys.sku_pk(merchant_id, sku), keys.SKU_SK))
                for sku in product.skus:
                    batch.save(ProductSkuRecord(keys.sku_pk(merchant_id, sku), keys.SKU_SK,
                                                product_id=product.product_id))
        self._cache.pop(merchant_id, None)
        return len(written)

    def delete(self, merchant_id: str, product_id: str) -> bool:
        old = self._stored(merchant_id, [product_id]).get(product_id)
        if old is None:
            return False
        with ProductSkuRecord.batch_write() as batch:
            for sku in old.skus:
                batch.delete(ProductSkuRecord(keys.sku_pk(merchant_id, sku), keys.SKU_SK))
            batch.delete(ProductRecord(keys.catalog_pk(merchant_id), keys.product_sk(product_id)))
        self._cache.pop(merchant_id, None)
        return True

    def sku_map(self, merchant_id: str, skus: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(skus))
        found: dict[str, str] = {}
        prefix = keys.sku_pk(merchant_id, "")
        for start in range(0, len(wanted), _BATCH_GET):
            chunk = [(keys.sku_pk(merchant_id, sku), keys.SKU_SK) for sku in wanted[start:start + _BATCH_GET]]
            for record in ProductSkuRecord.batch_get(chunk):
                found[record.pk[len(prefix):]] = record.product_id
        return found

    def rules(self, merchant_id: str) -> RecommendationRules:
        try:
            record = RecommendationRulesRecord.get(keys.catalog_pk(merchant_id), keys.RULES_SK)
        except DoesNotExist:
            return DEFAULT_RULES
        return RecommendationRules.model_validate_json(record.document)

    def save_rules(self, merchant_id: str, rules: RecommendationRules, now: datetime) -> None:
        RecommendationRulesRecord(keys.catalog_pk(merchant_id), keys.RULES_SK, document=rules.model_dump_json(),
                                  updated_at=now).save()
        self._cache.pop(merchant_id, None)

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    def _record(merchant_id: str, product: Product, now: datetime,
                source_updated_at: datetime | None) -> ProductRecord:
        return ProductRecord(keys.catalog_pk(merchant_id), keys.product_sk(product.product_id),
                             merchant_id=merchant_id, product_id=product.product_id,
                             document=product.model_dump_json(), updated_at=now,
                             source_updated_at=source_updated_at)

    def _put_if_newer(self, merchant_id: str, product: Product, now: datetime, source_updated_at: datetime) -> bool:
        try:
            self._record(merchant_id, product, now, source_updated_at).save(
                condition=ProductRecord.source_updated_at.does_not_exist()
                | (ProductRecord.source_updated_at < source_updated_at))
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False  # a newer (or the same) version is stored: a late, reordered webhook
            raise RetryLater(f"product not saved: {error.cause_response_code}") from error
        return True

    @staticmethod
    def _stored(merchant_id: str, product_ids: list[str]) -> dict[str, Product]:
        stored: dict[str, Product] = {}
        for start in range(0, len(product_ids), _BATCH_GET):
            chunk = [(keys.catalog_pk(merchant_id), keys.product_sk(product_id))
                     for product_id in product_ids[start:start + _BATCH_GET]]
            for record in ProductRecord.batch_get(chunk):
                stored[record.product_id] = Product.model_validate_json(record.document)
        return stored


class DynamoPurchaseStore:
    """What customers bought and returned, and which products are bought together."""

    def learn_order(self, merchant_id: str, order_id: str, customer_id: str, products: list[str],
                    pairs: dict[str, list[str]], now: datetime) -> bool:
        """Count the order once: the marker, the customer's summary and every pair count in one
        transaction. False when the order was already counted (a redelivery)."""
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.save(LearnedOrderRecord(keys.order_pk(merchant_id, order_id), keys.LEARNED_SK, at=now),
                                 condition=LearnedOrderRecord.pk.does_not_exist())
                if products:
                    transaction.update(
                        PurchaseSummaryRecord(keys.customer_pk(merchant_id, customer_id), keys.PURCHASES_SK),
                        actions=[PurchaseSummaryRecord.type.set(PurchaseSummaryRecord),
                                 PurchaseSummaryRecord.bought.add(set(products)),
                                 PurchaseSummaryRecord.updated_at.set(now)])
                for product_id, others in pairs.items():
                    actions = [CoPurchaseRecord.type.set(CoPurchaseRecord),
                               CoPurchaseRecord.product_id.set(product_id)]
                    actions += [Path([PAIR_PREFIX + other]).add(Value(1, attribute=NumberAttribute()))
                                for other in others]
                    transaction.update(CoPurchaseRecord(keys.copurchase_pk(merchant_id, product_id),
                                                        keys.COPURCHASE_SK), actions=actions)
        except TransactWriteError as error:
            reasons = [reason.code if reason else None for reason in (error.cancellation_reasons or [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            # TransactionConflict (another order counting the same product) or throttling.
            raise RetryLater(f"co-purchases not counted: {reasons or error.cause_response_code}") from error
        return True

    def add_returned(self, merchant_id: str, customer_id: str, products: set[str], now: datetime) -> None:
        """Idempotent (a set ADD)."""
        if not products:
            return
        PurchaseSummaryRecord(keys.customer_pk(merchant_id, customer_id), keys.PURCHASES_SK).update(
            actions=[PurchaseSummaryRecord.type.set(PurchaseSummaryRecord),
                     PurchaseSummaryRecord.returned.add(products), PurchaseSummaryRecord.updated_at.set(now)])

    def purchases(self, merchant_id: str, customer_id: str) -> tuple[set[str], set[str]]:
        """(bought, returned) product ids; empty for a customer with no history."""
        try:
            record = PurchaseSummaryRecord.get(keys.customer_pk(merchant_id, customer_id), keys.PURCHASES_SK)
        except DoesNotExist:
            return set(), set()
        return set(record.bought or ()), set(record.returned or ())

    def copurchases(self, merchant_id: str, product_ids: Iterable[str]) -> dict[str, dict[str, int]]:
        """For each product: the products bought with it and in how many orders."""
        wanted = sorted(set(product_ids))
        counts: dict[str, dict[str, int]] = {}
        table = settings().table_name
        for start in range(0, len(wanted), _BATCH_GET):
            request = {keys.copurchase_pk(merchant_id, product_id): product_id
                       for product_id in wanted[start:start + _BATCH_GET]}
            pending = [{"pk": {"S": pk}, "sk": {"S": keys.COPURCHASE_SK}} for pk in request]
            while pending:
                try:
                    response = _connection().client.batch_get_item(
                        RequestItems={table: {"Keys": pending}})
                except Exception as error:  # botocore's ClientError / connection errors
                    raise RetryLater(f"co-purchases not read: {error}") from error
                for item in response.get("Responses", {}).get(table, []):
                    product_id = request[item["pk"]["S"]]
                    counts[product_id] = {name[len(PAIR_PREFIX):]: int(value["N"]) for name, value in item.items()
                                          if name.startswith(PAIR_PREFIX) and "N" in value}
                pending = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        return counts
