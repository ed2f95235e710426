"""The tracking use cases' effects on the world: queues, the order, the customer's email."""
from __future__ import annotations

from datetime import datetime, timedelta

from .. import services
from ..config import settings
from ..errors import RetryLater
from ..messaging.links import order_page_url
from ..messaging.shipment_notices import shipment_notice_request
from .messages import NoticeCheck
from .state import NoticeKind


class QueueEffects:
    def schedule_notice_check(self, check: NoticeCheck) -> None:
        services.tracking_queue().publish(check.model_dump_json(), kind=check.type, merchant_id=check.merchant_id,
                                          delay_seconds=settings().notice_debounce_seconds)

    def delivered(self, tracked, delivered_at: datetime) -> None:
        from ..orders.reactions import after_order_delivered

        services.order_store().record_delivery(tracked.merchant_id, tracked.order_id, delivered_at)
        after_order_delivered(tracked.merchant_id, tracked.order_id, delivered_at, delivered_at)

    def request_notice(self, tracked, kind: NoticeKind, now: datetime) -> None:
        order = services.order_store().get_order(tracked.merchant_id, tracked.order_id)
        if order is None:
            raise RetryLater(f"order {tracked.order_id} is not stored")
        config = settings()
        link = order_page_url(config.public_base_url, services.link_keys(), tracked.merchant_id,
                              tracked.order_id, now, timedelta(days=config.order_link_ttl_days))
        request = shipment_notice_request(merchant_id=tracked.merchant_id, order=order, shipment=tracked.shipment,
                                          tracking=tracked.tracking, timeline=tracked.timeline, kind=kind,
                                          order_page_url=link, now=now)
        services.outbound_email_queue().publish(request.model_dump_json(), kind=request.kind,
                                                merchant_id=tracked.merchant_id)
        # A parcel in exception or stalled also opens a conversation for the merchant (once per
        # shipment and reason; a retried check finds it): support.proactive.
        from ..support.proactive import open_for_shipment

        open_for_shipment(tracked, now, order=order)

    def return_parcel_moved(self, tracked, state, now: datetime) -> None:
        from ..returns.messages import ReturnParcelMoved

        message = ReturnParcelMoved(merchant_id=tracked.merchant_id, order_id=tracked.order_id,
                                    rma_id=tracked.shipment.rma_id, status=state.status.value,
                                    at=state.delivered_at or state.last_event_at or now)
        services.return_events_queue().publish(message.model_dump_json(), kind=message.type,
                                               merchant_id=tracked.merchant_id)

    def count(self, tally, now: datetime) -> None:
        from ..analytics.recording import count

        count(tally, now)
