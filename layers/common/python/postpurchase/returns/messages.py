"""What travels on the return-events queue."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ..feedback.messages import DeliverFeedbackWebhook
from ..surveys.messages import DeliverSurveyWebhook
from ..support.webhook import DeliverSupportWebhook
from ..orders.models import Identifier

Origin = Literal["api", "shopify"]


class ReturnChanged(BaseModel):
    """An RMA gained the transitions history[from_revision:to_revision]: send what they mean
    (customer notices, the ReturnResolved event, the merchant's webhook)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["ReturnChanged"] = "ReturnChanged"
    merchant_id: Identifier
    order_id: Identifier
    rma_id: Identifier
    from_revision: Annotated[int, Field(ge=0)]
    to_revision: Annotated[int, Field(ge=1)]
    # Where the change was made: a storefront already moved the money, so no refund webhook.
    origin: Origin = "api"


class DeliverReturnWebhook(BaseModel):
    """Tell the merchant's system a return was resolved; retried on its own until it answers 2xx."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["DeliverReturnWebhook"] = "DeliverReturnWebhook"
    merchant_id: Identifier
    order_id: Identifier
    rma_id: Identifier
    revision: Annotated[int, Field(ge=1)]
    # Own retry schedule (returns/webhook_retries.py): how many tries so far, since when.
    attempt: Annotated[int, Field(ge=0)] = 0
    first_attempt_at: datetime | None = None


class ReturnParcelMoved(BaseModel):
    """The carrier moved a return parcel (tracking capability): in transit, or delivered to the shop."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["ReturnParcelMoved"] = "ReturnParcelMoved"
    merchant_id: Identifier
    order_id: Identifier
    rma_id: Identifier
    status: str  # postpurchase.tracking.model.TrackingStatus value
    at: datetime


# The feedback webhook shares this queue (and its retries, DLQ and alarm) with the returns webhook.
# ...and so does the survey's `survey.detractor` webhook.
# ...and so does support's `support.conversation.created` webhook (support/webhook.py).
ReturnMessage = Annotated[Union[ReturnChanged, DeliverReturnWebhook, ReturnParcelMoved, DeliverFeedbackWebhook,
                                DeliverSurveyWebhook, DeliverSupportWebhook],
                          Field(discriminator="type")]
return_message_adapter: TypeAdapter[ReturnMessage] = TypeAdapter(ReturnMessage)
