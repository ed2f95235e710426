"""The reviews API's operations (parse, one domain call, shape), with this deployment's adapters.

Public reads (`/v1/public/{merchant}/products/{sku}/reviews[/summary|/jsonld]`): no key, one
Query each, cacheable (Cache-Control public + a strong ETag of the body; If-None-Match -> 304).
An unknown merchant or product reads as one with no reviews: checking would cost a second read.
Merchant calls (key): the moderation queue, publish, hide, reply. Customer calls (the signed
rating token): a presigned upload for a photo, then its processing.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from .. import services
from ..config import settings
from ..errors import Conflict, InvalidInput, NotAllowed
from . import photos, service
from .model import (MAX_PHOTOS, Photo, Review, looks_like_review_id, merchant_document, parse_review_id,
                    public_document)

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
JSONLD_REVIEWS = 10


@dataclass(frozen=True)
class Cacheable:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def _etag(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return '"' + hashlib.sha256(canonical).hexdigest()[:32] + '"'


def cacheable(body: Any, if_none_match: str | None) -> Cacheable:
    tag = _etag(body)
    headers = {"Cache-Control": f"public, max-age={settings().review_cache_seconds}", "ETag": tag,
               "Access-Control-Allow-Origin": "*"}
    presented = {value.strip().removeprefix("W/") for value in (if_none_match or "").split(",") if value.strip()}
    if tag in presented or "*" in presented:
        return Cacheable(304, None, headers)
    return Cacheable(200, body, headers)


# As admin/merchants.py names shops (the admin package is not in the Lambda layer).
_MERCHANT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def _merchant(value: str) -> str:
    if not _MERCHANT_ID.match(value or ""):
        raise InvalidInput("merchant must be a shop id (lower-case letters, digits and '-')", field="merchant")
    return value


def _sku(value: str) -> str:
    text = (value or "").strip()
    if not 1 <= len(text) <= 128 or any(ord(ch) < 32 for ch in text):
        raise InvalidInput("sku must be 1-128 printable characters", field="sku")
    return text


def _limit(value: str | None, default: int = DEFAULT_LIMIT) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit")
    return int(value)


def _sort(value: str | None) -> service.Sort:
    chosen = value or "newest"
    if chosen not in service.SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(service.SORTS)}", field="sort")
    return chosen  # type: ignore[return-value]


def _media() -> str:
    return settings().review_media_base_url


# --- public reads ----------------------------------------------------------------------------------
def public_reviews(merchant: str, sku: str, query: Mapping[str, str] | None, if_none_match: str | None) -> Cacheable:
    query = query or {}
    m, s = _merchant(merchant), _sku(sku)
    reviews, cursor = services.review_store().page(m, s, _sort(query.get("sort")), limit=_limit(query.get("limit")),
                                                   cursor=query.get("cursor") or None)
    body = {"items": [public_document(review, _media()) for review in reviews if review.published],
            "next_cursor": cursor}
    return cacheable(body, if_none_match)


def public_summary(merchant: str, sku: str, if_none_match: str | None) -> Cacheable:
    summary = services.review_store().summary(_merchant(merchant), _sku(sku))
    return cacheable({"sku": _sku(sku), **summary.document()}, if_none_match)


# The msgid of messaging/templates/reviews/anonymous_author.txt (which holds it for extraction and
# the translators' note, and is never rendered): looked up with the standard library's gettext, so
# a public JSON-LD read does not load the email renderer (Jinja2, Babel, css-inline).
VERIFIED_BUYER = "Verified buyer"


def anonymous_author(language: str) -> str:
    """The translated name shown for a verified buyer who gave none."""
    from ..messaging import catalogs

    return catalogs.translations(language).gettext(VERIFIED_BUYER)


def public_jsonld(merchant: str, sku: str, query: Mapping[str, str] | None, if_none_match: str | None) -> Cacheable:
    from ..messaging.catalogs import resolve_language
    from .jsonld import product_jsonld

    query = query or {}
    m, s = _merchant(merchant), _sku(sku)
    summary, reviews = services.review_store().jsonld(m, s, limit=_limit(query.get("limit"), JSONLD_REVIEWS))
    name = next((review.product_title for review in reviews if review.product_title), None)
    url = next((review.product_url for review in reviews if review.product_url), None)
    anonymous = (anonymous_author(resolve_language(query.get("locale"), None))
                 if any(not review.author for review in reviews) else "")
    return cacheable(product_jsonld(s, name, summary, reviews, product_url=url, anonymous_author=anonymous),
                     if_none_match)


# --- the merchant's moderation ----------------------------------------------------------------------
def moderation_queue(merchant_id: str, query: Mapping[str, str] | None) -> dict[str, Any]:
    query = query or {}
    reviews, cursor = services.review_store().queue(merchant_id, limit=_limit(query.get("limit"), 25),
                                                    cursor=query.get("cursor") or None)
    return {"items": [merchant_document(review, _media()) for review in reviews], "next_cursor": cursor}


def locate(merchant_id: str, review_id: str) -> tuple[str, str]:
    """(order id, sku) of the merchant's review named `review_id`: its public id (one GetItem of the
    lookup item), else the legacy encoding of (order, sku) that reviews had before public ids; a
    review of another merchant is not found either way (the keys start with this merchant)."""
    from ..errors import NotFound

    if not looks_like_review_id(review_id):
        raise NotFound("no such review", field="review_id")
    return services.review_store().locate(merchant_id, review_id) or parse_review_id(review_id)


def _change(merchant_id: str, review_id: str, step: Any, now: datetime) -> dict[str, Any]:
    order_id, sku = locate(merchant_id, review_id)
    review = service.change(services.review_store(), merchant_id, order_id, sku, step, now)
    return merchant_document(review, _media())


def publish_review(merchant_id: str, review_id: str, now: datetime) -> dict[str, Any]:
    return _change(merchant_id, review_id, lambda review: service.publish(review, now), now)


def hide_review(merchant_id: str, review_id: str, now: datetime) -> dict[str, Any]:
    return _change(merchant_id, review_id, lambda review: service.hide(review, now), now)


def reply_to_review(merchant_id: str, review_id: str, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    unknown = sorted(set(data) - {"text"})
    if unknown:  # the merchant may answer a review, never change it
        raise InvalidInput(f"unknown field {unknown[0]!r}: a review's content is the customer's", field=unknown[0])
    if "text" not in data:
        raise InvalidInput("text is required (empty removes the reply)", field="text")
    text = data["text"]
    return _change(merchant_id, review_id, lambda review: service.reply(review, text, now), now)


# --- the customer's photos (rating token) -------------------------------------------------------------
def _upload_key(m: str, o: str, sku: str, upload_id: str) -> str:
    """The private upload's key: stable for the review whatever its id (an upload in flight when a
    review is given its public id still arrives), naming the order only by a digest."""
    from ..adapters.review_media import UPLOADS

    digest = hashlib.sha256(f"{m}#{o}#{sku}".encode()).hexdigest()[:32]
    return f"{UPLOADS}{m}/{digest}/{upload_id}"


def _photo_review(m: str, o: str, sku: str, now: datetime) -> Review:
    """The review photos are added to, with its public id (photo keys are public: they name the
    review by that id, never by its order)."""
    store = services.review_store()
    review = store.get(m, o, sku)
    if review is None:
        raise Conflict("rate the product before adding photos", field="rating")
    if review.public_id is None:
        review = service.change(store, m, o, sku, service.give_public_id, now)
    return review


def photo_upload(token: str, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """`POST /v1/feedback/{token}/photos` {content_type}: where and how to upload one photo."""
    from ..feedback.views import token_claims

    m, o, sku = token_claims(token, now)
    unknown = sorted(set(data) - {"content_type"})
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])
    content_type = photos.declared_type(data.get("content_type"))
    review = services.review_store().get(m, o, sku)
    if review is None:
        raise Conflict("rate the product before adding photos", field="rating")
    if len(review.photos) >= MAX_PHOTOS:
        raise NotAllowed("this review has all the photos it can have", field="photo", reason="count")
    upload_id = secrets.token_urlsafe(12)
    fields, conditions = photos.post_policy(content_type)
    post = services.review_media().presigned_post(_upload_key(m, o, sku, upload_id), fields, conditions,
                                                  photos.UPLOAD_SECONDS)
    return {"upload_id": upload_id, "url": post["url"], "fields": post["fields"], "max_bytes": photos.MAX_BYTES,
            "expires_in": photos.UPLOAD_SECONDS}


def photo_attach(token: str, upload_id: str, now: datetime) -> tuple[dict[str, Any], bool]:
    """`POST /v1/feedback/{token}/photos/{upload_id}`: check and clean the upload, publish the clean
    copy, add it to the review. The upload is deleted whether it was kept or refused."""
    from ..adapters.review_media import PUBLIC
    from ..feedback.views import token_claims

    m, o, sku = token_claims(token, now)
    if not upload_id or len(upload_id) > 64 or not all(ch.isalnum() or ch in "-_" for ch in upload_id):
        raise InvalidInput("upload_id is not one this API returned", field="upload_id")
    media, store = services.review_media(), services.review_store()
    review = _photo_review(m, o, sku, now)
    key = f"{PUBLIC}reviews/{m}/{review.review_id}/{upload_id}"
    known = next((photo for photo in review.photos if photo.key.rsplit(".", 1)[0] == key), None)
    if known is not None:  # a retried call: the photo is already there
        return _photo_document(review, known), False
    upload = _upload_key(m, o, sku, upload_id)
    if len(review.photos) >= MAX_PHOTOS:  # e.g. a page's form from before the last photo: not even read
        media.delete(upload)
        raise NotAllowed(f"a review has at most {MAX_PHOTOS} photos", field="photo", reason="count")
    data = media.read_upload(upload, photos.MAX_BYTES)
    try:
        image = photos.clean(data)
    finally:
        media.delete(upload)
    photo = Photo(key=f"{key}.{image.extension}", content_type=image.content_type, width=image.width,  # type: ignore[arg-type]
                  height=image.height)
    media.put(photo.key, image.data, image.content_type, "public, max-age=31536000, immutable")
    updated = service.change(store, m, o, sku, lambda current: service.add_photo(current, photo, now), now)
    return _photo_document(updated, photo), True


# --- the rating page's photo form (no script: the browser posts the file straight to S3) ----------------
@dataclass(frozen=True)
class PhotoForm:
    url: str  # S3's POST endpoint (the page's CSP form-action allows its origin)
    fields: dict[str, str]  # the presigned POST's fields, as hidden inputs before the file


def photo_form(review: Review, redirect_for: Any) -> PhotoForm | None:
    """One more photo's upload form for the rating page, or None when the review has all it can
    have. `redirect_for(upload_id)` is our page S3 sends the browser to after the upload (it then
    calls photo_attach, as the API does). Signing is local: no AWS request."""
    if len(review.photos) >= MAX_PHOTOS:
        return None
    upload_id = secrets.token_urlsafe(12)
    fields, conditions = photos.form_policy(redirect_for(upload_id))
    post = services.review_media().presigned_post(
        _upload_key(review.merchant_id, review.order_id, review.sku, upload_id), fields, conditions,
        photos.UPLOAD_SECONDS)
    return PhotoForm(post["url"], dict(post["fields"]))


def photo_urls(review: Review) -> list[dict[str, Any]]:
    base = _media().rstrip("/")
    return [{"url": f"{base}/{photo.key}", "width": photo.width, "height": photo.height} for photo in review.photos]


def media_origin() -> str:
    """The origin photos are shown from (the rating page's CSP img-src)."""
    from urllib.parse import urlsplit

    parts = urlsplit(_media())
    return f"{parts.scheme}://{parts.netloc}"


def _photo_document(review: Review, photo: Photo) -> dict[str, Any]:
    return {"review_id": review.review_id, "photo": {"url": f"{_media().rstrip('/')}/{photo.key}",
                                                     "width": photo.width, "height": photo.height},
            "photos": len(review.photos), "status": review.status}


# --- the feed ------------------------------------------------------------------------------------------
def feed_key(merchant_id: str) -> str:
    from ..adapters.review_media import PUBLIC

    return f"{PUBLIC}feeds/{merchant_id}/product_reviews.xml"
