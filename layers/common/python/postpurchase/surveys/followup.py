"""What happens after a detractor (NPS 0-6) tells us what went wrong: the message is kept once
and the merchant hears of it as a signed `survey.detractor` webhook.

`follow_up_detractor` is the one place a detractor's message goes: it also opens (or joins) a
support conversation with the order attached, so the shop's staff answer it like any message.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .messages import DETRACTOR_EVENT, DeliverSurveyWebhook


@dataclass(frozen=True)
class DetractorFollowUp:
    """A detractor's answer and message, as the merchant receives it."""

    merchant_id: str
    survey_id: str
    customer_id: str
    order_id: str
    score: int
    message: str
    at: datetime

    def webhook_body(self) -> dict[str, Any]:
        return {"event_id": f"survey:{self.survey_id}:{self.customer_id}", "type": DETRACTOR_EVENT,
                "merchant_id": self.merchant_id, "survey_id": self.survey_id, "customer_id": self.customer_id,
                "order_id": self.order_id, "score": self.score, "message": self.message,
                "submitted_at": self.at.isoformat()}


class FollowUpPorts(Protocol):
    def keep_message(self, follow_up: DetractorFollowUp) -> bool:
        """Store the message once; False when one was already stored (and notified)."""
        ...

    def wants_webhook(self, merchant_id: str) -> bool: ...

    def enqueue(self, message: DeliverSurveyWebhook) -> None: ...

    def mark_notified(self, follow_up: DetractorFollowUp) -> None: ...

    def open_conversation(self, follow_up: DetractorFollowUp) -> None:
        """Record the message in support (idempotent on (survey, respondent))."""
        ...


def follow_up_detractor(follow_up: DetractorFollowUp, ports: FollowUpPorts, *, notified: bool = False) -> str:
    """Keep the message and queue the merchant's webhook (safe to repeat: the webhook's delivery id
    is (survey, respondent), so the merchant gets it once)."""
    stored_now = ports.keep_message(follow_up)
    # Every time, not only the first: the conversation is idempotent on (survey, respondent), so a
    # retry after a failed first attempt still opens it.
    ports.open_conversation(follow_up)
    if not stored_now and notified:
        return "already_sent"
    if not ports.wants_webhook(follow_up.merchant_id):
        return "kept"
    ports.enqueue(DeliverSurveyWebhook(merchant_id=follow_up.merchant_id, order_id=follow_up.order_id,
                                       survey_id=follow_up.survey_id, customer_id=follow_up.customer_id,
                                       body=follow_up.webhook_body()))
    ports.mark_notified(follow_up)
    return "webhook_queued"
