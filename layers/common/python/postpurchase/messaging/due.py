"""A scheduled message whose time has come: the scheduler's sweep and the sender's decision.

message_scheduler puts a `MessageDue` (the item's key) on the outbound-email queue;
email_sender loads the item and its facts, then decides: nothing (already settled), expired,
cancelled by the facts, deferred (quiet hours, frequency cap), or composed into an
EmailRequest and delivered through the send ledger (messaging.sending.deliver), which keeps
it to one email whatever SQS, a re-run scheduler or a crash do.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict

from ..orders.models import Customer, Order
from . import schedule as rules
from .requests import (TRANSACTIONAL_KINDS, CampaignNotice, EmailRequest, OfferNotice, PointsNotice, ReviewItem,
                       SurveyNotice)
from .scheduled import ScheduledMessage
from .settings import MessagingSettings, OfferSpec

RETRY_AFTER = timedelta(minutes=15)  # an enqueued message not settled by then is enqueued again
MAX_CATCH_UP_BUCKETS = 7  # day buckets one run reads at most; after downtime the next runs go on
SWEEP_LIMIT = 500  # keys per (day, shard) bucket per run; the rest wait for the next run
EARLY_TOLERANCE = timedelta(minutes=1)


class MessageDue(BaseModel):
    """Outbound-email queue body: "the scheduled message at (pk, sk) is due"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["MessageDue"] = "MessageDue"
    pk: str
    sk: str
    enqueued_at: AwareDatetime


# ------------------------------------------------------------------------------ scheduler sweep


class DueIndex(Protocol):
    def cursor(self) -> str | None: ...

    def save_cursor(self, bucket: str, now: datetime) -> None: ...

    def due_in_bucket(self, bucket: str, shard: int, now: datetime, limit: int) -> tuple[list, bool]: ...

    def claim_for_enqueue(self, due, retry_at: datetime, now: datetime) -> bool: ...


class BatchPublisher(Protocol):
    def publish_batch(self, bodies: list[str], *, kind: str) -> int: ...


def sweep(index: DueIndex, queue: BatchPublisher, now: datetime, *, shards: int, limit: int = SWEEP_LIMIT) -> dict:
    """Every (day, shard) bucket from the stored cursor (bounded catch-up) to today: claim
    each due message (pending|enqueued -> enqueued, re-keyed into the retry bucket) and put it
    on the queue. A message already claimed by a concurrent run fails the conditional claim and
    is not enqueued twice; one lost after enqueue comes back from the retry bucket."""
    current = rules.bucket_of(now)
    stored = index.cursor()
    start = stored or rules.bucket_of(now - timedelta(hours=1))
    walk = rules.buckets_between(min(start, current), current)
    next_cursor = current
    if len(walk) > MAX_CATCH_UP_BUCKETS:
        # After downtime: read a bounded number of buckets per run and resume from the first
        # unread one next time, so a long outage delays messages (then expiry judges them) but
        # never skips them.
        walk, next_cursor = walk[:MAX_CATCH_UP_BUCKETS], walk[MAX_CATCH_UP_BUCKETS]
    enqueued, claimed_by_others, queries = 0, 0, 0
    bodies: list[str] = []
    for bucket in walk:
        for shard in range(shards):
            due, more = index.due_in_bucket(bucket, shard, now, limit)
            queries += 1
            if more:
                next_cursor = min(next_cursor, bucket)  # a full bucket: the next run starts here
            for key in due:
                if index.claim_for_enqueue(key, now + RETRY_AFTER, now):
                    bodies.append(MessageDue(pk=key.pk, sk=key.sk, enqueued_at=now).model_dump_json())
                else:
                    claimed_by_others += 1
            if len(bodies) >= 10:  # full SendMessageBatch requests across buckets
                cut = len(bodies) - len(bodies) % 10
                enqueued += queue.publish_batch(bodies[:cut], kind="MessageDue")
                bodies = bodies[cut:]
    if bodies:
        enqueued += queue.publish_batch(bodies, kind="MessageDue")
    # A crash between a claim and its enqueue loses nothing: the claim re-keyed the message into
    # the retry bucket, and the next sweep after RETRY_AFTER enqueues it again.
    if next_cursor != stored:
        index.save_cursor(next_cursor, now)
    return {"enqueued": enqueued, "skipped": claimed_by_others, "bucket_queries": queries, "cursor": next_cursor,
            "caught_up": walk[-1] == current}


