"""The rating page a review email links to: `/pages/{m}/feedback/{token}[?rating=N]`.

The signed token names (merchant, order, sku) and is the only authority. A GET with a valid
`rating` records it at once (one tap from the email; repeating it changes nothing, and a
comment already given is kept), then shows the form to change the rating and add a comment.
The form POSTs back with the link token and a form token bound to it (HMAC, subject
`feedback:{order}:{sku}`), and a POST from another origin is refused, like the other pages.
Headers (CSP with a style nonce, no-store, same-origin referrer) come from pages/handlers.py.

Once the answer has a storefront review the page lists its photos and, while there is room, a
form that posts one more photo straight to S3 (no script: the presigned POST's fields are hidden
inputs; the CSP's form-action allows the bucket's origin). S3 sends the browser on to
`/pages/{m}/feedback/{token}/photos/{upload_id}` (photo_uploaded), which checks and cleans the
upload exactly as the API's attach call does and redirects back here with `?photo=` naming the
outcome, shown in the customer's language.

Requests: a GET without rating is one BatchGetItem (order + answer + review; the upload form is
signed locally); with a rating, and every POST, it is feedback.service.submit (BatchGetItem, plus
one transaction when the answer changed).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from ..errors import DomainError, NotFound
from ..feedback import views
from ..feedback.model import KEEP_COMMENT, MAX_COMMENT, Feedback, clean_comment, parse_rating
from ..messaging.requests import OfferNotice
from ..security.tokens import verify_form_token
from ..reviews.model import MAX_TITLE, clean_title, display_name
from .feedback_model import PHOTO_OUTCOMES, FeedbackPage
from .handlers import (PageResponse, _context, _error, _form, _html, _keys, _redirect, _same_origin, _shopper,
                       _with_query, page_path)


def _subject(order_id: str, sku: str) -> str:
    return f"feedback:{order_id}:{sku}"


def _invalid(merchant_id: str, lang: str | None, now: datetime) -> PageResponse:
    return _error(merchant_id, "invalid_link", 404, lang, now)


def _render(merchant_id: str, token: str, order_id: str, sku: str, lang: str | None, now: datetime, *,
            feedback: Feedback | None, product_title: str | None, customer_locale: str | None = None,
            customer_timezone: str | None = None, thanked: bool = False, coupon: OfferNotice | None = None,
            errors: dict[str, str] | None = None, comment: str | None = None, rating: int | None = None,
            status: int = 200, title: str | None = None, author: str = "", review: Any = None,
            photo_outcome: str | None = None, base_url: str | None = None) -> PageResponse:
    from .feedback_rendering import render_feedback_page

    shopper = _shopper(merchant_id, lang, customer_locale)
    context = _context(shopper, now, locale=customer_locale, timezone=customer_timezone, token=token,
                       subject=_subject(order_id, sku))
    page = FeedbackPage(context=context, link_token=token, product_title=product_title,
                        rating=rating if rating is not None else (feedback.rating if feedback else None),
                        comment=comment if comment is not None else ((feedback.comment or "") if feedback else ""),
                        title=title if title is not None else ((feedback.title or "") if feedback else ""),
                        author=author,
                        thanked=thanked, coupon=coupon, errors=errors or {},
                        **_photo_fields(merchant_id, token, review, lang, base_url))
    page = page.model_copy(update={"photo_outcome": photo_outcome if photo_outcome in PHOTO_OUTCOMES else None})
    if not page.has_review:
        return _html(status, render_feedback_page, page)
    from ..reviews.views import media_origin

    upload = (_origin(page.photo_upload_url),) if page.photo_upload_url else ()
    return _html(status, render_feedback_page, page, form_actions=upload, images=(media_origin(),))


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _photo_fields(merchant_id: str, token: str, review: Any, lang: str | None,
                  base_url: str | None) -> dict[str, Any]:
    """The page's photo part: the review's photos and, while it has room, the upload form whose
    redirect brings the browser back to photo_uploaded."""
    if review is None:
        return {}
    from ..config import settings
    from ..reviews.views import photo_form, photo_urls

    base = (base_url or settings().public_base_url).rstrip("/")
    form = photo_form(review, lambda upload_id: _with_query(
        base + page_path(merchant_id, "feedback", token, "photos", upload_id), lang=lang))
    return {"has_review": True, "photos": photo_urls(review), "photo_upload_url": form.url if form else None,
            "photo_fields": form.fields if form else {}}


def photo_uploaded(merchant_id: str, token: str, upload_id: str, query: Mapping[str, str],
                   now: datetime) -> PageResponse:
    """Where S3 sends the browser after the page's upload: clean and attach it as the API does
    (reviews.views.photo_attach: real type, size, EXIF stripped, at most MAX_PHOTOS), then back
    to the rating page saying what happened. Repeating it (a reload) changes nothing."""
    from ..errors import Conflict, InvalidInput, NotAllowed
    from ..reviews.model import looks_like_review_id
    from ..reviews.views import photo_attach

    lang = query.get("lang")
    try:
        views.token_claims(token, now, merchant_id)
    except NotFound:
        return _invalid(merchant_id, lang, now)
    if not 1 <= len(upload_id or "") <= 64 or not looks_like_review_id(upload_id):  # the form's own ids only
        return _invalid(merchant_id, lang, now)
    try:
        photo_attach(token, upload_id, now)
        outcome = "added"
    except (NotAllowed, Conflict, InvalidInput) as refused:
        reason = refused.details.get("reason")
        outcome = (reason if reason in PHOTO_OUTCOMES else
                   {"upload_id": "missing", "rating": "rate_first"}.get(refused.field or "", "unreadable"))
    return _redirect(_with_query(page_path(merchant_id, "feedback", token), photo=outcome, lang=lang))


def feedback_page(merchant_id: str, token: str, query: Mapping[str, str], now: datetime,
                  base_url: str | None = None) -> PageResponse:
    from ..services import feedback_store

    lang = query.get("lang")
    try:
        _, order_id, sku = views.token_claims(token, now, merchant_id)
    except NotFound:
        return _invalid(merchant_id, lang, now)
    if query.get("rating"):
        try:
            submission = views.record(token, query.get("rating"), KEEP_COMMENT, "page", now, merchant_id)
        except DomainError as refused:
            if refused.field != "rating":
                raise
        else:
            return _after(merchant_id, token, lang, now, submission, base_url)
    loaded = feedback_store().load(merchant_id, order_id, sku)
    item = next((line for line in loaded.order.items if line.sku == sku), None) if loaded else None
    if loaded is None or item is None:
        return _invalid(merchant_id, lang, now)
    customer = loaded.order.customer
    errors = {"rating": "invalid"} if query.get("rating") else None
    return _render(merchant_id, token, order_id, sku, lang, now, feedback=loaded.feedback, product_title=item.title,
                   customer_locale=customer.locale, customer_timezone=customer.timezone, errors=errors,
                   status=422 if errors else 200, author=display_name(customer.first_name, customer.last_name),
                   review=loaded.review, photo_outcome=query.get("photo"), base_url=base_url)


def _after(merchant_id: str, token: str, lang: str | None, now: datetime, submission: Any,
           base_url: str | None = None) -> PageResponse:
    feedback = submission.feedback
    return _render(merchant_id, token, feedback.order_id, feedback.sku, lang, now, feedback=feedback,
                   product_title=feedback.product_title, customer_locale=submission.customer_locale,
                   customer_timezone=submission.customer_timezone, thanked=True, coupon=submission.coupon,
                   author=getattr(submission, "author", ""), review=getattr(submission, "review", None),
                   base_url=base_url)


def submit_feedback(merchant_id: str, token: str, raw_body: bytes | None, headers: Mapping[str, str],
                    host: str | None, now: datetime, base_url: str | None = None) -> PageResponse:
    form = _form(raw_body)
    lang = form.get("lang") or None
    try:
        _, order_id, sku = views.token_claims(token, now, merchant_id)
    except NotFound:
        return _invalid(merchant_id, lang, now)
    genuine = (form.get("token") == token and _same_origin(headers, host)
               and verify_form_token(_keys(), merchant_id, _subject(order_id, sku), token,
                                     form.get("csrf_token")))
    if not genuine:
        return _error(merchant_id, "invalid_link", 403, lang, now)
    errors: dict[str, str] = {}
    rating: int | None = None
    comment_text = form.get("comment", "")
    title_text = form.get("title", "")
    try:
        rating = parse_rating(form.get("rating"))
    except DomainError:
        errors["rating"] = "invalid"
    try:
        clean_comment(comment_text)
    except DomainError:
        errors["comment"] = "too_long"
    try:
        clean_title(title_text)
    except DomainError:
        errors["title"] = "too_long"
    if errors:
        from ..services import feedback_store

        loaded = feedback_store().load(merchant_id, order_id, sku)
        item = next((line for line in loaded.order.items if line.sku == sku), None) if loaded else None
        if loaded is None or item is None:
            return _invalid(merchant_id, lang, now)
        customer = loaded.order.customer
        return _render(merchant_id, token, order_id, sku, lang, now, feedback=loaded.feedback,
                       product_title=item.title, customer_locale=customer.locale,
                       customer_timezone=customer.timezone, errors=errors,
                       comment=comment_text[:MAX_COMMENT * 2], rating=rating, status=422,
                       title=title_text[:MAX_TITLE * 2], author=display_name(customer.first_name, customer.last_name),
                       review=loaded.review, base_url=base_url)
    submission = views.record(token, rating, comment_text, "page", now, merchant_id, title=title_text)
    return _after(merchant_id, token, lang, now, submission, base_url)
