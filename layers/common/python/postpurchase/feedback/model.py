"""A customer's answer about one item of one order, and the rules for a second answer (pure).

One answer per (merchant, order, sku): answering again updates it (its `version` goes up and
the previous rating and comment are kept in `history`), it never adds a second answer.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..errors import NotAllowed

MAX_COMMENT = 2000
MIN_RATING, MAX_RATING = 1, 5
Source = Literal["page", "api"]
FEEDBACK_SUBMITTED = "FeedbackSubmitted"


class FeedbackChange(BaseModel):
    """What an answer said before it was changed at `at`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    rating: int
    comment: str | None = None
    title: str | None = None
    source: Source


class Feedback(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    merchant_id: str
    order_id: str
    sku: str
    customer_id: str
    product_title: str | None = None
    rating: Annotated[int, Field(ge=MIN_RATING, le=MAX_RATING)]
    comment: Annotated[str, Field(max_length=MAX_COMMENT)] | None = None
    title: Annotated[str, Field(max_length=150)] | None = None  # the review's title (reviews/model.py)
    submitted_at: AwareDatetime
    updated_at: AwareDatetime
    source: Source
    version: Annotated[int, Field(ge=1)] = 1  # 1 + the number of changes: the webhook's delivery id
    history: list[FeedbackChange] = []


def parse_rating(value: Any) -> int:
    """An integer 1-5 (a JSON number or a form/query string); anything else names `rating`."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 2:
        value = int(value.strip())
    if not isinstance(value, int) or not MIN_RATING <= value <= MAX_RATING:
        raise NotAllowed(f"rating must be a whole number from {MIN_RATING} to {MAX_RATING}", field="rating")
    return value


def clean_comment(value: Any) -> str | None:
    """Stripped text of at most MAX_COMMENT characters; empty means no comment."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise NotAllowed("comment must be text", field="comment")
    text = value.strip()
    if len(text) > MAX_COMMENT:
        raise NotAllowed(f"comment is longer than {MAX_COMMENT} characters", field="comment")
    return text or None


_KEEP: Any = object()


def answer(existing: Feedback | None, *, merchant_id: str, order_id: str, sku: str, customer_id: str,
           product_title: str | None, rating: int, comment: str | None | object = _KEEP, source: Source,
           now: datetime, title: str | None | object = _KEEP) -> tuple[Feedback, bool]:
    """The answer after this submission and whether it changed.

    `comment` left out keeps the stored comment (a second tap on a rating link must not erase
    it); given (None or text) it replaces it. The same answer again changes nothing."""
    new_comment = (existing.comment if existing else None) if comment is _KEEP else comment
    new_title = (existing.title if existing else None) if title is _KEEP else title
    if existing is None:
        return Feedback(merchant_id=merchant_id, order_id=order_id, sku=sku, customer_id=customer_id,
                        product_title=product_title, rating=rating, comment=new_comment, title=new_title,
                        submitted_at=now, updated_at=now, source=source), True
    if existing.rating == rating and existing.comment == new_comment and existing.title == new_title:
        return existing, False
    change = FeedbackChange(at=existing.updated_at, rating=existing.rating, comment=existing.comment,
                            title=existing.title, source=existing.source)
    return existing.model_copy(update={
        "rating": rating, "comment": new_comment, "title": new_title, "updated_at": max(now, existing.updated_at), "source": source,
        "version": existing.version + 1, "history": [*existing.history, change],
        "product_title": existing.product_title or product_title}), True


KEEP_COMMENT = _KEEP


def webhook_body(feedback: Feedback) -> dict[str, Any]:
    """What the merchant's webhook receives for one answer version (also the GET item's base)."""
    return {
        "event_id": delivery_id(feedback),
        "type": FEEDBACK_SUBMITTED,
        "merchant_id": feedback.merchant_id,
        **document(feedback),
    }


def document(feedback: Feedback) -> dict[str, Any]:
    """The API's view of an answer (`GET /v1/feedback` items, `POST /v1/feedback/{token}`)."""
    return {
        "order_id": feedback.order_id,
        "sku": feedback.sku,
        "product_title": feedback.product_title,
        "customer_id": feedback.customer_id,
        "rating": feedback.rating,
        "title": feedback.title,
        "comment": feedback.comment,
        "submitted_at": feedback.submitted_at.isoformat(),
        "updated_at": feedback.updated_at.isoformat(),
        "version": feedback.version,
        "source": feedback.source,
    }


def delivery_id(feedback: Feedback) -> str:
    return f"{feedback.order_id}:{feedback.sku}:{feedback.version}"
