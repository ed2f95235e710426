"""The feedback API's operations, with the ports served by this deployment's adapters.

`POST /v1/feedback/{token}`: the signed rating token is the authority (no API key): one
BatchGetItem (order + answer), one TransactWriteItems when the answer changed, and, for a new
answer version with a webhook configured, one SQS SendMessage + one UpdateItem; the merchant's
settings come from the per-container cache.
`GET /v1/feedback`: one Query of the merchant's listing partition per page.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from .. import services
from ..errors import InvalidInput, NotFound
from ..messaging.requests import OfferNotice
from ..messaging.settings import OfferSpec
from .messages import DeliverFeedbackWebhook
from .model import KEEP_COMMENT, Source, clean_comment, document, parse_rating
from .service import Submission, submit

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


class AwsPorts:
    store = property(lambda self: services.feedback_store())

    def wants_webhook(self, merchant_id: str) -> bool:
        merchant = services.merchant_store().get(merchant_id)
        # A URL is only ever stored with its signing secret (merchants.set_webhooks), which only
        # the function that signs (return_events) reads.
        return bool(merchant and merchant.webhooks.feedback_url)

    def enqueue(self, message: DeliverFeedbackWebhook) -> None:
        services.return_events_queue().publish(message.model_dump_json(), kind=message.type,
                                               merchant_id=message.merchant_id)

    def cancel_reminder(self, merchant_id: str, order_id: str, now: datetime) -> None:
        services.message_schedule().cancel(merchant_id, "order", order_id, "review_reminder", order_id, "answered",
                                           now)

    def thank_you_offer(self, merchant_id: str) -> OfferSpec | None:
        return services.messaging_settings(merchant_id).feedback_thank_you

    def issue_coupon(self, merchant_id: str, customer_id: str, spec: OfferSpec, *, ref: str, currency: str | None,
                     now: datetime) -> OfferNotice:
        return services.coupon_issuer().issue(merchant_id, customer_id, spec, campaign="feedback", ref=ref,
                                              currency=currency, now=now)

    def award_review_bonus(self, merchant_id: str, customer_id: str, order_id: str, sku: str, now: datetime) -> None:
        services.loyalty().award_review_bonus(merchant_id, customer_id, order_id, sku, now)

    def follow_review(self, feedback: Any, order: Any, now: datetime, known: Any = None) -> Any:
        from ..reviews.service import follow_feedback

        return follow_feedback(services.review_store(), feedback, order,
                        services.messaging_settings(feedback.merchant_id).reviews, now, known=known)


PORTS = AwsPorts()


def token_claims(token: str, now: datetime, merchant_id: str | None = None) -> tuple[str, str, str]:
    """(merchant, order, sku) of a valid rating token; a forged, expired or other shop's token is
    NotFound (404), the same whichever was wrong."""
    from ..messaging.links import read_feedback_token

    claims = read_feedback_token(token or "", now)
    if claims is None or (merchant_id is not None and claims[0] != merchant_id):
        raise NotFound("this rating link is not valid or has expired", field="token")
    return claims


def record(token: str, rating: Any, comment: Any, source: Source, now: datetime,
           merchant_id: str | None = None, title: Any = KEEP_COMMENT) -> Submission:
    from ..reviews.model import clean_title

    m, o, sku = token_claims(token, now, merchant_id)
    checked = parse_rating(rating)
    text = KEEP_COMMENT if comment is KEEP_COMMENT else clean_comment(comment)
    heading = KEEP_COMMENT if title is KEEP_COMMENT else clean_title(title)
    submission = submit(PORTS, m, o, sku, rating=checked, comment=text, source=source, now=now, title=heading)
    if submission.skipped:
        from ..observability import logger

        logger.info("feedback effects not built yet were skipped", extra={"skipped": list(submission.skipped)})
    return submission


def coupon_document(coupon: OfferNotice | None) -> dict[str, Any] | None:
    if coupon is None:
        return None
    return {"code": coupon.code, "discount_type": coupon.discount_type, "value": str(coupon.value),
            "currency": coupon.currency, "min_spend": str(coupon.min_spend) if coupon.min_spend is not None else None,
            "expires_at": coupon.expires_at.isoformat() if coupon.expires_at else None}


_FIELDS = {"rating", "comment", "title"}


def submit_answer(token: str, data: Mapping[str, Any], now: datetime) -> tuple[dict[str, Any], bool]:
    """`POST /v1/feedback/{token}` {rating, comment?}: the stored answer, and whether it is new."""
    token_claims(token, now)  # an invalid link is 404 before the body is judged
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])
    submission = record(token, data.get("rating"), data["comment"] if "comment" in data else KEEP_COMMENT, "api",
                        now, title=data["title"] if "title" in data else KEEP_COMMENT)
    return {**document(submission.feedback), "thank_you_coupon": coupon_document(submission.coupon)}, \
        submission.created


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit")
    return int(value)


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput("since must be an ISO 8601 time with a zone, e.g. 2026-11-20T00:00:00Z", field="since")
    return parsed


def list_feedback(merchant_id: str, query: Mapping[str, str] | None) -> dict[str, Any]:
    """`GET /v1/feedback?limit=&cursor=&since=`: the merchant's answers, last changed first."""
    query = query or {}
    answers, cursor = services.feedback_store().page(merchant_id, limit=_limit(query.get("limit")),
                                                     cursor=query.get("cursor") or None,
                                                     since=_since(query.get("since")))
    return {"items": [document(answer) for answer in answers], "next_cursor": cursor}
