"""The merchant's feedback webhook: signed and sent like the returns webhook (returns/handoff.py).

    X-PostPurchase-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
    X-PostPurchase-Delivery:  <order id>:<sku>:<version>   (the same on every retry)
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from ..returns import handoff, webhook_retries
from .messages import DeliverFeedbackWebhook

Outcome = Literal["webhook_sent", "already_delivered", "webhook_retry_scheduled", "no_webhook"]


class WebhookTarget(Protocol):
    feedback_url: str | None
    secret: str | None


class Ports(webhook_retries.DeliveryPorts, Protocol):
    def webhook_target(self, merchant_id: str) -> WebhookTarget | None: ...


def deliver_webhook(message: DeliverFeedbackWebhook, ports: Ports, now: datetime) -> Outcome:
    return deliver_signed(message, ports, f"{message.order_id}:{message.sku}:{message.version}", now)


def deliver_signed(message: Any, ports: Ports, delivery: str, now: datetime) -> Outcome:
    """Sign `message.body` and send it to the merchant's feedback webhook URL, retried on the
    returns webhook's schedule; `delivery` is the same on every retry (surveys send theirs too)."""
    target = ports.webhook_target(message.merchant_id)
    url = getattr(target, "feedback_url", None) if target else None
    if not url or not target or not target.secret:
        return "no_webhook"
    body = handoff.body_bytes(message.body)
    return webhook_retries.deliver(message, ports, url=url, body=body, delivery_id=delivery, now=now,
                                   headers={handoff.SIGNATURE_HEADER: handoff.signature(target.secret, body, now),
                                            handoff.DELIVERY_HEADER: delivery})
