"""What an automated answer says, from live data (the order's parcels, its return window, its
newest return), or None when the data cannot answer it (then a person does).

Reads: the order's partition once (tracking and returns each read it with one Query).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..messaging.requests import ShipmentNotice, SupportReturnItem
from ..orders.models import Order
from .intents import Intent


@dataclass(frozen=True)
class Answer:
    variant: str  # messaging.requests.SupportReplyVariant
    order: Order | None
    shipments: tuple[ShipmentNotice, ...] = ()
    return_items: tuple[SupportReturnItem, ...] = ()
    start_return_url: str | None = None
    refund: object | None = None  # messaging.requests.ReturnNotice
    text: str | None = None


def tracking_answer(merchant_id: str, order: Order, now: datetime) -> Answer:
    from ..messaging.shipment_notices import shipment_notice_request
    from ..services import tracking_store
    from ..tracking.state import NoticeKind

    parcels = []
    for tracked in tracking_store().order_shipments(merchant_id, order.order_id) or []:
        request = shipment_notice_request(merchant_id=merchant_id, order=order, shipment=tracked.shipment,
                                          tracking=tracked.tracking, timeline=tracked.timeline,
                                          kind=NoticeKind.SHIPPED, order_page_url="", now=now)
        notice = request.shipment
        if notice is not None:
            parcels.append(notice.model_copy(update={"eta_is_late": False}))
    return Answer("tracking", order, shipments=tuple(parcels))


def return_answer(merchant_id: str, order: Order, now: datetime, order_link: str) -> Answer:
    from ..returns.service import load
    from ..services import policy_store, return_store

    returns = load(return_store(), policy_store(), merchant_id, order.order_id, now)
    items = tuple(SupportReturnItem(sku=item.sku, returnable=item.returnable, last_day=item.last_day)
                  for item in returns.items)
    return Answer("return_window", order, return_items=items, start_return_url=f"{order_link}#returns")


def refund_answer(merchant_id: str, order: Order, now: datetime) -> Answer | None:
    from ..returns.notices import return_notice
    from ..returns.service import load
    from ..services import policy_store, return_store

    returns = load(return_store(), policy_store(), merchant_id, order.order_id, now)
    if not returns.returns:
        return None  # no return to report on: a person answers
    newest = max(returns.returns, key=lambda entry: entry.rma.created_at)
    return Answer("refund_status", order, refund=return_notice(newest.rma, returns.policy))


def grounded_answer(intent: Intent, merchant_id: str, order: Order | None, now: datetime,
                    order_link: str | None) -> Answer | None:
    if order is None or order_link is None:
        return None
    if intent in (Intent.WHERE_IS_MY_ORDER, Intent.DELIVERY_DATE):
        return tracking_answer(merchant_id, order, now)
    if intent is Intent.RETURN_EXCHANGE:
        return return_answer(merchant_id, order, now, order_link)
    if intent is Intent.REFUND_STATUS:
        return refund_answer(merchant_id, order, now)
    return None
