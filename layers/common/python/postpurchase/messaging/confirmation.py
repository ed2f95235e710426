"""Which confirmation a customer gets. Today: a warm welcome for a first order, else plain."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..orders.models import Order
from .requests import ConfirmationVariant, EmailRequest


class RecordedOrderLike(Protocol):
    merchant_id: str
    order: Order
    is_first_order: bool


def confirmation_variant(is_first_order: bool) -> ConfirmationVariant:
    return "welcome" if is_first_order else "plain"


def confirmation_request(recorded: RecordedOrderLike, order_page_url: str, now: datetime) -> EmailRequest:
    order = recorded.order
    return EmailRequest(
        kind="order_confirmation",
        variant=confirmation_variant(recorded.is_first_order),
        merchant_id=recorded.merchant_id,
        ref=order.order_id,
        recipient=order.recipient,
        locale=order.customer.locale,
        timezone=order.customer.timezone,
        order=order,
        order_page_url=order_page_url,
        requested_at=now,
    )
