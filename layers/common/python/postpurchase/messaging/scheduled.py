"""A message due later (the communication calendar) and the port that keeps them.

The schedule lives in the table under the order or the customer it concerns, indexed by the
sparse, sharded due-time GSI (gsi3); message_scheduler finds what is due and email_sender
sends it (postpurchase.messaging.schedule has the rules that decide due times).
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict

from ..orders.models import Identifier
from .requests import MessageKind

Priority = Literal["transactional", "marketing"]


class ScheduledMessage(BaseModel):
    """One message to send at `due_at`, dropped if still unsent at `expires_at`.

    (merchant, scope, scope_id, kind, ref) is its identity: scheduling it again replaces the
    due time of the same message, never adds a second one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    merchant_id: Identifier
    kind: MessageKind
    scope: Literal["order", "customer"]
    scope_id: Identifier  # the order id or the customer id
    customer_id: Identifier
    ref: Identifier  # e.g. the order id, "2027" for a yearly message, a campaign id
    due_at: AwareDatetime
    expires_at: AwareDatetime
    priority: Priority = "marketing"
    data: dict[str, str] = {}  # kind-specific facts the sender needs (e.g. campaign id)


class MessageSchedule(Protocol):
    def schedule(self, message: ScheduledMessage, now: datetime) -> None:
        """Store or move the message (idempotent); a message already sent or cancelled stays so."""
        ...

    def cancel(self, merchant_id: str, scope: str, scope_id: str, kind: str, ref: str, reason: str,
               now: datetime) -> None:
        """Cancel it if it has not been sent (idempotent; no error when it does not exist)."""
        ...
