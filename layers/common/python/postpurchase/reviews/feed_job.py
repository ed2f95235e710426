"""The daily Google reviews feed: for each merchant with published reviews, the full feed rebuilt
from its published listing and written to S3 (ports in, no AWS here).

Rewriting the whole object each day is what the full-feed mode expects, and it heals itself: a
failed run leaves yesterday's feed in place, the next run writes the whole truth again.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from .feed import build_feed
from .model import Review
from .settings import ReviewSettings


class PublishedReviews(Protocol):
    def feed_merchants(self) -> Iterator[str]: ...

    def published(self, merchant_id: str) -> Iterator[Review]: ...


class Shop(Protocol):
    name: str
    website_url: str | None
    logo_url: str | None


class Ports(Protocol):
    reviews: PublishedReviews

    def shop(self, merchant_id: str) -> Shop | None: ...

    def review_settings(self, merchant_id: str) -> ReviewSettings: ...

    def write_feed(self, merchant_id: str, xml: bytes) -> str:
        """Store the feed; returns where it is served."""
        ...

    def photo_url(self, key: str) -> str: ...


@dataclass(frozen=True)
class FeedResult:
    merchant_id: str
    reviews: int
    location: str


def review_url(review: Review, settings: ReviewSettings, website: str | None) -> str:
    """Where the review is read: the merchant's template, else the product page, else the shop."""
    from urllib.parse import quote

    if settings.review_url_template:
        return settings.review_url_template.replace("{sku}", quote(review.sku, safe=""))
    return review.product_url or website or ""


class _Counted:
    def __init__(self, reviews: Iterable[Review]) -> None:
        self.reviews, self.count = reviews, 0

    def __iter__(self) -> Iterator[Review]:
        for review in self.reviews:
            if review.published:
                self.count += 1
                yield review


def build_merchant_feed(ports: Ports, merchant_id: str) -> FeedResult | None:
    shop = ports.shop(merchant_id)
    if shop is None:
        return None
    settings = ports.review_settings(merchant_id)
    counted = _Counted(ports.reviews.published(merchant_id))
    xml = build_feed(shop.name, counted, review_url=lambda review: review_url(review, settings, shop.website_url),
                     photo_url=ports.photo_url, favicon=shop.logo_url)
    return FeedResult(merchant_id, counted.count, ports.write_feed(merchant_id, xml))


class FeedsFailed(RuntimeError):
    """Some merchants' feeds could not be built (the others were): the run fails, so its alarm fires."""


def build_all(ports: Ports) -> list[FeedResult]:
    """Every merchant's feed; one merchant's failure does not stop the others' (it is raised after)."""
    results, failed = [], []
    for merchant_id in ports.reviews.feed_merchants():
        try:
            result = build_merchant_feed(ports, merchant_id)
        except Exception as error:  # noqa: BLE001 - reported below, after the other merchants' feeds
            failed.append(f"{merchant_id}: {error!r}")
            continue
        if result is not None:
            results.append(result)
    if failed:
        raise FeedsFailed(f"{len(failed)} feed(s) not built ({len(results)} built): {'; '.join(failed)[:2000]}")
    return results