# ------------------------------------------------------------------------------ the sender's decision


@dataclass(frozen=True)
class MessageContext:
    """The facts a scheduled message depends on, from one read of its order or its customer."""

    customer: Customer  # the recipient (email, name, locale, time zone)
    customer_id: str
    order: Order | None = None
    order_status: str | None = None  # placed | cancelled
    returns: list = field(default_factory=list)  # postpurchase.returns.rma.ReturnRequest
    feedback_given: bool = False
    last_order_at: datetime | None = None
    birthday: date | None = None


Outcome = Literal["nothing", "not_due", "expired", "cancelled", "deferred", "sent", "duplicate", "abandoned",
                  "failed", "suppressed", "opted_out"]


def cancel_reason(message: ScheduledMessage, context: MessageContext, reviewable: list[str]) -> str | None:
    """Why the facts cancel this message now, or None."""
    kind = message.kind
    if message.scope == "order" and context.order_status == "cancelled":
        return "order_cancelled"
    if kind == "review_request" and not reviewable:
        return "nothing_to_review"  # every item returned (or being returned)
    if kind == "review_reminder" and (context.feedback_given or not reviewable):
        return "answered" if context.feedback_given else "nothing_to_review"
    if kind == "win_back":
        since = message.data.get("last_order_at")
        if context.last_order_at is not None and since and context.last_order_at > datetime.fromisoformat(since):
            return "ordered_again"
    if kind == "birthday_offer" and (context.birthday is None
                                     or context.birthday.isoformat() != message.data.get("birthday")):
        return "birthday_changed"
    return None


def respectful_deferral(message: ScheduledMessage, tz: str | None, settings: MessagingSettings,
                        recent_marketing: list[datetime], now: datetime) -> tuple[str, datetime] | None:
    """(reason, until) when a marketing message must wait; transactional never waits."""
    if message.priority == "transactional":
        return None
    quiet = rules.quiet_hours_deferral(now, tz, settings.quiet_hours)
    if quiet is not None:
        return "quiet_hours", quiet
    capped = rules.frequency_cap_deferral(recent_marketing, settings.frequency_cap, now)
    if capped is not None:
        # Not into the night: the cap lifting at 23:00 local waits for the morning too.
        return "frequency_cap", rules.quiet_hours_deferral(capped, tz, settings.quiet_hours) or capped
    return None


_OFFERS = {"birthday_offer": "birthday_offer", "anniversary": "anniversary_offer", "win_back": "win_back_offer"}


def offer_spec(message: ScheduledMessage, settings: MessagingSettings) -> OfferSpec | None:
    if message.kind in _OFFERS:
        return getattr(settings, _OFFERS[message.kind])
    # The campaign fan-out (messaging.campaigns) writes the campaign's offer into the message's data.
    if message.kind == "campaign" and message.data.get("offer_discount_type") and message.data.get("offer_value"):
        return OfferSpec(discount_type=message.data["offer_discount_type"],  # type: ignore[arg-type]
                         value=message.data["offer_value"], min_spend=message.data.get("offer_min_spend") or None,
                         currency=message.data.get("offer_currency") or None,
                         valid_days=int(message.data.get("offer_valid_days") or 30))
    return None


@dataclass(frozen=True)
class Links:
    rating_url: Callable[[str, str, str, datetime], str]
    unsubscribe_url: Callable[[str, str, str, datetime], str]
    preferences_url: Callable[[str, str, datetime], str]
    order_page_url: Callable[[str, str, datetime], str] | None = None
    # A survey email's first question and signed score links; None when the survey is closed,
    # switched off or already answered (postpurchase.surveys.email).
    survey_notice: Callable[[ScheduledMessage, MessageContext, datetime], SurveyNotice | None] | None = None


