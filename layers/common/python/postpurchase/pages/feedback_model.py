"""What the rating page shows, as data (built by pages/feedback.py, rendered by feedback_rendering.py)."""
from __future__ import annotations

from ..messaging.requests import OfferNotice
from . import model

RATINGS = (1, 2, 3, 4, 5)


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
