"""What the return-events consumer does with each message (ports in, no AWS here).

ReturnChanged: queue the customer notices the new transitions call for; when the RMA was
resolved, publish ReturnResolved and queue the merchant's webhook as a message of its own, so a
merchant endpoint that is down is retried (and ends in the DLQ) without re-sending anything else.
Every effect is safe to repeat: notices go through the send ledger, the event and the webhook
carry a stable id (`rma:revision`) for the merchant to deduplicate on.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Literal, Protocol

from ..analytics.counters import Tally
from ..analytics.recording import return_requested
from ..errors import RetryLater
from ..messaging.requests import EmailRequest
from . import handoff, webhook_retries
from . import rma as lifecycle
from .messages import DeliverReturnWebhook, ReturnChanged, ReturnParcelMoved
from .notices import notice_requests
from .rma import Actor, IllegalTransition, RmaStatus
from .service import PolicySource, ReturnStore, StaleReturn, find_return, load

Outcome = Literal["handled", "webhook_sent", "already_delivered", "webhook_retry_scheduled", "no_webhook", "rma_moved",
                  "unchanged"]

# Carrier statuses that mean the parcel is on its way back (before it is delivered to the shop).
_MOVING = frozenset({"in_transit", "out_for_delivery", "available_for_pickup", "attempt_failed"})
CARRIER = Actor(kind="carrier", id="tracking")
_WITHDRAWN = frozenset({RmaStatus.cancelled, RmaStatus.expired, RmaStatus.rejected})


class WebhookTarget(Protocol):
    returns_url: str | None
    secret: str | None


class Ports(webhook_retries.DeliveryPorts, Protocol):
    store: ReturnStore
    policies: PolicySource

    def request_email(self, request: EmailRequest) -> None: ...

    def publish_event(self, detail_type: str, detail: dict) -> None: ...

    def return_resolved(self, merchant_id: str, order_id: str, rma, now: datetime) -> None:
        """Other capabilities' reactions (postpurchase.orders.reactions.after_return_resolved)."""
        ...

    def enqueue(self, message: DeliverReturnWebhook | ReturnChanged) -> None: ...

    def track_return_parcel(self, merchant_id: str, order_id: str, rma_id: str, carrier: str,
                            tracking_number: str, now: datetime) -> None: ...

    def webhook_target(self, merchant_id: str) -> WebhookTarget | None: ...

    def count(self, tally: Tally, now: datetime) -> None:
        """Add a fact to the merchant's analytics counters, once per fact (analytics/recording.py)."""
        ...


def handle_return_changed(message: ReturnChanged, ports: Ports, order_page_url: Callable[[str, str], str],
                          now: datetime) -> Outcome:
    returns = load(ports.store, ports.policies, message.merchant_id, message.order_id, now, consistent=True)
    stored = find_return(returns, message.rma_id)
    if stored.revision < message.to_revision:
        raise RetryLater(f"return {message.rma_id} revision {message.to_revision} is not readable yet")
    rma = stored.rma
    new = list(rma.history[message.from_revision:message.to_revision])
    for request in notice_requests(rma, new, returns.order, returns.policy,
                                   order_page_url=order_page_url(message.merchant_id, message.order_id), now=now):
        if request.variant in ("requested", "approved") and rma.status in _WITHDRAWN:
            continue  # handled late: the return was withdrawn meanwhile, its instructions are moot
        ports.request_email(request)
    for offset, transition in enumerate(new):
        if transition.command == "request":  # again on a redelivery: counted once per RMA
            ports.count(return_requested(message.merchant_id, rma), now)
        if transition.command == "issue_label" and rma.label and rma.label.carrier and rma.label.tracking_number:
            # Where a carrier code exists, the tracking capability follows the parcel back.
            ports.track_return_parcel(message.merchant_id, message.order_id, rma.rma_id, rma.label.carrier,
                                      rma.label.tracking_number, now)
        if transition.command != "resolve":
            continue
        revision = message.from_revision + offset + 1
        ports.return_resolved(message.merchant_id, message.order_id, rma, now)
        ports.publish_event(handoff.RETURN_RESOLVED, handoff.return_resolved(rma, returns.order, revision,
                                                                             message.origin))
        if message.origin == "api" and not handoff.resolved_elsewhere(rma):
            ports.enqueue(DeliverReturnWebhook(merchant_id=message.merchant_id, order_id=message.order_id,
                                               rma_id=message.rma_id, revision=revision))
    return "handled"


def deliver_webhook(message: DeliverReturnWebhook, ports: Ports, now: datetime) -> Outcome:
    target = ports.webhook_target(message.merchant_id)
    if target is None or not target.returns_url or not target.secret:
        return "no_webhook"
    returns = load(ports.store, ports.policies, message.merchant_id, message.order_id, now, consistent=True)
    rma = find_return(returns, message.rma_id).rma
    body = handoff.body_bytes(handoff.return_resolved(rma, returns.order, message.revision, "api"))
    delivery = handoff.delivery_id(rma, message.revision)
    return webhook_retries.deliver(message, ports, url=target.returns_url, body=body, delivery_id=delivery, now=now,
                                   headers={handoff.SIGNATURE_HEADER: handoff.signature(target.secret, body, now),
                                            handoff.DELIVERY_HEADER: delivery})


def handle_parcel_moved(message: ReturnParcelMoved, ports: Ports, now: datetime) -> Outcome:
    """Step the RMA as the carrier: in transit on the first movement, received on delivery."""
    returns = load(ports.store, ports.policies, message.merchant_id, message.order_id, now, consistent=True)
    stored = find_return(returns, message.rma_id)
    rma = stored.rma
    try:
        if message.status in _MOVING or message.status == "delivered":
            if rma.status is RmaStatus.label_issued:
                rma = lifecycle.mark_in_transit(rma, CARRIER, message.at)
            if message.status == "delivered" and rma.status is RmaStatus.in_transit:
                rma = lifecycle.receive(rma, CARRIER, message.at)
    except IllegalTransition:
        pass  # the merchant stepped it already (or it was cancelled): nothing for the carrier to do
    if rma is stored.rma:
        return "unchanged"
    try:
        ports.store.save_return(message.merchant_id, rma, expected_revision=stored.revision, now=now)
    except StaleReturn:
        raise RetryLater(f"return {message.rma_id} changed meanwhile; judged again on retry") from None
    ports.enqueue(ReturnChanged(merchant_id=message.merchant_id, order_id=message.order_id, rma_id=rma.rma_id,
                                from_revision=stored.revision, to_revision=len(rma.history)))
    return "rma_moved"
