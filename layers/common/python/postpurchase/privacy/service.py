"""What the order-events consumer does with a privacy event (ports passed in; no AWS here).

An erasure runs in the consumer, not in the webhook's request: it is several writes per order,
and a failure is retried from the queue (erasure is idempotent). A shop's erasure fans out one
CustomerRedactRequested per customer, a page of SHOP_PAGE customers per message.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Literal, Protocol

from ..orders.events import CustomerDataRequested, CustomerRedactRequested, PrivacyEvent, ShopRedactRequested

SHOP_PAGE = 100

Outcome = Literal["customer_erased", "data_request_recorded", "data_request_duplicate", "shop_page_fanned_out"]


class PrivacyStore(Protocol):
    def erase(self, merchant_id: str, customer_ids: list[str], order_ids: list[str], now: datetime,
              emails: list[str] = ...) -> dict: ...

    def record_data_request(self, merchant_id: str, request_id: str, customer_id: str | None, email: str | None,
                            order_ids: list[str], source: str, received_at: datetime) -> bool: ...


class Customers(Protocol):
    def customers_page(self, merchant_id: str, after: str | None, limit: int) -> tuple[list, bool]: ...


def handle_privacy_event(event: PrivacyEvent, *, store: PrivacyStore, customers: Customers,
                         publish: Callable[[list[PrivacyEvent]], None], now: datetime) -> Outcome:
    from ..storage.privacy import customer_ids_for

    if isinstance(event, CustomerRedactRequested):
        # The address too: support conversations are found by it (a customer may never have ordered).
        store.erase(event.merchant_id, customer_ids_for(event.customer_id, event.email), list(event.order_ids), now,
                    emails=[event.email] if event.email else [])
        return "customer_erased"
    if isinstance(event, CustomerDataRequested):
        new = store.record_data_request(event.merchant_id, event.request_id, event.customer_id, event.email,
                                        list(event.order_ids), event.source, event.received_at)
        return "data_request_recorded" if new else "data_request_duplicate"
    page, more = customers.customers_page(event.merchant_id, event.after_customer, SHOP_PAGE)
    envelope = {"merchant_id": event.merchant_id, "source": event.source, "received_at": event.received_at}
    root = event.event_id.rsplit(":p", 1)[0] if event.page else event.event_id
    follow: list[PrivacyEvent] = [
        CustomerRedactRequested(**envelope, event_id=f"{root}:p{event.page}:c:{customer.customer_id}"[:200],
                                customer_id=customer.customer_id) for customer in page]
    if more and page:
        # The next page is a message of its own: a page that fails is retried alone.
        follow.append(ShopRedactRequested(**envelope, event_id=f"{root}:p{event.page + 1}"[:200],
                                          after_customer=page[-1].customer_id, page=event.page + 1))
    if follow:
        publish(follow)
    return "shop_page_fanned_out"
