"""Follow what the merchant does to a return in their storefront's admin (Shopify returns/*, refunds/create).

The storefront is the merchant's own hand, so its steps are taken as the merchant's (actor
`merchant`, id `shopify`), without the customer-facing eligibility checks; the one rule kept is
that no more units are ever in returns than were bought. Steps that already happened, or that
the RMA's status no longer allows, are acknowledged and skipped: webhooks arrive late, twice
and out of order.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from ..errors import NotFound, RetryLater
from ..orders.events import StorefrontReturnChanged, StorefrontReturnLine
from ..orders.models import Order
from . import rma as lifecycle
from .messages import ReturnChanged
from .policy import Resolution, ReturnReason
from .rma import Actor, IllegalTransition, InspectionLine, ReturnRequest, RmaStatus
from .service import (
    MAX_ATTEMPTS,
    Notify,
    OrderReturns,
    PolicySource,
    ReturnExists,
    ReturnStore,
    StaleOrder,
    StaleReturn,
    StoredRma,
    load,
    units_held,
)

SyncOutcome = Literal["created", "updated", "unchanged", "unmatched"]

# Refunds apply to a return once its parcel is on its way back or later.
_REFUNDABLE = (RmaStatus.in_transit, RmaStatus.received, RmaStatus.inspected)


def storefront_rma_id(source: str, external_id: str) -> str:
    return f"{source}-{external_id}"


def _order_skus(event: StorefrontReturnChanged, order: Order) -> StorefrontReturnChanged:
    """The event with each line named by the order's SKU: a storefront that identified a line
    by its own line id (Shopify returns) is matched through the order's `line_id`s."""
    by_line_id = {item.line_id: item.sku for item in order.items if item.line_id}
    merged: dict[str, StorefrontReturnLine] = {}
    for line in event.lines:
        sku = by_line_id.get(line.line_id, line.sku) if line.line_id else line.sku
        if sku in merged:  # two line items of one SKU: one line of the RMA
            line = merged[sku].model_copy(update={"quantity": merged[sku].quantity + line.quantity})
        merged[sku] = line.model_copy(update={"sku": sku})
    return event.model_copy(update={"lines": list(merged.values())})


def _bought(order: Order) -> dict[str, int]:
    bought: dict[str, int] = {}
    for item in order.items:
        bought[item.sku] = bought.get(item.sku, 0) + item.quantity
    return bought


def _create(event: StorefrontReturnChanged, returns: OrderReturns, actor: Actor, store: ReturnStore,
            now: datetime) -> ReturnRequest | None:
    bought, held = _bought(returns.order), units_held(entry.rma for entry in returns.returns)
    lines = [line for line in event.lines if line.sku in bought]
    if not lines:
        return None
    for line in lines:
        if held.get(line.sku, 0) + line.quantity > bought[line.sku]:
            return None  # more than was bought: never recorded, whatever the storefront says
    reason = event.reason if event.reason in {r.value for r in ReturnReason} else ReturnReason.OTHER.value
    assert event.external_return_id is not None
    rma = lifecycle.request(rma_id=storefront_rma_id(event.source, event.external_return_id),
                            merchant_id=event.merchant_id, order_id=event.order_id,
                            lines=[{"sku": line.sku, "quantity": line.quantity, "reason": reason,
                                    "comment": event.note or "", "resolution": Resolution.REFUND}
                                   for line in lines],
                            actor=actor, now=event.occurred_at)
    store.create_return(event.merchant_id, rma, expected_revision=returns.returns_revision, fingerprint=None,
                        external_id=event.external_return_id, now=now, email=returns.order.email)
    return rma


def _step(event: StorefrontReturnChanged, returns: OrderReturns, rma: ReturnRequest, actor: Actor) -> ReturnRequest:
    """The RMA after the storefront's step; unchanged when it does not apply (any more)."""
    at = event.occurred_at
    try:
        if event.action in ("requested", "approved"):
            if event.action == "approved" and rma.status is RmaStatus.requested:
                return lifecycle.approve(rma, actor, at)
            return rma
        if event.action == "declined":
            return lifecycle.reject(rma, actor, at, event.note or "Declined by the shop")
        if event.action == "cancelled":
            return lifecycle.cancel(rma, actor, at)
        if event.action == "closed":
            return lifecycle.close(rma, actor, at)
        return _refund(event, returns, rma, actor)
    except IllegalTransition:
        return rma


