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

from ..errors import RetryLater
from ..messaging.requests import EmailRequest
from . import handoff
from .messages import DeliverReturnWebhook, ReturnChanged
from .notices import notice_requests
from .service import PolicySource, ReturnStore, find_return, load

Outcome = Literal["handled", "webhook_sent", "no_webhook"]


class WebhookTarget(Protocol):
    returns_url: str | None
    secret: str | None


class Ports(Protocol):
    store: ReturnStore
    policies: PolicySource

    def request_email(self, request: EmailRequest) -> None: ...

    def publish_event(self, detail_type: str, detail: dict) -> None: ...

    def enqueue(self, message: DeliverReturnWebhook) -> None: ...

    def webhook_target(self, merchant_id: str) -> WebhookTarget | None: ...

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...


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
        ports.request_email(request)
    for offset, transition in enumerate(new):
        if transition.command != "resolve":
            continue
        revision = message.from_revision + offset + 1
        ports.publish_event(handoff.RETURN_RESOLVED, handoff.return_resolved(rma, returns.order, revision,
                                                                             message.origin))
        if message.origin == "api":
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
    ports.post(target.returns_url, body, {
        handoff.SIGNATURE_HEADER: handoff.signature(target.secret, body, now),
        handoff.DELIVERY_HEADER: handoff.delivery_id(rma, message.revision),
    })
    return "webhook_sent"
