"""The survey the order page shows right after purchase (timing `order_page`).

Pure choice (`pick`) plus the link: the definitions come from the per-container cache, so the
order page stays one Query. The page offers the survey from the purchase for ORDER_PAGE_DAYS;
the survey page itself says "that's everything" once it is answered.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable
from urllib.parse import urlencode

from .model import Survey
from .rules import applies, audience_of

ORDER_PAGE_DAYS = timedelta(days=30)


def pick(surveys: Iterable[Survey], *, is_first_order: bool, had_return: bool, placed_at: datetime,
         cancelled: bool, now: datetime) -> Survey | None:
    if cancelled or now - placed_at > ORDER_PAGE_DAYS:
        return None
    audiences = [audience_of(is_first_order=is_first_order, after_return=False)]
    if had_return:
        audiences.insert(0, "after_return")
    for audience in audiences:
        for survey in surveys:
            if applies(survey, audience, "order_page"):  # type: ignore[arg-type]
                return survey
    return None


def order_page_survey_path(merchant_id: str, view: Any, now: datetime, language: str | None) -> str | None:
    """The survey page's path for this order's customer, or None when no survey applies."""
    from .. import services
    from .links import page_path, page_token
    from .service import Respondent

    order = view.order
    survey = pick(services.survey_store().definitions(merchant_id), is_first_order=view.is_first_order,
                  had_return=bool(view.returns), placed_at=order.placed_at, cancelled=view.status == "cancelled",
                  now=now)
    if survey is None:
        return None
    who = Respondent(merchant_id, survey.survey_id, order.customer.customer_id(), order.order_id,
                     order.items[0].sku if order.items else "")
    path = page_path(merchant_id, page_token(who, now))
    return f"{path}?{urlencode({'lang': language})}" if language else path
