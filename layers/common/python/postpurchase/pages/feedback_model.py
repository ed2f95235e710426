"""What the rating page shows, as data (built by pages/feedback.py, rendered by feedback_rendering.py)."""
from __future__ import annotations

from ..messaging.requests import OfferNotice
from . import model

RATINGS = (1, 2, 3, 4, 5)
# What the photo upload's redirect back to the page reports (`?photo=`): added, or why not.
PHOTO_OUTCOMES = ("added", "size", "type", "pixels", "unreadable", "count", "missing", "rate_first")


class FeedbackPage(model._Page):
    context: model.PageContext
    link_token: str  # the rating token (the page's own address)
    product_title: str | None = None
    rating: int | None = None  # the stored (or just recorded) rating
    comment: str = ""
    title: str = ""  # the review's title (shown with the comment on the storefront)
    author: str = ""  # the name the storefront review shows; "" = "a verified buyer"
    thanked: bool = False  # an answer was just recorded
    coupon: OfferNotice | None = None
    errors: dict[str, str] = {}  # field -> invalid | too_long (rating, comment, title)
    # Photos (shown once the answer has a storefront review): those added, and a form posting one
    # more straight to S3 (url + presigned fields) while there is room.
    has_review: bool = False
    photos: list[dict] = []  # url, width, height
    photo_upload_url: str | None = None
    photo_fields: dict[str, str] = {}
    photo_outcome: str | None = None  # one of PHOTO_OUTCOMES
