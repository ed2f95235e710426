"""When survey emails are scheduled (reactions registered in postpurchase.orders.reactions).

An email survey is a scheduled message (kind `survey`, ref `survey-{id}`) under the order, due
on the local morning `days_after` days after delivery (after the resolved return for the
`after_return` audience). The existing sender applies quiet hours, the frequency cap and the
customer's preferences (a survey follows the "review request" choice), and cancels it when the
survey was answered or switched off meanwhile.

AWS requests: the order view (1 Query) and the surveys (cached Query), 1 UpdateItem per message.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .rules import applies, audience_of

if TYPE_CHECKING:
    from ..returns.rma import ReturnRequest

KIND = "survey"
EXPIRY = timedelta(days=14)


def ref_of(survey_id: str) -> str:
    return f"survey-{survey_id}"


def _schedule(merchant_id: str, order_id: str, *, after_return: bool, base: datetime, now: datetime) -> int:
    from .. import services
    from ..messaging.schedule import SEND_HOUR, local_morning_on_or_after, local_time, priority_of, zone
    from ..messaging.scheduled import ScheduledMessage

    surveys = services.survey_store().definitions(merchant_id)
    if not any(s.timing.channel == "email" for s in surveys):
        return 0
    view = services.order_store().order_view(merchant_id, order_id)
    if view is None or view.status == "cancelled":
        return 0
    audience = audience_of(is_first_order=view.is_first_order, after_return=after_return)
    customer = view.order.customer
    scheduled = 0
    for survey in surveys:
        if not applies(survey, audience, "email"):
            continue
        # The local morning of the Nth day after delivery, like the review request (never before it).
        day = base.astimezone(zone(customer.timezone)).date() + timedelta(days=survey.timing.days_after or 0)
        due = max(local_time(day, SEND_HOUR, customer.timezone), local_morning_on_or_after(base, customer.timezone))
        message = ScheduledMessage(merchant_id=merchant_id, kind=KIND, scope="order", scope_id=order_id,
                                   customer_id=customer.customer_id(), ref=ref_of(survey.survey_id), due_at=due,
                                   expires_at=due + EXPIRY, priority=priority_of(KIND),
                                   data={"survey_id": survey.survey_id})
        services.message_schedule().schedule(message, now)
        scheduled += 1
    return scheduled


def on_order_delivered(merchant_id: str, order_id: str, delivered_at: datetime, now: datetime) -> None:
    _schedule(merchant_id, order_id, after_return=False, base=delivered_at, now=now)


def on_return_resolved(merchant_id: str, order_id: str, rma: "ReturnRequest", now: datetime) -> None:
    _schedule(merchant_id, order_id, after_return=True, base=now, now=now)


def on_order_cancelled(merchant_id: str, order_id: str, now: datetime) -> None:
    from .. import services

    services.message_schedule().cancel_kind(merchant_id, "order", order_id, KIND, "order_cancelled", now)
