"""Which products to suggest, and why (pure: the caller loads the data, `recommend` decides)."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .catalog import Catalog, Product
from .rules import RecommendationRules


@dataclass(frozen=True)
class Seed:
    """A product the suggestions should complement: in the order being confirmed (weight 1) or
    bought before (the rules' history_weight). `category` is the catalog's, else the order line's."""

    product_id: str
    category: str | None
    weight: float
    title: str | None = None


@dataclass(frozen=True)
class Reason:
    kind: str  # "rule" (complements a category) | "bought_together" (with a product)
    category: str | None = None
    product_id: str | None = None
    title: str | None = None
    count: int | None = None

    def as_dict(self) -> dict:
        body = {"type": self.kind}
        for name in ("category", "product_id", "title", "count"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        return body


@dataclass(frozen=True)
class Suggestion:
    product: Product
    score: float
    reasons: tuple[Reason, ...] = field(default_factory=tuple)


def recommend(catalog: Catalog, rules: RecommendationRules, seeds: Iterable[Seed],
              copurchases: Mapping[str, Mapping[str, int]], exclude: Iterable[str], limit: int) -> list[Suggestion]:
    """The `limit` best products to suggest next to `seeds`.

    For each catalog product p that is available, not excluded (bought, returned) and not a seed:

        rule(p)   = sum over seeds s of  w_s * rules.categories[category(s)][category(p)]
        bought(p) = sum over seeds s of  w_s * log2(1 + n(s, p))      for n(s, p) >= min_copurchase
        score(p)  = rules.rule_weight * rule(p) + rules.copurchase_weight * bought(p)

    where w_s is 1 for a product of the order being confirmed and `history_weight` for one bought
    before, and n(s, p) is how many orders held both s and p (learned from the merchant's own
    orders). The logarithm keeps one best-seller from drowning every rule: 1 pair scores 1,
    3 pairs 2, 7 pairs 3. Only products with a positive score are suggested (no filler).

    Diversity: products are picked greedily; each product already picked from p's category
    multiplies score(p) by `diversity_penalty` (0.5: a second case must be twice as good as the
    best headset), and no category gets more than `max_per_category`. Ties break on the higher
    raw score, then the lower price, then product_id, so the answer is deterministic.
    """
    seeds = [seed for seed in seeds if seed.weight > 0]
    excluded = set(exclude) | {seed.product_id for seed in seeds}
    scored: list[Suggestion] = []
    for product in catalog.products.values():
        if not product.available or product.product_id in excluded:
            continue
        suggestion = _score(product, seeds, rules, copurchases, catalog)
        if suggestion is not None:
            scored.append(suggestion)
    return _diverse(scored, rules, limit)


def _score(product: Product, seeds: list[Seed], rules: RecommendationRules,
           copurchases: Mapping[str, Mapping[str, int]], catalog: Catalog) -> Suggestion | None:
    rule_score, bought_score = 0.0, 0.0
    rule_reasons: dict[str, float] = {}
    pair_reasons: list[tuple[float, Reason]] = []
    for seed in seeds:
        accessory_weight = rules.accessories(seed.category).get(product.category, 0.0)
        if accessory_weight:
            contribution = seed.weight * accessory_weight
            rule_score += contribution
            key = str(seed.category)
            rule_reasons[key] = rule_reasons.get(key, 0.0) + contribution
        count = copurchases.get(seed.product_id, {}).get(product.product_id, 0)
        if count >= rules.min_copurchase:
            contribution = seed.weight * math.log2(1 + count)
            bought_score += contribution
            known = catalog.get(seed.product_id)
            pair_reasons.append((contribution, Reason("bought_together", product_id=seed.product_id,
                                                      title=known.title if known else seed.title, count=count)))
    score = rules.rule_weight * rule_score + rules.copurchase_weight * bought_score
    if score <= 0:
        return None
    reasons = [Reason("rule", category=category)
               for category, _ in sorted(rule_reasons.items(), key=lambda item: (-item[1], item[0]))
               if rules.rule_weight > 0]
    if rules.copurchase_weight > 0:
        reasons += [reason for _, reason in sorted(pair_reasons, key=lambda item: (-item[0], item[1].product_id))]
    return Suggestion(product, score, tuple(reasons[:3]))


def _diverse(scored: list[Suggestion], rules: RecommendationRules, limit: int) -> list[Suggestion]:
    picked: list[Suggestion] = []
    per_category: dict[str, int] = {}
    remaining = list(scored)
    while remaining and len(picked) < limit:
        best, best_key = None, None
        for suggestion in remaining:
            taken = per_category.get(suggestion.product.category, 0)
            if taken >= rules.max_per_category:
                continue
            effective = suggestion.score * rules.diversity_penalty ** taken
            key = (-effective, -suggestion.score, suggestion.product.price, suggestion.product.product_id)
            if best_key is None or key < best_key:
                best, best_key = suggestion, key
        if best is None:
            break
        picked.append(best)
        remaining.remove(best)
        per_category[best.product.category] = per_category.get(best.product.category, 0) + 1
    return picked
