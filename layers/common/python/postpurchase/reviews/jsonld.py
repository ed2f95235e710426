"""schema.org JSON-LD for a product's reviews, for the storefront to embed (pure).

Google's review snippets want one `Product` with an `AggregateRating` (ratingValue and
reviewCount; bestRating/worstRating since our scale is 1-5) and `Review` items each with an
`author` (a Person's display name: never an e-mail), `datePublished`, `reviewRating` and
`reviewBody`. With no published review there is no AggregateRating at all (Google refuses a
reviewCount of 0).
"""
from __future__ import annotations

from typing import Any

from .model import Review
from .summary import Summary


def product_jsonld(sku: str, product_name: str | None, summary: Summary, reviews: list[Review],
                   *, product_url: str | None = None, anonymous_author: str = "Customer") -> dict[str, Any]:
    document: dict[str, Any] = {"@context": "https://schema.org", "@type": "Product", "sku": sku,
                                "name": product_name or sku}
    if product_url:
        document["url"] = product_url
    if summary.count:
        document["aggregateRating"] = {"@type": "AggregateRating", "ratingValue": summary.average,
                                       "reviewCount": summary.count, "bestRating": 5, "worstRating": 1}
        document["review"] = [_review(review, anonymous_author) for review in reviews if review.published]
    return document


def _review(review: Review, anonymous_author: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "@type": "Review",
        "author": {"@type": "Person", "name": review.author or anonymous_author},
        "datePublished": (review.published_at or review.submitted_at).date().isoformat(),
        "reviewRating": {"@type": "Rating", "ratingValue": review.rating, "bestRating": 5, "worstRating": 1},
        "reviewBody": review.body or review.title or "",
    }
    if review.title:
        item["name"] = review.title
    return item