def compose(message: ScheduledMessage, context: MessageContext, reviewable: list[str], *,
            offer: OfferNotice | None, links: Links, now: datetime,
            survey: SurveyNotice | None = None) -> EmailRequest:
    """The email for a due message: order-level kinds carry the order, customer-level ones the customer."""
    customer = context.customer
    fields: dict = dict(kind=message.kind, merchant_id=message.merchant_id, ref=message.ref, recipient=customer.email,
                        locale=customer.locale, timezone=customer.timezone, requested_at=now, offer=offer)
    if message.scope == "order" and context.order is not None:
        fields["order"] = context.order
        if links.order_page_url is not None:
            fields["order_page_url"] = links.order_page_url(message.merchant_id, context.order.order_id, now)
    else:
        fields["customer"] = customer
    if message.kind in ("review_request", "review_reminder") and context.order is not None:
        by_sku = {item.sku: item for item in context.order.items}
        fields["review_items"] = [
            ReviewItem(sku=sku, title=by_sku[sku].title, image_url=getattr(by_sku[sku], "image_url", None),
                       rating_url=links.rating_url(message.merchant_id, context.order.order_id, sku, now))
            for sku in reviewable if sku in by_sku]
    if message.kind == "campaign":
        fields["campaign"] = CampaignNotice(campaign_id=message.data["campaign_id"],
                                            occasion=message.data["occasion"],  # type: ignore[arg-type]
                                            shop_url=message.data.get("shop_url") or None)
    if message.kind == "survey":
        fields["survey"] = survey
    if message.kind == "points_expiring":
        fields["points"] = PointsNotice(expiring_points=int(message.data["expiring_points"]),
                                        expires_at=datetime.fromisoformat(message.data["expires_at"]),
                                        balance=int(message.data["balance"]))
    if message.kind not in TRANSACTIONAL_KINDS:  # marketing mail in the consent sense (messaging.preferences)
        fields["unsubscribe_url"] = links.unsubscribe_url(message.merchant_id, context.customer_id, message.kind, now)
        fields["preferences_url"] = links.preferences_url(message.merchant_id, context.customer_id, now)
    return EmailRequest(**fields)


class ScheduleStore(Protocol):
    def load_key(self, pk: str, sk: str): ...

    def context_of(self, stored) -> MessageContext | None: ...

    def settle(self, pk: str, sk: str, status: str, reason: str | None, now: datetime) -> int: ...

    def defer(self, pk: str, sk: str, until: datetime, reason: str, now: datetime) -> bool: ...

    def schedule(self, message: ScheduledMessage, now: datetime) -> None: ...

    def marketing_sends(self, merchant_id: str, customer_id: str): ...

    def reserve_marketing_send(self, merchant_id: str, customer_id: str, seen, keep: list[tuple[datetime, str]],
                               key: str, now: datetime) -> None: ...


@dataclass(frozen=True)
class Sender:
    """What sending a due message needs (email_sender wires the real adapters; tests use fakes)."""

    store: ScheduleStore
    settings_for: Callable[[str], MessagingSettings]
    reviewable: Callable[[Order, list], list[str]]
    coupons: Callable[[], object]  # () -> rewards.ports.CouponIssuer, built only when an offer is due
    links: Links
    # The request as the customer wants it (consent, suppression, language), or (None, outcome).
    gate: Callable[[EmailRequest], tuple[EmailRequest | None, str | None]]
    deliver: Callable[[EmailRequest], str]  # messaging.sending.deliver's outcome
    # The loyalty programme's birthday bonus (idempotent per customer and year); none in tests.
    birthday_bonus: Callable[[str, str, int, datetime], None] | None = None
    # The console's messages view: (merchant, ledger scope, message key, recipient, reason, now)
    # for a message quiet hours or the frequency cap kept back until it expired.
    record_skip: Callable[[str, tuple[str, str], str, str, str, datetime], None] | None = None


