"""The `survey.detractor` webhook: signed and retried exactly like the feedback webhook
(returns/handoff.py signature, returns/webhook_retries.py schedule), to the merchant's
feedback webhook URL (`PUT /v1/settings/webhooks` `feedback_url`)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from ..feedback.delivery import Ports
from ..returns import handoff, webhook_retries
from .messages import DeliverSurveyWebhook

Outcome = Literal["webhook_sent", "already_delivered", "webhook_retry_scheduled", "no_webhook"]


def deliver_webhook(message: DeliverSurveyWebhook, ports: Ports, now: datetime) -> Outcome:
    target = ports.webhook_target(message.merchant_id)
    url = getattr(target, "feedback_url", None) if target else None
    if not url or not target or not target.secret:
        return "no_webhook"
    body = handoff.body_bytes(message.body)
    delivery = message.delivery_id
    return webhook_retries.deliver(message, ports, url=url, body=body, delivery_id=delivery, now=now,
                                   headers={handoff.SIGNATURE_HEADER: handoff.signature(target.secret, body, now),
                                            handoff.DELIVERY_HEADER: delivery})
