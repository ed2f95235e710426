"""What a return request and a return command look like on the wire (pydantic at the edge)."""
from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..orders.models import Identifier, Money, Sku
from .policy import Resolution, ReturnReason
from .rma import InspectionLine


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class ReturnItemIn(_In):
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    # Per-item overrides of the request's reason, comment and resolution.
    reason: ReturnReason | None = None
    comment: Annotated[str, Field(max_length=1000)] | None = None
    resolution: Resolution | None = None


class ReturnRequestIn(_In):
    """`POST /v1/orders/{order_id}/returns`. `email` is how a customer without a link proves
    the order is theirs; it is not part of the request itself."""

    items: Annotated[list[ReturnItemIn], Field(min_length=1, max_length=100)]
    reason: ReturnReason
    comment: Annotated[str, Field(max_length=1000)] = ""
    resolution: Resolution
    email: Annotated[str, Field(max_length=254)] | None = None

    @field_validator("items")
    @classmethod
    def _one_line_per_sku(cls, items: list[ReturnItemIn]) -> list[ReturnItemIn]:
        seen: set[str] = set()
        for item in items:
            if item.sku in seen:
                raise ValueError(f"sku {item.sku!r} is listed twice; add up the quantities")
            seen.add(item.sku)
        return items

    def lines(self) -> list[dict[str, Any]]:
        return [{"sku": item.sku, "quantity": item.quantity, "reason": item.reason or self.reason,
                 "comment": item.comment if item.comment is not None else self.comment,
                 "resolution": item.resolution or self.resolution} for item in self.items]

    def fingerprint(self) -> str:
        """The request's content (without the email): a retry with the same key must match it."""
        canonical = json.dumps(sorted(self.lines(), key=lambda line: line["sku"]), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


Action = Literal["approve", "reject", "issue_label", "issue_drop_off_code", "mark_in_transit", "receive", "inspect",
                 "resolve", "close", "cancel"]


class ReturnCommandIn(_In):
    """`POST /v1/orders/{order_id}/returns/{rma_id}/transitions`: one step of the RMA.

    Which fields an action needs: reject - reason; issue_label - carrier, tracking_number
    (label_url); issue_drop_off_code - drop_off_code; inspect - lines; resolve - resolution
    (kind, amount, currency, store_credit_code or exchange_order_id); approve - optional
    ship_within_days."""

    action: Action
    reason: Annotated[str, Field(max_length=1000)] | None = None
    carrier: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    tracking_number: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    label_url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    drop_off_code: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    lines: Annotated[list[InspectionLine], Field(max_length=100)] | None = None
    resolution: "ResolutionIn | None" = None
    ship_within_days: Annotated[int, Field(ge=1, le=365, strict=True)] | None = None


class ResolutionIn(_In):
    kind: Resolution
    amount: Money | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    store_credit_code: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    exchange_order_id: Identifier | None = None


ReturnCommandIn.model_rebuild()