def send_due(due: MessageDue, sender: Sender, now: datetime) -> tuple[str, str | None]:
    """Decide and act on one due message; returns (outcome, detail). Safe to run twice: the
    settled status, the conditional transitions and the send ledger make a repeat a no-op."""
    store = sender.store
    stored = store.load_key(due.pk, due.sk)
    if stored is None or stored.status not in ("pending", "enqueued"):
        return "nothing", stored.status if stored else "missing"
    message: ScheduledMessage = stored.message
    if message.due_at > now + EARLY_TOLERANCE:
        return "not_due", None  # moved later since it was enqueued; the index has the new time
    if rules.is_expired(message.expires_at, now):
        store.settle(stored.pk, stored.sk, "expired", "not sent before its expiry", now)
        return "expired", None
    context = store.context_of(stored)
    if context is None:
        store.settle(stored.pk, stored.sk, "skipped", "order or customer not found", now)
        return "cancelled", "no_context"
    reviewable = sender.reviewable(context.order, context.returns) if context.order is not None else []
    reason = cancel_reason(message, context, reviewable)
    if reason is not None:
        store.settle(stored.pk, stored.sk, "cancelled", reason, now)
        return "cancelled", reason
    survey = None
    if message.kind == "survey":
        survey = sender.links.survey_notice(message, context, now) if sender.links.survey_notice else None
        if survey is None:
            store.settle(stored.pk, stored.sk, "cancelled", "survey_closed_or_answered", now)
            return "cancelled", "survey_closed_or_answered"

    settings = sender.settings_for(message.merchant_id)
    seen = store.marketing_sends(message.merchant_id, message.customer_id) if message.priority == "marketing" else None
    own = f"{stored.pk}|{stored.sk}"
    # This message's own earlier reservation (a retry after a crash or a mailer outage) does not count.
    others = [at for at, key in seen.entries if key != own] if seen else []
    deferral = respectful_deferral(message, context.customer.timezone, settings, others, now)
    if deferral is not None:
        why, until = deferral
        if until >= message.expires_at:
            if sender.record_skip is not None:
                sender.record_skip(message.merchant_id, (message.scope, message.scope_id),
                                   f"{message.kind}#{message.ref}", context.customer.email or "", why, now)
            store.settle(stored.pk, stored.sk, "expired", f"{why} until past its expiry", now)
            return "expired", why
        store.defer(stored.pk, stored.sk, until, why, now)
        return "deferred", why

    request, blocked = sender.gate(compose(message, context, reviewable, offer=None, links=sender.links, now=now,
                                           survey=survey))
    if request is None:
        store.settle(stored.pk, stored.sk, "skipped", blocked, now)
        return blocked or "skipped", None
    spec = offer_spec(message, settings)
    if spec is not None:  # only for an email that will go: a coupon nobody receives is waste
        offer = sender.coupons().issue(  # type: ignore[attr-defined]
            message.merchant_id, message.customer_id, spec, campaign=message.kind,
            ref=f"{message.scope_id}#{message.ref}",
            currency=spec.currency or (context.order.currency if context.order else None),
            now=now)
        request = request.model_copy(update={"offer": offer})
    if seen is not None and own not in {key for _, key in seen.entries}:
        # Conditional on what we read: of two concurrent sends only one passes the cap.
        window = timedelta(days=settings.frequency_cap.per_days)
        store.reserve_marketing_send(message.merchant_id, message.customer_id, seen,
                                     [(at, key) for at, key in seen.entries if now - window < at], own, now)
    outcome = sender.deliver(request)
    if outcome == "failed":
        store.settle(stored.pk, stored.sk, "skipped", "refused by the mail service", now)
        return outcome, None
    # sent, duplicate (the ledger had it), abandoned (a crash mid-send: never risk a second copy)
    if message.kind == "review_request" and context.order is not None:
        reminder_due = rules.review_reminder_due(now, settings, context.customer.timezone)
        if reminder_due is not None:
            store.schedule(rules.review_reminder_message(message.merchant_id, message.scope_id, message.customer_id,
                                                         reminder_due), now)
    if message.kind == "birthday_offer" and sender.birthday_bonus is not None:
        # Before settling: a crash here redelivers, and the bonus is idempotent per year.
        sender.birthday_bonus(message.merchant_id, message.customer_id, int(message.ref), now)
    store.settle(stored.pk, stored.sk, "sent", outcome, now)
    return outcome, None
