"""What travels on the return-events queue for surveys: the merchant's `survey.detractor` webhook."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..orders.models import Identifier

DETRACTOR_EVENT = "survey.detractor"


class DeliverSurveyWebhook(BaseModel):
    """POST one detractor follow-up to the merchant's feedback webhook URL; retried until 2xx
    (returns/webhook_retries.py), once per (survey, respondent) whatever the queue does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["DeliverSurveyWebhook"] = "DeliverSurveyWebhook"
    merchant_id: Identifier
    order_id: Identifier
    survey_id: Annotated[str, Field(min_length=1, max_length=40)]
    customer_id: Identifier
    body: dict[str, Any]
    attempt: Annotated[int, Field(ge=0)] = 0
    first_attempt_at: datetime | None = None

    @property
    def delivery_id(self) -> str:
        return f"survey:{self.survey_id}:{self.customer_id}"
