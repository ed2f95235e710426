"""The `survey.detractor` webhook: signed and retried exactly like the feedback webhook
(returns/handoff.py signature, returns/webhook_retries.py schedule), to the merchant's
feedback webhook URL (`PUT /v1/settings/webhooks` `feedback_url`)."""
from __future__ import annotations

from datetime import datetime

from ..feedback.delivery import Outcome, Ports, deliver_signed
from .messages import DeliverSurveyWebhook


def deliver_webhook(message: DeliverSurveyWebhook, ports: Ports, now: datetime) -> Outcome:
    return deliver_signed(message, ports, message.delivery_id, now)
