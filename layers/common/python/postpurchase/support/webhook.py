"""The `support.conversation.created` webhook: a new conversation announced to the merchant's
systems (their helpdesk or chat tool), signed and retried exactly like `survey.detractor`
(surveys/delivery.py): the feedback webhook URL and signing secret (`PUT /v1/settings/webhooks`
`feedback_url`), the return-events queue, returns/webhook_retries.py's schedule.

Once per conversation: the delivery id is `support:{conversation}:created` and its delivered
marker sits in the conversation's partition (a conversation may have no order), so a second
publish (a redelivered inbound message, a retried proactive check) POSTs nothing twice. Queued
for every new conversation: a customer's message on any channel (API, order page form, email)
and a proactive one (source "proactive", no message yet).
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..orders.models import Identifier
from .model import Conversation

CREATED_EVENT = "support.conversation.created"
MAX_FIRST_MESSAGE = 1000  # characters of the first message in the payload (the thread has it whole)

Outcome = Literal["webhook_sent", "already_delivered", "webhook_retry_scheduled", "no_webhook"]


class DeliverSupportWebhook(BaseModel):
    """POST one support event to the merchant's feedback webhook URL; retried until 2xx."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["DeliverSupportWebhook"] = "DeliverSupportWebhook"
    merchant_id: Identifier
    conversation_id: Annotated[str, Field(min_length=1, max_length=80)]
    order_id: str | None = None
    body: dict[str, Any]
    attempt: Annotated[int, Field(ge=0)] = 0
    first_attempt_at: datetime | None = None

    @property
    def delivery_id(self) -> str:
        return f"support:{self.conversation_id}:created"


def created_body(conversation: Conversation, *, first_message: str, auto_answered: bool) -> dict[str, Any]:
    """The event as the merchant receives it (pure)."""
    return {"event_id": f"support:{conversation.conversation_id}:created", "type": CREATED_EVENT,
            "merchant_id": conversation.merchant_id, "conversation_id": conversation.conversation_id,
            "status": conversation.status.value, "source": conversation.source.value,
            "channel": conversation.channel.value, "intent": conversation.intent,
            "confidence": conversation.confidence, "needs_human": conversation.needs_human,
            "customer_email": conversation.customer_email, "customer_id": conversation.customer_id,
            "order_id": conversation.order_id, "subject": conversation.subject,
            "first_message": first_message[:MAX_FIRST_MESSAGE],
            "first_message_truncated": len(first_message) > MAX_FIRST_MESSAGE,
            "auto_answered": auto_answered, "created_at": conversation.created_at.isoformat()}


def announce_created(conversation: Conversation, *, first_message: str, auto_answered: bool) -> bool:
    """Queue the webhook when the merchant has a webhook URL (one GetItem, cached); True if queued."""
    from .. import services

    merchant = services.merchant_store().get(conversation.merchant_id)
    if merchant is None or not merchant.webhooks.feedback_url:
        return False
    message = DeliverSupportWebhook(merchant_id=conversation.merchant_id, conversation_id=conversation.conversation_id,
                                    order_id=conversation.order_id,
                                    body=created_body(conversation, first_message=first_message,
                                                      auto_answered=auto_answered))
    services.return_events_queue().publish(message.model_dump_json(), kind=message.type,
                                           merchant_id=message.merchant_id)
    return True


class _ConversationMarkers:
    """The delivery ports, with the delivered marker under the conversation instead of an order."""

    def __init__(self, ports, merchant_id: str, conversation_id: str) -> None:
        from ..storage import keys

        self._ports, self._pk = ports, keys.support_conversation_pk(merchant_id, conversation_id)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return self._ports.post(url, body, headers)

    def enqueue_later(self, message: BaseModel, delay_seconds: int) -> None:
        self._ports.enqueue_later(message, delay_seconds)

    def webhook_delivered(self, merchant_id: str, order_id: str, delivery_id: str) -> bool:
        from ..services import webhook_deliveries

        return webhook_deliveries().delivered_under(self._pk, delivery_id)

    def record_webhook_delivered(self, merchant_id: str, order_id: str, delivery_id: str, now: datetime) -> None:
        from ..services import webhook_deliveries

        webhook_deliveries().record_under(self._pk, delivery_id, now)


def deliver_webhook(message: DeliverSupportWebhook, ports, now: datetime) -> Outcome:
    """Sign and POST (surveys/delivery.py's way), once per conversation."""
    from ..returns import handoff, webhook_retries

    target = ports.webhook_target(message.merchant_id)
    url = getattr(target, "feedback_url", None) if target else None
    if not url or not target or not target.secret:
        return "no_webhook"
    body = handoff.body_bytes(message.body)
    delivery = message.delivery_id
    return webhook_retries.deliver(message, _ConversationMarkers(ports, message.merchant_id, message.conversation_id),
                                   url=url, body=body, delivery_id=delivery, now=now,
                                   headers={handoff.SIGNATURE_HEADER: handoff.signature(target.secret, body, now),
                                            handoff.DELIVERY_HEADER: delivery})
