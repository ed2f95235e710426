"""How long a merchant's webhook is retried on its own schedule before it is given to the queue's
redrive (and the DLQ alarm): an endpoint down for hours must not lose a refund hand-off.

The queue's own budget (5 receives, 400 s apart) lasts about half an hour; a delivery that
fails is instead re-published with a growing delay (SQS allows at most 15 minutes per hop) and
its attempt count, for up to RETRY_WINDOW since its first attempt. A delivered marker keyed by
the delivery id makes a redelivered message (or a second chain) POST nothing twice."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel

from ..errors import RetryLater

RETRY_WINDOW = timedelta(hours=24)
FIRST_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 900  # SQS's longest DelaySeconds

Delivery = Literal["webhook_sent", "already_delivered", "webhook_retry_scheduled"]
M = TypeVar("M", bound=BaseModel)


def retry_delay_seconds(attempt: int, cap: int = MAX_DELAY_SECONDS) -> int:
    """Delay before attempt `attempt + 1`: 30 s, 60 s, 120 s ... capped at 15 minutes."""
    return min(cap, MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** min(attempt, 16))


def may_reschedule(first_attempt_at: datetime | None, now: datetime, window: timedelta = RETRY_WINDOW) -> bool:
    return first_attempt_at is None or now - first_attempt_at < window


class DeliveryPorts(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...

    def webhook_delivered(self, merchant_id: str, order_id: str, delivery_id: str) -> bool: ...

    def record_webhook_delivered(self, merchant_id: str, order_id: str, delivery_id: str, now: datetime) -> None: ...

    def enqueue_later(self, message: BaseModel, delay_seconds: int) -> None:
        """Publish again after this delay (the adapter may shorten it: WEBHOOK_RETRY_MAX_DELAY_SECONDS)."""
        ...


def deliver(message: M, ports: DeliveryPorts, *, url: str, body: bytes, headers: dict[str, str],
            delivery_id: str, now: datetime) -> Delivery:
    """POST once per delivery id; on failure, re-publish the message for later (within the window)
    or raise RetryLater so the queue's redrive takes over and the DLQ alarm speaks."""
    merchant_id, order_id = message.merchant_id, message.order_id  # type: ignore[attr-defined]
    if ports.webhook_delivered(merchant_id, order_id, delivery_id):
        return "already_delivered"
    try:
        ports.post(url, body, headers)
    except RetryLater:
        first = message.first_attempt_at or now  # type: ignore[attr-defined]
        if not may_reschedule(first, now):
            raise
        attempt = message.attempt  # type: ignore[attr-defined]
        ports.enqueue_later(message.model_copy(update={"attempt": attempt + 1, "first_attempt_at": first}),
                            retry_delay_seconds(attempt))
        return "webhook_retry_scheduled"
    ports.record_webhook_delivered(merchant_id, order_id, delivery_id, now)
    return "webhook_sent"
