"""The survey's pure rules: option order, who is asked, what an answer is, how a second answer
is treated, how answers become counters and counters become results.

A second answer to the same (respondent, survey, question) UPDATES the stored one while the
first answer is younger than CHANGE_WINDOW (a mis-tap in the email, a change of mind on the
page); after that it is refused with 409. The same answer again is a no-op, so a repeated
click or a retried request never counts twice.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Literal

from ..errors import Conflict, InvalidInput
from .model import OTHER, SCORES, Audience, Question, Survey

CHANGE_WINDOW = timedelta(days=7)
MAX_OTHER_TEXT = 500
MAX_MESSAGE = 2000
Segment = Literal["promoter", "passive", "detractor"]


# ------------------------------------------------------------------------------ who, in what order


def audience_of(*, is_first_order: bool, after_return: bool) -> Audience:
    if after_return:
        return "after_return"
    return "first_order" if is_first_order else "repeat_customer"


def applies(survey: Survey, audience: Audience, channel: str) -> bool:
    return survey.active and survey.timing.channel == channel and audience in survey.audience


def option_order(question: Question, respondent: str, survey_id: str) -> list[str]:
    """The option ids in the order this respondent sees them: shuffled when the question says so,
    by a hash of (survey, question, respondent, option), so a reload shows the same order and
    different respondents see different orders. "other" always comes last."""
    ids = [option.id for option in question.options]
    if question.randomize:
        ids.sort(key=lambda oid: hashlib.sha256(f"{survey_id}\n{question.id}\n{respondent}\n{oid}".encode()).digest())
    return ids + ([OTHER] if question.other else [])


# ------------------------------------------------------------------------------ answers


@dataclass(frozen=True)
class Answer:
    question_id: str
    value: str  # the score ("0".."10", "1".."5") or the option id (or "other")
    other_text: str | None = None


def parse_answer(question: Question, value: Any, other_text: Any = None, field: str | None = None) -> Answer:
    """A checked answer to `question`; InvalidInput naming the question otherwise."""
    name = field or question.id
    text = value.strip() if isinstance(value, str) else value
    if question.kind in SCORES:
        allowed = SCORES[question.kind]
        if isinstance(text, bool) or not (isinstance(text, int) or (isinstance(text, str) and text.isascii()
                                                                   and text.isdigit() and len(text) <= 2)):
            raise InvalidInput(f"{name}: a whole number from {allowed[0]} to {allowed[-1]}", field=name)
        if int(text) not in allowed:
            raise InvalidInput(f"{name}: a whole number from {allowed[0]} to {allowed[-1]}", field=name)
        return Answer(question.id, str(int(text)))
    choices = {option.id for option in question.options} | ({OTHER} if question.other else set())
    if not isinstance(text, str) or text not in choices:
        raise InvalidInput(f"{name}: one of {', '.join(sorted(choices))}", field=name)
    if text != OTHER:
        return Answer(question.id, text)
    free = other_text.strip() if isinstance(other_text, str) else ""
    if not free:
        raise InvalidInput(f"{name}: say what \"other\" is", field=f"{name}.other_text")
    if len(free) > MAX_OTHER_TEXT:
        raise InvalidInput(f"{name}: at most {MAX_OTHER_TEXT} characters", field=f"{name}.other_text")
    return Answer(question.id, OTHER, free)


def clean_message(value: Any) -> str:
    """The detractor's "what went wrong" text: 1-2000 characters."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInput("message must not be empty", field="message")
    if len(text) > MAX_MESSAGE:
        raise InvalidInput(f"message is longer than {MAX_MESSAGE} characters", field="message")
    return text


@dataclass(frozen=True)
class StoredAnswer:
    question_id: str
    value: str
    other_text: str | None
    order_id: str
    answered_at: datetime  # the first answer
    updated_at: datetime
    version: int = 1


Decision = Literal["new", "same", "change"]


def second_answer(existing: StoredAnswer | None, answer: Answer, now: datetime) -> Decision:
    """new (first answer), same (nothing to do), change (within the window); else Conflict."""
    if existing is None:
        return "new"
    if existing.value == answer.value and existing.other_text == answer.other_text:
        return "same"
    if now - existing.answered_at >= CHANGE_WINDOW:
        raise Conflict(f"answers are final {CHANGE_WINDOW.days} days after the first one",
                       field=answer.question_id)
    return "change"


def counter_deltas(existing: StoredAnswer | None, answer: Answer) -> dict[str, int]:
    """What one answer does to its question's counters: `n` (answers) and `c_{value}`."""
    if existing is None:
        return {"n": 1, f"c_{answer.value}": 1}
    if existing.value == answer.value:
        return {}  # only the "other" text changed
    return {f"c_{answer.value}": 1, f"c_{existing.value}": -1}


# ------------------------------------------------------------------------------ results


def segment(score: int) -> Segment:
    return "promoter" if score >= 9 else "detractor" if score <= 6 else "passive"


def _pct(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float((Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def question_result(question: Question, counts: dict[str, int], language: str, default: str) -> dict[str, Any]:
    """One question's results from its counters (no answers read)."""
    from .model import localized

    responses = int(counts.get("n", 0))
    result: dict[str, Any] = {"question_id": question.id, "kind": question.kind,
                              "text": localized(question.text, language, default), "responses": responses}
    if question.kind in SCORES:
        scores = {str(s): int(counts.get(f"c_{s}", 0)) for s in SCORES[question.kind]}
        result["counts"] = scores
        if question.kind == "nps":
            promoters = scores["9"] + scores["10"]
            detractors = sum(scores[str(s)] for s in range(0, 7))
            result.update(promoters=promoters, passives=responses - promoters - detractors, detractors=detractors,
                          nps=None if not responses else float(
                              (Decimal(100 * (promoters - detractors)) / Decimal(responses)).quantize(
                                  Decimal("0.1"), rounding=ROUND_HALF_UP)))
        else:
            total = sum(int(s) * c for s, c in scores.items())
            result.update(average=None if not responses else float(
                (Decimal(total) / Decimal(responses)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)),
                satisfied_percent=_pct(scores["4"] + scores["5"], responses))
        return result
    options = [{"option_id": o.id, "text": localized(o.text, language, default), "count": int(counts.get(f"c_{o.id}", 0))}
               for o in question.options]
    if question.other:
        options.append({"option_id": OTHER, "text": None, "count": int(counts.get(f"c_{OTHER}", 0))})
    result["options"] = options
    return result


def results(survey: Survey, counters: dict[str, dict[str, int]], language: str | None = None) -> dict[str, Any]:
    lang = language or survey.default_language
    return {"survey_id": survey.survey_id, "version": survey.version,
            "questions": [question_result(q, counters.get(q.id, {}), lang, survey.default_language)
                          for q in survey.questions]}


def remaining(survey: Survey, answered: Iterable[str]) -> list[Question]:
    done = set(answered)
    return [q for q in survey.questions if q.id not in done]


def nps_score(survey: Survey, answers: dict[str, StoredAnswer]) -> int | None:
    """The respondent's NPS answer (the survey's first NPS question), if given."""
    question = next((q for q in survey.questions if q.kind == "nps"), None)
    stored = answers.get(question.id) if question else None
    return int(stored.value) if stored else None
