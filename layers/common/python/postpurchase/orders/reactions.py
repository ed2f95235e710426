"""What other capabilities do when something happens to an order.

The consumers that see the event (order_events, tracking_worker, return_events) call these;
each capability registers its reaction in the lists below. Every reaction is idempotent: it
runs again when SQS redelivers the event, and a crash between two reactions loses neither.
Reactions import lazily, so a function pays only for what it uses at cold start.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..returns.rma import ReturnRequest
    from .processing import RecordedOrderLike as RecordedOrder


def _on_recorded() -> list[Callable[["RecordedOrder", datetime], None]]:
    from .. import services
    from ..messaging import lifecycle as calendar
    from ..recommendations import service as recommendations
    from ..rewards import service as rewards
    from ..analytics import recording as analytics
    from ..storage.campaigns import remember_order_facts

    return [remember_order_facts, rewards.on_order_recorded, services.loyalty().on_order_recorded,
            recommendations.on_order_recorded, calendar.on_order_recorded, analytics.on_order_recorded]


def _on_cancelled() -> list[Callable[[str, str, datetime], None]]:
    from .. import services
    from ..messaging import lifecycle as calendar
    from ..rewards import service as rewards

    from ..surveys import calendar as surveys

    return [rewards.on_order_cancelled, services.loyalty().on_order_cancelled, calendar.on_order_cancelled,
            surveys.on_order_cancelled]


def _on_delivered() -> list[Callable[[str, str, datetime, datetime], None]]:
    from .. import services
    from ..messaging import lifecycle as calendar

    from ..surveys import calendar as surveys

    return [services.loyalty().on_order_delivered, calendar.on_order_delivered, surveys.on_order_delivered]


def _on_shipment_recorded() -> list[Callable[[str, str, str, datetime], None]]:
    from ..messaging.lifecycle import on_shipment_recorded

    return [on_shipment_recorded]


def _on_return_resolved() -> list[Callable[[str, str, "ReturnRequest", datetime], None]]:
    from .. import services
    from ..analytics import recording as analytics
    from ..recommendations import service as recommendations
    from ..rewards import service as rewards

    from ..surveys import calendar as surveys

    return [rewards.on_return_resolved, services.loyalty().on_return_resolved, recommendations.on_return_resolved,
            analytics.on_return_resolved, surveys.on_return_resolved]


def after_order_recorded(recorded: "RecordedOrder", now: datetime) -> None:
    for reaction in _on_recorded():
        reaction(recorded, now)


def after_shipment_recorded(merchant_id: str, order_id: str, shipment_id: str, now: datetime) -> None:
    """A fulfilment (parcel) was recorded for the order."""
    for reaction in _on_shipment_recorded():
        reaction(merchant_id, order_id, shipment_id, now)


def after_order_cancelled(merchant_id: str, order_id: str, now: datetime) -> None:
    for reaction in _on_cancelled():
        reaction(merchant_id, order_id, now)


def after_order_delivered(merchant_id: str, order_id: str, delivered_at: datetime, now: datetime) -> None:
    for reaction in _on_delivered():
        reaction(merchant_id, order_id, delivered_at, now)


def after_return_resolved(merchant_id: str, order_id: str, rma: "ReturnRequest", now: datetime) -> None:
    """An RMA reached resolved (refund, store credit or exchange): what came back is in its lines."""
    for reaction in _on_return_resolved():
        reaction(merchant_id, order_id, rma, now)
