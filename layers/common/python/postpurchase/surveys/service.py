"""Recording a respondent's answers (ports in, no AWS here).

The signed link names the respondent (merchant, survey, customer, order): every answer is
checked against the definition, compared with what is stored (rules.second_answer) and written
with its counter change in one transaction; a concurrent write makes us re-read and apply again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Protocol

from ..errors import Conflict, InvalidInput
from .model import Survey
from .rules import Answer, StoredAnswer, counter_deltas, parse_answer, second_answer

ATTEMPTS = 3


class StaleAnswer(Exception):
    """The stored answer changed between reading and writing it (the caller re-reads)."""


@dataclass(frozen=True)
class Respondent:
    """Who answers, from the signed link: the order is the context (webhook, review link)."""

    merchant_id: str
    survey_id: str
    customer_id: str
    order_id: str
    sku: str = ""  # an item of the order to review (the promoter's invitation); "" when none


class AnswerStore(Protocol):
    def respondent(self, merchant_id: str, survey_id: str,
                   customer_id: str) -> tuple[dict[str, StoredAnswer], dict[str, Any] | None]: ...

    def record_answer(self, merchant_id: str, survey_id: str, customer_id: str, order_id: str, question_id: str,
                      value: str, other_text: str | None, existing: StoredAnswer | None, deltas: dict[str, int],
                      now: datetime) -> None: ...


def parse_answers(survey: Survey, given: Mapping[str, tuple[Any, Any]]) -> list[Answer]:
    """{question_id: (value, other_text)} -> checked answers, in the survey's order."""
    unknown = sorted(set(given) - {q.id for q in survey.questions})
    if unknown:
        raise InvalidInput(f"no question {unknown[0]!r} in this survey", field=unknown[0])
    return [parse_answer(q, *given[q.id]) for q in survey.questions if q.id in given]


def record(store: AnswerStore, survey: Survey, who: Respondent, answers: list[Answer],
           now: datetime) -> dict[str, StoredAnswer]:
    """Store the answers (each idempotent); returns the respondent's answers after them."""
    for _ in range(ATTEMPTS):
        stored, _detractor = store.respondent(who.merchant_id, who.survey_id, who.customer_id)
        current = dict(stored)
        try:
            for answer in answers:
                existing = current.get(answer.question_id)
                if second_answer(existing, answer, now) == "same":
                    continue
                store.record_answer(who.merchant_id, who.survey_id, who.customer_id, who.order_id, answer.question_id,
                                    answer.value, answer.other_text, existing, counter_deltas(existing, answer), now)
                current[answer.question_id] = StoredAnswer(
                    answer.question_id, answer.value, answer.other_text, who.order_id,
                    existing.answered_at if existing else now, now, (existing.version + 1) if existing else 1)
        except StaleAnswer:
            continue
        return current
    raise Conflict("the answer changed meanwhile; send it again", field=answers[0].question_id if answers else None)
