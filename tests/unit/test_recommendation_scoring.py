"""Recommendations, pure: scoring, exclusion, diversity, tie-breaks, learning, the port's fallbacks."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from postpurchase.errors import InvalidInput
from postpurchase.orders.models import Order
from postpurchase.recommendations.catalog import Catalog, CatalogIn, Product
from postpurchase.recommendations.rules import RecommendationRules
from postpurchase.recommendations.scoring import Seed, recommend
from postpurchase.recommendations.service import (
    MAX_PRODUCTS_LEARNED,
    Recommendations,
    order_products,
    pair_increments,
    returned_skus,
)
from postpurchase.validation import validate

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
SHOPIFY = Path(__file__).resolve().parents[2] / "events" / "storefronts" / "shopify"


def product(product_id: str, category: str, price: str = "10.00", **fields) -> Product:
    return Product(product_id=product_id, title=product_id.title(), category=category, price=price,
                   currency="USD", **fields)


CATALOG = Catalog([
    product("phone", "phone", "700.00", sku="PH-1"),
    product("case-a", "case", "20.00", sku="CA-1"),
    product("case-b", "case", "25.00"),
    product("case-c", "case", "30.00"),
    product("case-d", "case", "35.00"),
    product("headset", "headset", "80.00"),
    product("charger", "charger", "15.00"),
    product("mug", "home", "12.00"),
    product("sold-out-case", "case", "5.00", available=False),
])
RULES = RecommendationRules(categories={"phone": {"case": 1.0, "headset": 0.8}})


def phone_seed(weight: float = 1.0) -> Seed:
    return Seed("phone", "phone", weight)


def ids(suggestions) -> list[str]:
    return [suggestion.product.product_id for suggestion in suggestions]


def test_rules_suggest_accessories_of_the_seed_category_and_nothing_unrelated():
    picked = ids(recommend(CATALOG, RULES, [phone_seed()], {}, set(), 10))
    assert set(picked) <= {"case-a", "case-b", "case-c", "case-d", "headset"}
    assert "mug" not in picked and "charger" not in picked  # no rule, no pair: no filler


def test_diversity_not_four_cases():
    picked = recommend(CATALOG, RULES, [phone_seed()], {}, set(), 4)
    categories = [suggestion.product.category for suggestion in picked]
    # Best case first (1.0), then the headset (0.8) beats a second case (1.0 * 0.5), at most 2 cases.
    assert categories == ["case", "headset", "case"]
    assert categories.count("case") == RULES.max_per_category


def test_ties_break_on_lower_price_then_product_id_and_are_deterministic():
    first = ids(recommend(CATALOG, RULES, [phone_seed()], {}, set(), 4))
    assert first[0] == "case-a"  # the four cases tie on score; the cheapest wins
    shuffled = Catalog(reversed(list(CATALOG.products.values())))
    assert ids(recommend(shuffled, RULES, [phone_seed()], {}, set(), 4)) == first


def test_excludes_bought_returned_seeds_and_unavailable():
    picked = ids(recommend(CATALOG, RULES, [phone_seed()], {}, {"case-a", "headset"}, 10))
    assert "case-a" not in picked and "headset" not in picked
    assert "sold-out-case" not in picked and "phone" not in picked
    assert picked[0] == "case-b"


def test_copurchase_counts_add_to_rules_with_a_logarithm_and_explain_themselves():
    counts = {"phone": {"charger": 7, "case-d": 1}}
    picked = recommend(CATALOG, RULES, [phone_seed()], counts, set(), 3)
    by_id = {suggestion.product.product_id: suggestion for suggestion in picked}
    assert ids(picked)[0] == "charger"  # log2(1 + 7) = 3 beats the rule's 1
    assert by_id["charger"].score == pytest.approx(3.0)
    assert by_id["charger"].reasons[0].as_dict() == {"type": "bought_together", "product_id": "phone",
                                                     "title": "Phone", "count": 7}
    assert ids(picked)[1] == "case-d"  # the rule (1) + one pair (log2 2 = 1) beats the other cases
    assert [reason.kind for reason in by_id["case-d"].reasons] == ["rule", "bought_together"]


def test_min_copurchase_ignores_rare_pairs_and_weights_scale_the_signals():
    rules = RecommendationRules(categories={}, min_copurchase=3)
    assert recommend(CATALOG, rules, [phone_seed()], {"phone": {"mug": 2}}, set(), 4) == []
    only_rules = RecommendationRules(categories={"phone": ["case"]}, copurchase_weight=0)
    picked = ids(recommend(CATALOG, only_rules, [phone_seed()], {"phone": {"mug": 50}}, set(), 4))
    assert "mug" not in picked


def test_history_counts_less_than_the_order_being_confirmed():
    rules = RecommendationRules(categories={"phone": {"case": 1}, "home": {"charger": 1.5}}, history_weight=0.5,
                                max_per_category=1)
    seeds = [Seed("mug", "home", 0.5), phone_seed(1.0)]
    picked = recommend(CATALOG, rules, seeds, {}, set(), 2)
    assert ids(picked) == ["case-a", "charger"]  # 1.0 vs 1.5 * 0.5
    assert picked[1].score == pytest.approx(0.75)


def test_rules_accept_a_list_and_normalise_categories():
    rules = validate(RecommendationRules, {"categories": {" Phone ": ["Case", "HEADSET"]}})
    assert rules.accessories("phone") == {"case": 1.0, "headset": 1.0}
    assert rules.accessories(None) == {}
    with pytest.raises(InvalidInput) as error:
        validate(RecommendationRules, {"categories": {"phone": {"case": -1}}})
    assert error.value.field == "categories.phone.case"
    with pytest.raises(InvalidInput) as error:
        validate(RecommendationRules, {"max_per_category": 0})
    assert error.value.field == "max_per_category"


def test_catalog_validation_names_the_product_field():
    good = {"product_id": "p-1", "title": "Case", "category": "case", "price": "10.00", "currency": "USD"}
    bad = [good, {**good, "product_id": "p-2"}, {**good, "product_id": "p-3"}, {**good, "product_id": "p-4",
                                                                                  "price": 10.5}]
    with pytest.raises(InvalidInput) as error:
        validate(CatalogIn, {"products": bad})
    assert error.value.field == "products[3].price"
    with pytest.raises(InvalidInput) as error:
        validate(CatalogIn, {"products": [{**good, "image_url": "javascript:alert(1)"}]})
    assert error.value.field == "products[0].image_url"
    with pytest.raises(InvalidInput) as error:
        validate(CatalogIn, {"products": [good] * 501})
    assert error.value.field == "products"
    with pytest.raises(InvalidInput):
        validate(CatalogIn, {"products": [good, good]})  # the same product twice
    with pytest.raises(InvalidInput) as error:  # one SKU cannot resolve to two products
        validate(CatalogIn, {"products": [{**good, "sku": "S"}, {**good, "product_id": "p-2", "skus": ["T", "S"]}]})
    assert "sku S belongs to both p-1 and p-2" in error.value.message


def test_catalog_resolves_skus_variants_and_product_urls():
    catalog = Catalog([product("p-1", "case", sku="A", skus=("B", "A"), product_url="https://s.example/p/one/"),
                       product("p-2", "case")])
    assert catalog.get("p-1").skus == ("A", "B")
    assert catalog.resolve("B") == "p-1"
    assert catalog.resolve("p-2") == "p-2"
    assert catalog.resolve("unknown", "https://S.example/p/one?utm=x") == "p-1"
    assert catalog.resolve("unknown") is None
    assert catalog.canonical({"A", "p-2", "gone"}) == {"p-1", "p-2", "gone"}


def _order(*lines: tuple[str, str, int, str | None]) -> Order:
    return Order.model_validate({
        "order_id": "1001", "placed_at": "2026-11-20T10:00:00Z", "currency": "USD",
        "customer": {"id": "c-1", "email": "a@example.com"},
        "items": [{"sku": sku, "title": sku, "quantity": quantity, "price": price, "category": category}
                  for sku, price, quantity, category in [(s, p, q, c) for s, p, q, c in lines]],
        "totals": {"subtotal": "1.00", "shipping": "0.00", "tax": "0.00", "total": "1.00"}})


def test_order_products_resolve_skus_dedupe_and_cap():
    order = _order(("PH-1", "700.00", 1, "phone"), ("CA-1", "20.00", 1, "case"), ("CA-1", "20.00", 2, "case"),
                   ("X", "1.00", 1, None))
    assert order_products(order, {"PH-1": "phone", "CA-1": "case-a"}) == ["phone", "case-a", "X"]
    big = _order(*[(f"S{index:03d}", "1.00", 1, None) for index in range(60)])
    assert len(order_products(big, {})) == MAX_PRODUCTS_LEARNED
    pairs = pair_increments(order_products(big, {}))
    # rows + the marker + the summary stay under TransactWriteItems' 100 items
    assert len(pairs) + 2 <= 100
    assert all(len(others) == MAX_PRODUCTS_LEARNED - 1 for others in pairs.values())
    assert pair_increments(["only"]) == {}


def test_returned_skus_are_the_accepted_lines():
    from postpurchase.returns.rma import ReturnRequest

    base = {"rma_id": "R-1", "merchant_id": "m", "order_id": "1001", "status": "resolved", "created_at": NOW,
            "lines": [{"sku": "A", "quantity": 1, "reason": "damaged", "resolution": "refund"},
                      {"sku": "B", "quantity": 1, "reason": "damaged", "resolution": "refund"}],
            "history": [{"from_status": None, "to_status": "resolved", "at": NOW, "actor": {"kind": "system"},
                         "command": "resolve"}]}
    assert returned_skus(ReturnRequest.model_validate(base)) == {"A", "B"}
    inspected = {**base, "inspection": [{"sku": "A", "accepted_quantity": 1}, {"sku": "B", "accepted_quantity": 0}]}
    assert returned_skus(ReturnRequest.model_validate(inspected)) == {"A"}


# --- the service with in-memory fakes --------------------------------------------------------


class FakeCatalogs:
    def __init__(self, catalog: Catalog, rules: RecommendationRules) -> None:
        self.value, self.rules, self.loads = catalog, rules, 0

    def catalog(self, merchant_id):
        self.loads += 1
        if merchant_id != "m":
            return Catalog([]), RecommendationRules()
        return self.value, self.rules

    def sku_map(self, merchant_id, skus):
        return {sku: self.value.resolve(sku) for sku in skus if self.value.resolve(sku)}


class FakePurchases:
    def __init__(self) -> None:
        self.bought: dict[str, set[str]] = {}
        self.returned: dict[str, set[str]] = {}
        self.pairs: dict[str, dict[str, int]] = {}
        self.learned: set[str] = set()
        self.fail = False

    def learn_order(self, merchant_id, order_id, customer_id, products, pairs, now):
        if order_id in self.learned:
            return False
        self.learned.add(order_id)
        self.bought.setdefault(customer_id, set()).update(products)
        for product_id, others in pairs.items():
            row = self.pairs.setdefault(product_id, {})
            for other in others:
                row[other] = row.get(other, 0) + 1
        return True

    def add_returned(self, merchant_id, customer_id, products, now):
        self.returned.setdefault(customer_id, set()).update(products)

    def purchases(self, merchant_id, customer_id):
        if self.fail:
            raise RuntimeError("DynamoDB is down")
        return set(self.bought.get(customer_id, ())), set(self.returned.get(customer_id, ()))

    def copurchases(self, merchant_id, product_ids):
        return {product_id: dict(self.pairs[product_id]) for product_id in product_ids if product_id in self.pairs}


class Recorded:
    def __init__(self, order: Order) -> None:
        self.merchant_id, self.order, self.customer_id = "m", order, order.customer.customer_id()
        self.is_first_order, self.newly_recorded = True, True


def service() -> tuple[Recommendations, FakePurchases]:
    purchases = FakePurchases()
    return Recommendations(FakeCatalogs(CATALOG, RULES), purchases), purchases


def test_no_history_and_no_order_is_an_empty_list():
    recommender, _ = service()
    assert recommender.for_customer("m", "nobody") == []
    assert recommender.for_customer("another-merchant", "nobody") == []


def test_the_just_placed_order_seeds_suggestions_before_it_is_stored():
    recommender, _ = service()
    cards = recommender.for_customer("m", "c-1", order=_order(("PH-1", "700.00", 1, "phone")))
    assert [card.product_id for card in cards] == ["case-a", "headset", "case-b"]
    assert cards[0].price == Decimal("20.00") and cards[0].currency == "USD"
    # An order line the catalog does not know still seeds the rules by its own category.
    cards = recommender.for_customer("m", "c-1", order=_order(("UNKNOWN", "9.00", 1, "Phone")), limit=1)
    assert [card.product_id for card in cards] == ["case-a"]


def test_learning_is_counted_once_and_history_excludes_bought_and_returned():
    recommender, purchases = service()
    order = _order(("PH-1", "700.00", 1, "phone"), ("CA-1", "20.00", 1, "case"))
    assert recommender.learn_order(Recorded(order), NOW) is True
    assert recommender.learn_order(Recorded(order), NOW) is False  # redelivery
    assert purchases.pairs == {"phone": {"case-a": 1}, "case-a": {"phone": 1}}
    picked = recommender.suggestions("m", "c-1")
    assert "case-a" not in ids(picked) and "phone" not in ids(picked)
    assert ids(picked)[0] == "case-b"


def test_a_returned_product_is_never_suggested_again():
    from postpurchase.returns.rma import ReturnRequest

    recommender, purchases = service()
    purchases.bought["c-1"] = {"mug"}
    purchases.pairs["mug"] = {"charger": 5}
    assert ids(recommender.suggestions("m", "c-1")) == ["charger"]
    rma = ReturnRequest.model_validate({
        "rma_id": "R-1", "merchant_id": "m", "order_id": "1001", "status": "resolved", "created_at": NOW,
        "lines": [{"sku": "mug", "quantity": 1, "reason": "damaged", "resolution": "refund"}],
        "history": [{"from_status": None, "to_status": "resolved", "at": NOW, "actor": {"kind": "system"},
                     "command": "resolve"}]})
    recommender.learn_return("m", "c-1", rma, NOW)
    # The returned mug no longer seeds (nor is it suggested).
    assert recommender.suggestions("m", "c-1") == []


def test_pairs_learned_under_a_sku_resolve_once_the_catalog_knows_it():
    recommender, purchases = service()
    purchases.bought["c-1"] = {"CA-1"}  # learned before the catalog mapped CA-1 to case-a
    purchases.pairs["CA-1"] = {"charger": 3}
    picked = ids(recommender.suggestions("m", "c-1"))
    assert picked == ["charger"]


def test_the_port_never_raises(monkeypatch):
    import sys
    import types

    # Importing the real observability here would fix the process-wide Powertools Metrics
    # without a namespace (unit tests run without the POWERTOOLS_* environment): a stand-in.
    added, logged = [], []
    fake = types.SimpleNamespace(
        MetricUnit=types.SimpleNamespace(Count="Count"),
        logger=types.SimpleNamespace(exception=lambda message, **kwargs: logged.append(message)),
        metrics=types.SimpleNamespace(add_metric=lambda **metric: added.append(metric["name"])))
    monkeypatch.setitem(sys.modules, "postpurchase.observability", fake)
    recommender, purchases = service()
    purchases.fail = True
    assert recommender.for_customer("m", "c-1", order=_order(("PH-1", "700.00", 1, "phone"))) == []
    assert added == ["RecommendationsFailed"] and len(logged) == 1
    with pytest.raises(RuntimeError):
        recommender.suggestions("m", "c-1")  # the API path reports the failure


# --- Shopify products ------------------------------------------------------------------------


def test_shopify_product_payload_becomes_a_product_with_every_variant_sku():
    from postpurchase.storefronts.shopify_products import deleted_product_id, product_update

    data = json.loads((SHOPIFY / "products_create.json").read_text(encoding="utf-8"))
    item, updated_at = product_update(data, "https://kilif.example")
    assert item.product_id == "9012345678901234567"
    assert item.skus == ("CASE-P15-CLEAR", "CASE-P15-SMOKE")
    assert item.category == "phone case" and item.price == Decimal("22.00") and item.currency == "USD"
    assert item.product_url == "https://kilif.example/products/clear-magsafe-case-phone-15"
    assert item.image_url.startswith("https://cdn.shopify.com/") and item.available
    assert updated_at.isoformat() == "2026-11-02T09:14:07-05:00"
    assert deleted_product_id(json.loads((SHOPIFY / "products_delete.json").read_text())) == item.product_id


@pytest.mark.parametrize("change, available", [
    ({"status": "draft"}, False), ({"status": "archived"}, False), ({"published_at": None}, False),
    ({"variants": []}, False), ({}, True)])
def test_shopify_product_availability(change, available):
    from postpurchase.storefronts.shopify_products import product_update

    data = {**json.loads((SHOPIFY / "products_create.json").read_text(encoding="utf-8")), **change}
    if change.get("variants") == []:
        data["variants"] = [{"price": "1.00", "sku": "X", "inventory_management": "shopify",
                             "inventory_quantity": 0, "inventory_policy": "deny"}]
    assert product_update(data, None)[0].available is available


def test_shopify_product_errors_name_shopify_fields():
    from postpurchase.storefronts.shopify_products import product_update

    data = json.loads((SHOPIFY / "products_create.json").read_text(encoding="utf-8"))
    data["variants"][1]["price"] = "free"
    with pytest.raises(InvalidInput) as error:
        product_update(data, None)
    assert error.value.field == "variants[1].price"
    with pytest.raises(InvalidInput) as error:
        product_update({k: v for k, v in data.items() if k != "title"}, None)
    assert error.value.field == "title"


def test_product_rejects_negative_prices():
    with pytest.raises(ValidationError):
        product("p", "case", "-1.00")
