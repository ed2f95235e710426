"""What the order-events consumer does with each internal event.

Every step is idempotent on the business identity: the order write is conditional, and the
confirmation is requested again on a redelivery because the send ledger, not this step,
guarantees a single email (a crash between storing and requesting must not lose it).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Literal, Protocol

from ..messaging.confirmation import confirmation_request
from ..messaging.requests import EmailRequest
from .events import OrderCancelled, OrderPlaced, ShipmentCreated, StorefrontReturnChanged
from .models import Order, Shipment

# An order older than this when it reaches us (a backfill, a redrive days later) is stored
# but not confirmed: a "thank you for your order" a week late confuses more than it helps.
CONFIRMATION_MAX_AGE = timedelta(days=3)

Outcome = Literal["order_recorded", "order_duplicate", "shipment_recorded", "order_cancelled", "return_synced"]


class RecordedOrderLike(Protocol):
    merchant_id: str
    order: Order
    customer_id: str
    is_first_order: bool
    newly_recorded: bool


class OrderStore(Protocol):
    def record_order(self, merchant_id: str, order: Order, now: datetime,
                     policy_version: int = 0) -> RecordedOrderLike: ...

    def record_shipment(self, merchant_id: str, order_id: str, shipment: Shipment, now: datetime) -> None: ...

    def cancel_order(self, merchant_id: str, order_id: str, cancelled_at: datetime, reason: str | None) -> None: ...


class EmailRequests(Protocol):
    def __call__(self, request: EmailRequest) -> None: ...


def confirmation_due(order: Order, now: datetime) -> bool:
    return now - order.placed_at <= CONFIRMATION_MAX_AGE


def handle_order_event(event: OrderPlaced | ShipmentCreated | OrderCancelled | StorefrontReturnChanged, *,
                       store: OrderStore, request_email: EmailRequests, order_page_url: Callable[[str, str], str],
                       start_tracking: Callable[[str, str, str], None],
                       report_status: Callable[[str, Shipment], None] | None = None,
                       policy_version_at: Callable[[str, datetime], int] = lambda merchant_id, at: 0,
                       sync_return: Callable[[StorefrontReturnChanged], object] | None = None,
                       after_recorded: Callable[[RecordedOrderLike, datetime], None] | None = None,
                       after_cancelled: Callable[[str, str, datetime], None] | None = None,
                       confirmation: Callable[[RecordedOrderLike, str, datetime], EmailRequest] = confirmation_request,
                       now: datetime) -> Outcome:
    """`confirmation` builds the confirmation request (recorded, order-page URL, now): the
    consumer passes one that applies the merchant's variant rules and fetches the extras
    (postpurchase.messaging.confirmation.compose_confirmation); the default is the plain/welcome one."""
    if isinstance(event, OrderPlaced):
        # The return policy in force when the order was placed judges its returns for good.
        recorded = store.record_order(event.merchant_id, event.order, now,
                                      policy_version_at(event.merchant_id, event.order.placed_at))
        if after_recorded is not None:  # again on a redelivery: every reaction is idempotent
            after_recorded(recorded, now)
        if confirmation_due(recorded.order, now):
            request_email(confirmation(recorded, order_page_url(event.merchant_id, recorded.order.order_id), now))
        return "order_recorded" if recorded.newly_recorded else "order_duplicate"
    if isinstance(event, ShipmentCreated):
        store.record_shipment(event.merchant_id, event.order_id, event.shipment, now)
        # Again on a redelivery: starting is idempotent, and a crash here must not leave a
        # parcel nobody tracks.
        start_tracking(event.merchant_id, event.order_id, event.shipment.shipment_id)
        if event.shipment.carrier_status and report_status is not None:
            report_status(event.merchant_id, event.shipment)
        return "shipment_recorded"
    if isinstance(event, StorefrontReturnChanged):
        if sync_return is None:
            raise TypeError("a storefront return change needs sync_return")
        sync_return(event)
        return "return_synced"
    store.cancel_order(event.merchant_id, event.order_id, event.cancelled_at, event.reason)
    if after_cancelled is not None:
        after_cancelled(event.merchant_id, event.order_id, now)
    return "order_cancelled"
