"""The merchant's review settings (part of the messaging settings: PUT /v1/settings/messaging)."""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class ReviewSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Off: every review waits for the merchant in the moderation queue.
    auto_publish: bool = True
    # Ratings below this wait in the queue (never dropped: the merchant publishes them by hand).
    # 1, the default, publishes negative reviews like positive ones when the content rules pass.
    min_rating_to_publish: Annotated[int, Field(ge=1, le=5)] = 1
    hold_links: bool = True
    hold_email_addresses: bool = True
    hold_phone_numbers: bool = True
    hold_profanity: bool = True
    # Where a review is read on the storefront (feed's review_url); {sku} is replaced. Unset: the
    # product's own URL from the order, then the shop's URL.
    review_url_template: Annotated[str, Field(max_length=500)] | None = None
