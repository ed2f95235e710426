"""Which items of an order can be returned now: a pure function of order, shipments, policy, now.

Per SKU (line items sharing a SKU are counted together):

* units bought   = the order's quantity for the SKU;
* units shipped  = the sum of the SKU's quantities over the shipments, capped at units bought; a
  shipment without an items list carries every item of the order;
* window start   = by the category rule's `window_starts`:
  - "delivery":   over the shipments carrying the SKU, the latest of each one's delivered_at,
                  or, for a shipment without a delivery scan, its fulfilled_at + delivery_grace_days;
  - "fulfilment": the latest fulfilled_at among the shipments carrying the SKU;
  - "order":      order.placed_at;
* last_day       = the local date, in the customer's time zone, of start + window_days; the
  item can be returned through that whole day (inclusive);
* returnable_quantity = shipped - returned, when the item is returnable; 0 otherwise.

When several reasons apply, the first in this order is given (REASON_PRECEDENCE):

  1. non_returnable   - the category is non-returnable, or its rule's window_days is 0;
  2. final_sale       - the category is final sale;
  3. not_yet_shipped  - no unit of the SKU has shipped;
  4. already_returned - something was returned and no shipped unit is left to return;
  5. window_closed    - the customer's local date today is after last_day.

last_day is None for non_returnable / final_sale items (they never had a window) and while the
window's start is unknown (not yet shipped, unless the window counts from the order).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..orders.models import Order, Shipment, ShipmentItem
from ..tracking.state import ShipmentTracking
from .policy import CategoryRule, Resolution, ReturnPolicy

IneligibleReason = Literal["window_closed", "final_sale", "non_returnable", "already_returned", "not_yet_shipped"]

REASON_PRECEDENCE: tuple[IneligibleReason, ...] = (
    "non_returnable",
    "final_sale",
    "not_yet_shipped",
    "already_returned",
    "window_closed",
)


class ShipmentFacts(BaseModel):
    """What eligibility needs to know about one shipment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: list[ShipmentItem] | None = None  # None or [] = every item of the order
    fulfilled_at: AwareDatetime
    delivered_at: AwareDatetime | None = None

    @classmethod
    def from_shipment(cls, shipment: Shipment, tracking: ShipmentTracking | None = None) -> ShipmentFacts:
        """From a stored shipment and its tracking state (a naive created_at is taken as UTC)."""
        created = shipment.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        return cls(
            items=list(shipment.items) or None,
            fulfilled_at=created,
            delivered_at=tracking.delivered_at if tracking is not None else None,
        )

    def quantity_of(self, sku: str, bought: int) -> int:
        if not self.items:
            return bought
        return sum(item.quantity for item in self.items if item.sku == sku)


class ItemEligibility(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    returnable: bool
    reason: IneligibleReason | None = None
    returnable_quantity: Annotated[int, Field(ge=0)] = 0
    last_day: date | None = None  # inclusive, in the customer's time zone
    resolutions: frozenset[Resolution] = frozenset()


def _window_start(
    rule: CategoryRule, order: Order, carrying: list[ShipmentFacts]
) -> datetime | None:
    if rule.window_starts == "order":
        return order.placed_at
    if not carrying:
        return None
    if rule.window_starts == "fulfilment":
        return max(facts.fulfilled_at for facts in carrying)
    grace = timedelta(days=rule.delivery_grace_days)
    return max(facts.delivered_at or facts.fulfilled_at + grace for facts in carrying)


def eligibility(
    order: Order,
    shipments: list[ShipmentFacts],
    returned: dict[str, int],
    policy: ReturnPolicy,
    now: datetime,
    tz: str | None = None,
) -> list[ItemEligibility]:
    """Per SKU of the order (in order of first appearance), whether it can be returned `now`.

    `policy` must be the version recorded on the order. `returned` counts units already returned
    (or in an open return) per SKU. `tz` is the customer's IANA time zone; without it the
    order's customer time zone, else UTC.
    """
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    zone = ZoneInfo(tz or order.customer.timezone or "UTC")
    today = now.astimezone(zone).date()

    bought: dict[str, int] = {}
    category: dict[str, str | None] = {}
    for item in order.items:
        bought[item.sku] = bought.get(item.sku, 0) + item.quantity
        category.setdefault(item.sku, item.category)

    results: list[ItemEligibility] = []
    for sku, quantity in bought.items():
        rule = policy.rule_for(category[sku])
        carrying = [facts for facts in shipments if facts.quantity_of(sku, quantity) > 0]
        shipped = min(quantity, sum(facts.quantity_of(sku, quantity) for facts in shipments))
        already = max(0, returned.get(sku, 0))
        left = max(0, shipped - already)

        never = policy.is_non_returnable(category[sku]) or not rule.returnable
        final_sale = policy.is_final_sale(category[sku])
        last_day: date | None = None
        if not (never or final_sale):
            start = _window_start(rule, order, carrying)
            if start is not None:
                last_day = (start + timedelta(days=rule.window_days)).astimezone(zone).date()

        reason: IneligibleReason | None
        if never:
            reason = "non_returnable"
        elif final_sale:
            reason = "final_sale"
        elif shipped == 0:
            reason = "not_yet_shipped"
        elif left == 0 and already > 0:
            reason = "already_returned"
        elif last_day is None or today > last_day:  # last_day is known once something shipped
            reason = "window_closed"
        else:
            reason = None

        results.append(
            ItemEligibility(
                sku=sku,
                returnable=reason is None,
                reason=reason,
                returnable_quantity=left if reason is None else 0,
                last_day=last_day,
                resolutions=rule.resolutions if reason is None else frozenset(),
            )
        )
    return results
