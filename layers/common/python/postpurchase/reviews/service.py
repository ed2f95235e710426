"""Review operations (ports in, no AWS here): follow the customer's answer, the merchant's
moderation (publish, hide, reply: never an edit), photos, and the public reads.

Every change is one version-checked save (ReviewStore.save), which moves the review's public
copies and the product's counters in the same transaction, so a retried request finds the work
done and changes nothing (the counters never count a review twice).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from ..errors import Conflict, NotAllowed, NotFound
from ..feedback.model import Feedback
from ..orders.models import Order
from . import moderation
from .model import MAX_PHOTOS, MAX_REPLY, Photo, Reply, Review, display_name, published_now, with_public_id
from .settings import ReviewSettings
from .summary import Summary

ATTEMPTS = 3
Sort = Literal["newest", "highest", "with_photos"]
SORTS: tuple[Sort, ...] = ("newest", "highest", "with_photos")


class StaleReview(Exception):
    """The review changed between reading and writing it."""


class ReviewStore(Protocol):
    def get(self, merchant_id: str, order_id: str, sku: str) -> Review | None: ...

    def locate(self, merchant_id: str, public_id: str) -> tuple[str, str] | None:
        """(order id, sku) of the merchant's review with this public id."""
        ...

    def save(self, review: Review, previous: Review | None) -> None:
        """Raises StaleReview when `previous` is no longer what is stored."""
        ...


@dataclass(frozen=True)
class Page:
    reviews: list[Review]
    cursor: str | None


def _content_changed(review: Review, rating: int, title: str | None, body: str | None) -> bool:
    return (review.rating, review.title, review.body) != (rating, title, body)


def _moderated(review: Review, settings: ReviewSettings, now: datetime) -> Review:
    """The state after the customer's content changed: a merchant's hide sticks; else the rules."""
    if review.hidden_by_merchant:
        return review.model_copy(update={"status": "hidden", "held_for": ()})
    reasons = moderation.hold_reasons(review.rating, review.title, review.body, review.language, settings)
    if reasons:
        return review.model_copy(update={"status": "pending", "held_for": reasons})
    return published_now(review, now)


def from_feedback(existing: Review | None, feedback: Feedback, order: Order, settings: ReviewSettings,
                  now: datetime) -> Review:
    """The review after the customer answered (or changed the answer) about an order item."""
    rating, title, body = feedback.rating, feedback.title, feedback.comment
    if existing is not None and not _content_changed(existing, rating, title, body):
        return existing
    if existing is None:
        customer = order.customer
        item = next((line for line in order.items if line.sku == feedback.sku), None)
        draft = Review(merchant_id=feedback.merchant_id, order_id=feedback.order_id, sku=feedback.sku,
                       product_title=feedback.product_title, product_url=item.product_url if item else None,
                       rating=rating, title=title, body=body,
                       author=display_name(customer.first_name, customer.last_name),
                       language=moderation.language_of(customer.locale), submitted_at=now, updated_at=now)
    else:
        draft = existing.model_copy(update={"rating": rating, "title": title, "body": body,
                                            "updated_at": max(now, existing.updated_at),
                                            "version": existing.version + 1})
    return _moderated(with_public_id(draft), settings, now)  # a new review gets its public id here


def publish(review: Review, now: datetime) -> Review:
    if review.published:
        return review
    return published_now(review, now).model_copy(update={"version": review.version + 1, "updated_at": now})


def hide(review: Review, now: datetime) -> Review:
    if review.status == "hidden" and review.hidden_by_merchant:
        return review
    return review.model_copy(update={"status": "hidden", "hidden_by_merchant": True, "held_for": (),
                                     "version": review.version + 1, "updated_at": now})


def reply(review: Review, text: object, now: datetime) -> Review:
    """The merchant's public answer below the review (None or "" removes it)."""
    if text is not None and not isinstance(text, str):
        raise NotAllowed("text must be text", field="text")
    clean = (text or "").strip()
    if len(clean) > MAX_REPLY:
        raise NotAllowed(f"text is longer than {MAX_REPLY} characters", field="text")
    if (review.reply.text if review.reply else "") == clean:
        return review
    return review.model_copy(update={"reply": Reply(text=clean, at=now) if clean else None,
                                     "version": review.version + 1, "updated_at": now})


def add_photo(review: Review, photo: Photo, now: datetime) -> Review:
    if any(existing.key == photo.key for existing in review.photos):
        return review
    if len(review.photos) >= MAX_PHOTOS:
        raise NotAllowed(f"a review has at most {MAX_PHOTOS} photos", field="photo", reason="count")
    return review.model_copy(update={"photos": (*review.photos, photo), "version": review.version + 1,
                                     "updated_at": now})


def change(store: ReviewStore, merchant_id: str, order_id: str, sku: str,
           step: "StepFn", now: datetime) -> Review:
    """Apply `step` to the stored review and save it (re-read on a concurrent change)."""
    for _ in range(ATTEMPTS):
        before = store.get(merchant_id, order_id, sku)
        if before is None:
            raise NotFound("no such review", field="review_id")
        after = step(before)
        if after is before or after == before:
            return before
        after = with_public_id(after)  # a review saved before public ids existed gets one now
        try:
            store.save(after, before)
        except StaleReview:
            continue
        return after
    raise Conflict("the review changed meanwhile; try again", field="review_id")


_UNKNOWN: object = object()


def follow_feedback(store: ReviewStore, feedback: Feedback, order: Order, settings: ReviewSettings,
                    now: datetime, known: "Review | None | object" = _UNKNOWN) -> Review:
    """Called after every recorded answer: create or update its review (idempotent). `known` is
    the review as read with the answer (None: there was none); a stale one only costs a re-read."""
    for attempt in range(ATTEMPTS):
        before: Review | None = (known if attempt == 0 and known is not _UNKNOWN  # type: ignore[assignment]
                  else store.get(feedback.merchant_id, feedback.order_id, feedback.sku))
        after = from_feedback(before, feedback, order, settings, now)
        if before is not None and after == before:
            return before
        try:
            store.save(after, before)
        except StaleReview:
            continue
        return after
    raise Conflict("the review changed meanwhile; send it again", field="rating")


def give_public_id(review: Review) -> Review:
    """The step of `reviews backfill-ids` (and of a photo added to an older review): the review
    with its public id, one version on (so the save moves its copies to the new id)."""
    if review.public_id:
        return review
    return with_public_id(review).model_copy(update={"version": review.version + 1})


class StepFn(Protocol):
    def __call__(self, review: Review, /) -> Review: ...


__all__ = ["Page", "ReviewStore", "SORTS", "Sort", "StaleReview", "Summary", "add_photo", "change",
           "follow_feedback", "from_feedback", "give_public_id", "hide", "publish", "reply"]
