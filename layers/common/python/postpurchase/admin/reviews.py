"""`reviews backfill-ids`: give reviews saved before public ids existed their opaque public id.

Since public ids exist, a review gets one when it is first saved (reviews/model.py new_public_id)
and every output names it by it; an older review shows its legacy id, which encodes its order id,
until its next save. The backfill makes that save now for every such review: one version-checked
save each (service.change), which writes the id's lookup item and moves the review's public
copies (listing, queue, feed) to the new id in the same transaction. A review already given an id
is left alone, so running it again changes nothing; a concurrent change simply wins and is re-read.
Its photos, published under the legacy id, are copied under the new one and the old copies
deleted. It is a one-off operator job, so it Scans (filtered to reviews, one merchant or all).
"""
from __future__ import annotations

import argparse
from collections import Counter
from datetime import datetime
from typing import Any


def register(groups: argparse._SubParsersAction) -> None:
    from . import register_backfill

    register_backfill(groups, "reviews", "storefront reviews",
                      "give reviews saved before public ids existed their id", run_backfill,
                      command="backfill-ids")


def run_backfill(arguments: argparse.Namespace, now: datetime) -> dict[str, Any]:
    return backfill(arguments.merchant, now, dry_run=arguments.dry_run)


def backfill(merchant_id: str | None, now: datetime, *, dry_run: bool = False) -> dict[str, Any]:
    from .. import services
    from ..reviews import service
    from ..reviews.model import Review
    from ..storage.table import ReviewRecord

    counts: Counter[str] = Counter()
    store = services.review_store()
    condition = (ReviewRecord.merchant_id == merchant_id) if merchant_id else None
    for record in ReviewRecord.scan(condition):
        counts["scanned"] += 1
        review = Review.model_validate_json(record.document)
        if review.public_id:
            counts["unchanged"] += 1
            continue
        if dry_run:
            counts["would_be_given_an_id"] += 1
            continue
        updated = service.change(store, review.merchant_id, review.order_id, review.sku,
                                 lambda current: _moved_photos(service.give_public_id(current), current), now)
        kept = {photo.key for photo in updated.photos}
        for photo in review.photos:  # the copies under the legacy id, once the review names the new ones
            if photo.key not in kept:
                services.review_media().delete(photo.key)
                counts["photos_moved"] += 1
        counts["given_an_id"] += 1
    return {"merchant_id": merchant_id, "dry_run": dry_run, **dict(sorted(counts.items()))}


def _moved_photos(review, legacy):  # noqa: ANN001, ANN202 - Review -> Review
    """The review with its photos copied under its public id (their keys named the legacy id)."""
    from .. import services

    if review is legacy or not review.photos:
        return review
    old_part, new_part = f"/{legacy.review_id}/", f"/{review.review_id}/"
    media, photos = services.review_media(), []
    for photo in review.photos:
        if old_part in photo.key:
            moved = photo.model_copy(update={"key": photo.key.replace(old_part, new_part, 1)})
            media.copy(photo.key, moved.key)
            photo = moved
        photos.append(photo)
    return review.model_copy(update={"photos": tuple(photos)})
