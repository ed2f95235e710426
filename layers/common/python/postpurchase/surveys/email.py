"""The survey email's content, decided when it is due (messaging.due.Links.survey_notice).

One Query of the respondent's answers and the cached definitions: a survey switched off, no
longer sent by email, or already answered by this customer is not sent (the message is
cancelled); otherwise the first question goes in the email, one signed link per score.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .links import answer_url, page_url
from .model import SCORES
from .service import Respondent

if TYPE_CHECKING:
    from ..messaging.due import MessageContext
    from ..messaging.requests import SurveyNotice
    from ..messaging.scheduled import ScheduledMessage


def survey_notice(message: "ScheduledMessage", context: "MessageContext", now: datetime) -> "SurveyNotice | None":
    from .. import services
    from ..messaging.requests import SurveyNotice, SurveyScore

    store = services.survey_store()
    survey = store.definition(message.merchant_id, message.data.get("survey_id", ""))
    if survey is None or not survey.active or survey.timing.channel != "email" or context.order is None:
        return None
    answers, _ = store.respondent(message.merchant_id, survey.survey_id, context.customer_id)
    if answers:
        return None  # answered already (on the order page, or from an earlier email)
    order = context.order
    who = Respondent(message.merchant_id, survey.survey_id, context.customer_id, order.order_id,
                     order.items[0].sku if order.items else "")
    first = survey.questions[0]
    scores = [SurveyScore(value=value, url=answer_url(who, first.id, str(value), now))
              for value in SCORES.get(first.kind, ())]
    return SurveyNotice(survey_id=survey.survey_id, kind=first.kind, text=dict(first.text),
                        default_language=survey.default_language, scores=scores, page_url=page_url(who, now))
