"""Recording an answer and what follows from it (ports in, no AWS here).

`submit`: load the order and the item's answer (one BatchGetItem), apply the rules, save (one
transaction, version-checked; a concurrent answer makes the loser re-read and apply again),
then the effects, each safe to repeat, so a retried request heals a half-done one:

- the merchant's webhook is queued once per answer version (`notified_version` on the answer);
- the review reminder is cancelled (MessageSchedule port);
- the thank-you coupon, when the merchant offers one, is issued idempotently on (feedback, order:sku);
- the loyalty programme's review bonus, when it exists (idempotent on its side);
- its storefront review (reviews/service.follow_feedback: created, or moderated again after a
  change; version-checked, so a retry changes nothing).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from ..errors import Conflict, NotFound
from ..messaging.requests import OfferNotice
from ..messaging.settings import OfferSpec
from ..orders.models import Order
from .messages import DeliverFeedbackWebhook
from .model import KEEP_COMMENT, Feedback, Source, answer, webhook_body

ATTEMPTS = 3
COUPON_CAMPAIGN = "feedback"


class StaleFeedback(Exception):
    """The answer changed between reading and writing it."""


class Loaded(NamedTuple):
    order: Order
    feedback: Feedback | None
    notified_version: int
    review: Any = None  # its storefront review (reviews.model.Review), read in the same request


class FeedbackStore(Protocol):
    def load(self, merchant_id: str, order_id: str, sku: str) -> Loaded | None: ...

    def save(self, feedback: Feedback, previous: Feedback | None) -> None: ...

    def mark_notified(self, merchant_id: str, order_id: str, sku: str, version: int) -> None: ...


class Ports(Protocol):
    store: FeedbackStore

    def wants_webhook(self, merchant_id: str) -> bool: ...

    def enqueue(self, message: DeliverFeedbackWebhook) -> None: ...

    def cancel_reminder(self, merchant_id: str, order_id: str, now: datetime) -> None:
        """Raises NotImplementedError while no message schedule exists (skipped)."""
        ...

    def thank_you_offer(self, merchant_id: str) -> OfferSpec | None: ...

    def issue_coupon(self, merchant_id: str, customer_id: str, spec: OfferSpec, *, ref: str, currency: str | None,
                     now: datetime) -> OfferNotice: ...

    def award_review_bonus(self, merchant_id: str, customer_id: str, order_id: str, sku: str,
                           now: datetime) -> None:
        """Raises NotImplementedError while no loyalty programme exists (skipped)."""
        ...

    def follow_review(self, feedback: Feedback, order: Order, now: datetime, known: Any = None) -> Any:
        """Create or re-moderate the answer's storefront review (reviews/); returns it (or None)."""
        ...


@dataclass(frozen=True)
class Submission:
    feedback: Feedback
    created: bool  # the first answer for this item
    changed: bool  # this submission changed what was stored
    coupon: OfferNotice | None = None
    # For the thank-you page: the customer's language and time zone, from the order read anyway.
    customer_locale: str | None = None
    customer_timezone: str | None = None
    skipped: tuple[str, ...] = ()  # effects whose capability does not exist yet
    author: str = ""  # the name its storefront review shows ("Ayşe K."; reviews/model.display_name)
    review: Any = None  # its storefront review after this answer (reviews.model.Review), when there is one


def submit(ports: Ports, merchant_id: str, order_id: str, sku: str, *, rating: int,
           comment: str | None | Any = KEEP_COMMENT, source: Source, now: datetime,
           title: str | None | Any = KEEP_COMMENT) -> Submission:
    """Record the answer (rating already checked by model.parse_rating, comment by clean_comment)."""
    for _ in range(ATTEMPTS):
        loaded = ports.store.load(merchant_id, order_id, sku)
        item = next((line for line in loaded.order.items if line.sku == sku), None) if loaded else None
        if loaded is None or item is None:
            # A valid link whose order (or item) is gone reads like an invalid one.
            raise NotFound("no such rating link", field="token")
        feedback, changed = answer(loaded.feedback, merchant_id=merchant_id, order_id=order_id, sku=sku,
                                   customer_id=loaded.order.customer.customer_id(), product_title=item.title,
                                   rating=rating, comment=comment, source=source, now=now, title=title)
        if changed:
            try:
                ports.store.save(feedback, loaded.feedback)
            except StaleFeedback:
                continue
        notified = 0 if changed else loaded.notified_version
        break
    else:
        raise Conflict("the answer changed meanwhile; send it again", field="rating")
    _notify(ports, feedback, notified)
    review = ports.follow_review(feedback, loaded.order, now, loaded.review)
    coupon, skipped = _after_answer(ports, feedback, loaded.order.currency, now)
    customer = loaded.order.customer
    from ..reviews.model import display_name

    return Submission(feedback, created=loaded.feedback is None, changed=changed, coupon=coupon,
                      customer_locale=customer.locale, customer_timezone=customer.timezone, skipped=skipped,
                      author=display_name(customer.first_name, customer.last_name), review=review)


def _notify(ports: Ports, feedback: Feedback, notified_version: int) -> None:
    if feedback.version <= notified_version or not ports.wants_webhook(feedback.merchant_id):
        return
    ports.enqueue(DeliverFeedbackWebhook(merchant_id=feedback.merchant_id, order_id=feedback.order_id,
                                         sku=feedback.sku, version=feedback.version, body=webhook_body(feedback)))
    ports.store.mark_notified(feedback.merchant_id, feedback.order_id, feedback.sku, feedback.version)


def _after_answer(ports: Ports, feedback: Feedback, currency: str | None,
                  now: datetime) -> tuple[OfferNotice | None, tuple[str, ...]]:
    m, o, c = feedback.merchant_id, feedback.order_id, feedback.customer_id
    skipped: list[str] = []
    try:
        ports.cancel_reminder(m, o, now)
    except NotImplementedError:
        skipped.append("review_reminder_cancel")
    coupon = None
    spec = ports.thank_you_offer(m)
    if spec is not None:
        try:
            coupon = ports.issue_coupon(m, c, spec, ref=f"{o}:{feedback.sku}", currency=currency, now=now)
        except NotImplementedError:
            skipped.append("thank_you_coupon")
    try:
        ports.award_review_bonus(m, c, o, feedback.sku, now)
    except NotImplementedError:
        skipped.append("review_bonus")
    return coupon, tuple(skipped)
