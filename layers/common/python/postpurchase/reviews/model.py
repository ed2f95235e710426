"""A review: the public life of one feedback answer (pure).

The customer's rating, title and text come from their feedback answer (feedback/model.py: one
per order item); the review adds what publishing needs: photos, the moderation state, the
merchant's public reply and the author's display name. A review exists only for an answer
tied to one of our order records, so `verified_buyer` is derived from that tie (`order_id`), never
set from a request. The merchant can hide, unhide and reply; nothing here lets anyone but the
customer change the rating, title, text or photos.
"""
from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..errors import NotFound

Status = Literal["pending", "published", "hidden"]
MAX_TITLE = 150
MAX_REPLY = 2000
MAX_PHOTOS = 4


class Photo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str  # the object key of the cleaned image (public prefix of the media bucket)
    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    width: int
    height: int


class Reply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=MAX_REPLY)]
    at: AwareDatetime


class Review(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    merchant_id: str
    order_id: str  # our order record: the reason the author is a verified buyer
    sku: str
    product_title: str | None = None
    product_url: str | None = None
    rating: Annotated[int, Field(ge=1, le=5)]
    title: str | None = None
    body: str | None = None
    photos: tuple[Photo, ...] = ()
    author: str  # display name ("Ayşe K."), never the email or the customer id
    language: str = "en"  # the customer's language: which word list moderation used
    submitted_at: AwareDatetime
    updated_at: AwareDatetime
    status: Status = "pending"
    # Why a review waits in the queue (moderation.py reasons); empty once published or hidden.
    held_for: tuple[str, ...] = ()
    hidden_by_merchant: bool = False  # a merchant's hide sticks through the customer's later edits
    published_at: AwareDatetime | None = None
    reply: Reply | None = None
    version: Annotated[int, Field(ge=1)] = 1
    # The review's public name (new_public_id): random, assigned once when the review is first
    # saved, and the only id any output shows. None only on reviews saved before it existed, until
    # their next save or `reviews backfill-ids` gives them one.
    public_id: str | None = None

    @property
    def verified_buyer(self) -> bool:
        """Derived, never stored or accepted: the review came from one of our order records."""
        return bool(self.order_id)

    @property
    def review_id(self) -> str:
        """The id every output shows: the opaque public one (the legacy encoding only for a review
        not yet given one)."""
        return self.public_id or review_id(self.order_id, self.sku)

    @property
    def published(self) -> bool:
        return self.status == "published"


PUBLIC_ID_BYTES = 12  # 16 URL-safe characters, 96 random bits: not guessable, reveals nothing


def new_public_id() -> str:
    return secrets.token_urlsafe(PUBLIC_ID_BYTES)


def with_public_id(review: Review, new_id: str | None = None) -> Review:
    """The review with its public id (unchanged when it has one): assigned once, never replaced."""
    if review.public_id:
        return review
    return review.model_copy(update={"public_id": new_id or new_public_id()})


_ID_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def looks_like_review_id(value: str) -> bool:
    """URL-safe base64 characters only (public and legacy ids alike), checked before any read."""
    return 1 <= len(value or "") <= 400 and set(value) <= _ID_CHARACTERS


def review_id(order_id: str, sku: str) -> str:
    """The legacy id: a reversible URL-safe encoding of (order, sku), so it names the order. Kept
    only so reviews saved before public ids existed, and merchants' stored links to them, still
    resolve for the merchant's API (views.locate); never shown for a review that has a public id."""
    return base64.urlsafe_b64encode(f"{order_id}#{sku}".encode()).decode().rstrip("=")


def parse_review_id(value: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound("no such review", field="review_id") from None
    order_id, sep, sku = raw.partition("#")
    if not sep or not order_id or not sku or len(value) > 400:
        raise NotFound("no such review", field="review_id")
    return order_id, sku


def display_name(first_name: str | None, last_name: str | None) -> str:
    """"Ayşe K.": the first name and the last name's initial. Neither given: "" (the page's
    template shows its translated "A customer")."""
    first = (first_name or "").strip().split(" ")[0][:40]
    last = (last_name or "").strip()
    initial = f" {last[0].upper()}." if last else ""
    return f"{first}{initial}".strip() if first else (f"{last[0].upper()}." if last else "")


def clean_title(value: object) -> str | None:
    from ..errors import NotAllowed

    if value is None:
        return None
    if not isinstance(value, str):
        raise NotAllowed("title must be text", field="title")
    text = " ".join(value.split())
    if len(text) > MAX_TITLE:
        raise NotAllowed(f"title is longer than {MAX_TITLE} characters", field="title")
    return text or None


def public_document(review: Review, media_base_url: str) -> dict:
    """What anyone may read: no email, no customer id, no order id."""
    base = media_base_url.rstrip("/")
    return {
        "review_id": review.review_id,
        "sku": review.sku,
        "rating": review.rating,
        "title": review.title,
        "body": review.body,
        "author": review.author,
        "verified_buyer": review.verified_buyer,
        "published_at": review.published_at.isoformat() if review.published_at else None,
        "photos": [{"url": f"{base}/{photo.key}", "width": photo.width, "height": photo.height}
                   for photo in review.photos],
        "reply": {"text": review.reply.text, "at": review.reply.at.isoformat()} if review.reply else None,
    }


def merchant_document(review: Review, media_base_url: str) -> dict:
    """The merchant's view: the public one plus the order it belongs to and the moderation state."""
    return {**public_document(review, media_base_url), "order_id": review.order_id, "status": review.status,
            "held_for": list(review.held_for), "hidden_by_merchant": review.hidden_by_merchant,
            "product_title": review.product_title, "submitted_at": review.submitted_at.isoformat(),
            "updated_at": review.updated_at.isoformat()}


def published_now(review: Review, now: datetime) -> Review:
    return review.model_copy(update={"status": "published", "held_for": (), "hidden_by_merchant": False,
                                     "published_at": review.published_at or now})
