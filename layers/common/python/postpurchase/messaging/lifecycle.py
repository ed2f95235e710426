"""What the communication calendar does when something happens to an order (the reactions
registered in postpurchase.orders.reactions). Each is idempotent: scheduling the same message
again moves its due time, and a settled message is never revived.

AWS requests: on a recorded order 1 GetItem (settings, cached) + 1 UpdateItem per message
scheduled + 1 Query of the customer's win-backs (+ 1 UpdateItem per one cancelled); on a
shipment or a delivery 1 Query of the order partition + 1 UpdateItem; on a cancellation
2 UpdateItems.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from . import schedule as rules

if TYPE_CHECKING:
    from ..orders.processing import RecordedOrderLike


def on_order_recorded(recorded: "RecordedOrderLike", now: datetime) -> None:
    from .. import services

    settings = services.messaging_settings(recorded.merchant_id)
    store = services.message_schedule()
    order, customer_id, m = recorded.order, recorded.customer_id, recorded.merchant_id
    tz = order.customer.timezone
    if recorded.is_first_order and settings.anniversary:
        store.schedule(rules.anniversary_message(m, customer_id, order.order_id, order.placed_at, tz), now)
    if order.customer.birthday is not None and settings.birthday:
        store.schedule(rules.birthday_message(m, customer_id, order.customer.birthday, now, tz), now)
    # A new order answers every earlier "we miss you"; this order starts its own countdown.
    for stored in store.of_kind(m, "customer", customer_id, "win_back"):
        since = stored.message.data.get("last_order_at")
        if stored.status in ("pending", "enqueued") and since and datetime.fromisoformat(since) < order.placed_at:
            store.settle(stored.pk, stored.sk, "cancelled", "ordered_again", now)
    win_back = rules.win_back_message(m, customer_id, order.order_id, order.placed_at, settings, tz)
    if win_back is not None:
        store.schedule(win_back, now)


def _schedule_review(merchant_id: str, order_id: str, *, delivered_at: datetime | None,
                     fulfilled_at: datetime | None, now: datetime) -> None:
    from .. import services

    view = services.order_store().order_view(merchant_id, order_id)
    if view is None or view.status == "cancelled":
        return
    if delivered_at is None and view.delivered_at is not None:
        return  # a delivery scan already set the date: the fallback does not move it back
    settings = services.messaging_settings(merchant_id)
    order = view.order
    due = rules.review_request_due(delivered_at=delivered_at or view.delivered_at, fulfilled_at=fulfilled_at,
                                   categories=[item.category for item in order.items], settings=settings,
                                   tz=order.customer.timezone)
    if due is not None:
        services.message_schedule().schedule(
            rules.review_request_message(merchant_id, order_id, order.customer.customer_id(), due), now)


def on_order_delivered(merchant_id: str, order_id: str, delivered_at: datetime, now: datetime) -> None:
    _schedule_review(merchant_id, order_id, delivered_at=delivered_at, fulfilled_at=None, now=now)


def on_shipment_recorded(merchant_id: str, order_id: str, shipment_id: str, now: datetime) -> None:
    """No delivery scan may ever come: fulfilment + the transit allowance stands in until one does."""
    _schedule_review(merchant_id, order_id, delivered_at=None, fulfilled_at=now, now=now)


def on_order_cancelled(merchant_id: str, order_id: str, now: datetime) -> None:
    from .. import services

    store = services.message_schedule()
    for kind in ("review_request", "review_reminder"):
        store.cancel(merchant_id, "order", order_id, kind, order_id, "order_cancelled", now)