def _refund(event: StorefrontReturnChanged, returns: OrderReturns, rma: ReturnRequest, actor: Actor) -> ReturnRequest:
    at = event.occurred_at
    if rma.status not in _REFUNDABLE or event.refund_amount is None:
        return rma
    if rma.status is RmaStatus.in_transit:
        rma = lifecycle.receive(rma, actor, at)
    if rma.status is RmaStatus.received:
        refunded = {line.sku: line.quantity for line in event.lines}
        # A refund without lines covers the whole return.
        accepted = [InspectionLine(sku=line.sku, accepted_quantity=min(line.quantity, refunded.get(line.sku, 0))
                                   if refunded else line.quantity) for line in rma.lines]
        rma = lifecycle.inspect(rma, actor, at, accepted)
    if rma.inspection_outcome is lifecycle.InspectionOutcome.rejected:
        return lifecycle.close(rma, actor, at)
    return lifecycle.resolve(rma, actor, at, {"kind": Resolution.REFUND, "amount": event.refund_amount,
                                              "currency": event.currency or returns.order.currency},
                             recorded_elsewhere=True)


def _match_refund(event: StorefrontReturnChanged, returns: OrderReturns) -> StoredRma | None:
    """A refund made without a storefront return: the oldest refundable RMA with one of its SKUs."""
    skus = {line.sku for line in event.lines}
    for entry in returns.returns:
        if entry.rma.status in _REFUNDABLE and (not skus or skus & {line.sku for line in entry.rma.lines}):
            return entry
    return None


def apply_storefront_change(event: StorefrontReturnChanged, *, store: ReturnStore, policies: PolicySource,
                            notify: Notify, now: datetime) -> SyncOutcome:
    actor = Actor(kind="merchant", id=event.source)
    if event.order_id is None:
        found = (store.order_of_return(event.merchant_id, storefront_rma_id(event.source, event.external_return_id))
                 if event.external_return_id else None)
        if found is None:
            return "unmatched"
        event = event.model_copy(update={"order_id": found})
    for _ in range(MAX_ATTEMPTS):
        try:
            returns = load(store, policies, event.merchant_id, event.order_id, now, consistent=True)
        except NotFound:  # storefronts do not promise order: the order may be on its way
            raise RetryLater(f"return for order {event.order_id}, which is not stored yet") from None
        event = _order_skus(event, returns.order)
        if event.external_return_id is not None:
            rma_id = storefront_rma_id(event.source, event.external_return_id)
            stored = next((entry for entry in returns.returns if entry.rma.rma_id == rma_id), None)
        else:
            stored = _match_refund(event, returns)
        if stored is None:
            if event.external_return_id is None or event.action in ("cancelled", "closed", "declined", "refunded"):
                return "unmatched"
            try:
                created = _create(event, returns, actor, store, now)
            except (StaleOrder, ReturnExists):
                continue
            if created is None:
                return "unmatched"
            notify(ReturnChanged(merchant_id=event.merchant_id, order_id=event.order_id, rma_id=created.rma_id,
                                 from_revision=0, to_revision=len(created.history), origin="shopify"))
            if event.action == "requested":
                return "created"
            continue  # then approve it, on the stored copy
        updated = _step(event, returns, stored.rma, actor)
        if updated is stored.rma:
            return "unchanged"
        try:
            store.save_return(event.merchant_id, updated, expected_revision=stored.revision, now=now)
        except StaleReturn:
            continue
        notify(ReturnChanged(merchant_id=event.merchant_id, order_id=event.order_id, rma_id=updated.rma_id,
                             from_revision=stored.revision, to_revision=len(updated.history), origin="shopify"))
        return "updated"
    raise RetryLater(f"returns of order {event.order_id} kept changing")
