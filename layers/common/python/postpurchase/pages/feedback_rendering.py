"""Render the rating page (templates/pages/feedback.html) with the shared page frame."""
from __future__ import annotations

from typing import Any

from babel.numbers import format_percent

from . import rendering
from .feedback_model import RATINGS, FeedbackPage


def _coupon(fmt: Any, page: FeedbackPage) -> dict[str, Any] | None:
    coupon = page.coupon
    if coupon is None:
        return None
    if coupon.discount_type == "percent":
        value = format_percent(coupon.value / 100, locale=fmt.locale)
    else:
        value = fmt.money(coupon.value, coupon.currency) if coupon.currency else fmt.number(coupon.value)
    min_spend = (fmt.money(coupon.min_spend, coupon.currency)
                 if coupon.min_spend is not None and coupon.currency else None)
    return {"code": coupon.code, "value": value, "min_spend": min_spend,
            "expires": fmt.day(fmt.local_day(coupon.expires_at)) if coupon.expires_at else None}


def _photos(fmt: Any, page: FeedbackPage) -> dict[str, Any] | None:
    from ..reviews.model import MAX_PHOTOS
    from ..reviews.photos import MAX_BYTES

    if not page.has_review:
        return None
    return {"shown": page.photos, "count": len(page.photos), "count_text": fmt.number(len(page.photos)),
            "max": fmt.number(MAX_PHOTOS), "max_megabytes": fmt.number(MAX_BYTES // (1024 * 1024)),
            "action": page.photo_upload_url, "fields": sorted(page.photo_fields.items()),
            "outcome": page.photo_outcome}


def render_feedback_page(page: FeedbackPage, *, nonce: str) -> str:
    context = page.context
    fmt = rendering._Format(context)
    action = rendering._path(context.shop.merchant_id, "feedback", page.link_token)
    frame = rendering._frame(context, fmt, nonce, switch_path=action, switch_params=[])
    data = {
        **frame,
        "feedback": {
            "action": action,
            "product": page.product_title,
            "ratings": [{"value": value, "checked": value == page.rating} for value in RATINGS],
            "comment": page.comment,
            "title": page.title,
            "author": page.author,
            "max_title": fmt.number(150),
            "title_error": page.errors.get("title"),
            "max_comment": fmt.number(2000),
            "thanked": page.thanked,
            "coupon": _coupon(fmt, page),
            "rating_error": page.errors.get("rating"),
            "comment_error": page.errors.get("comment"),
        },
        "photos": _photos(fmt, page),
    }
    return rendering._render("pages/feedback.html", fmt.language, data)
