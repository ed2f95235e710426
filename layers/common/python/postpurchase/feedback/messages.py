"""What travels on the return-events queue for feedback: the merchant's webhook, one per version."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..orders.models import Identifier


class DeliverFeedbackWebhook(BaseModel):
    """POST one answer version to the merchant's `feedback_url`; retried on its own until 2xx.

    Carries the body as it was when answered, so a later change never rewrites an older delivery."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["DeliverFeedbackWebhook"] = "DeliverFeedbackWebhook"
    merchant_id: Identifier
    order_id: Identifier
    sku: Annotated[str, Field(min_length=1, max_length=200)]
    version: Annotated[int, Field(ge=1)]
    body: dict[str, Any]
    # Own retry schedule (returns/webhook_retries.py): how many tries so far, since when.
    attempt: Annotated[int, Field(ge=0)] = 0
    first_attempt_at: datetime | None = None
