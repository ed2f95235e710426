"""A merchant's survey definition and its validation (pure; no AWS here).

`PUT /v1/surveys/{survey_id}` sends the whole definition. Text (question and option labels) is
given per language: the merchant's default language is required, any of our six languages may
be added, and a language left out falls back to the default language (the stored document's
`fallback_languages` says which). A question's `id` is its identity for answers and counters:
changing the kind of an existing id is refused (409) - give the new question a new id.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import InvalidInput
from ..validation import validate

LANGUAGES = ("en", "id", "th", "tr", "ar", "ru")
MAX_QUESTIONS = 10
MAX_OPTIONS = 20
MAX_TEXT = 300
OTHER = "other"  # the reserved option id of "other" with free text
Kind = Literal["nps", "csat", "single_choice"]
Audience = Literal["first_order", "repeat_customer", "after_return"]
Channel = Literal["order_page", "email"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
SCORES: dict[str, tuple[int, ...]] = {"nps": tuple(range(0, 11)), "csat": (1, 2, 3, 4, 5)}

Text = dict[str, Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]]


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    text: Text


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    kind: Kind
    text: Text
    options: list[Option] = []  # single_choice only
    other: bool = False  # single_choice: an "other" answer with free text
    randomize: bool = True  # single_choice: options shuffled per respondent (stable on reload)

    @model_validator(mode="after")
    def _shape(self) -> "Question":
        if self.kind == "single_choice":
            if len(self.options) < 1 or len(self.options) + int(self.other) < 2:
                raise ValueError("a single choice question needs at least two choices")
            if len(self.options) > MAX_OPTIONS:
                raise ValueError(f"at most {MAX_OPTIONS} options")
        elif self.options or self.other:
            raise ValueError("only a single_choice question has options")
        return self


class Timing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Channel
    # email: days after delivery (after a resolved return for the after_return audience)
    days_after: Annotated[int, Field(ge=0, le=90)] | None = None

    @model_validator(mode="after")
    def _days(self) -> "Timing":
        if self.channel == "email" and self.days_after is None:
            raise ValueError("an email survey needs days_after (days after delivery)")
        if self.channel == "order_page" and self.days_after is not None:
            raise ValueError("days_after is for email surveys only")
        return self


class SurveyIn(BaseModel):
    """The body of `PUT /v1/surveys/{survey_id}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    active: bool = True
    audience: Annotated[list[Audience], Field(min_length=1, max_length=3)]
    timing: Timing
    questions: Annotated[list[Question], Field(min_length=1, max_length=MAX_QUESTIONS)]
    community_url: AnyHttpUrl | None = None  # the merchant's community: invited to when the survey closes

    @field_validator("community_url")
    @classmethod
    def _https(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and value.scheme != "https":
            raise ValueError("must be an https:// URL")
        return value


class Survey(BaseModel):
    """A stored definition (the API's document)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    merchant_id: str
    survey_id: str
    default_language: str
    active: bool
    audience: list[Audience]
    timing: Timing
    questions: list[Question]
    community_url: str | None = None
    fallback_languages: list[str] = []  # languages shown in default_language text
    version: int = 1

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


def base_language(tag: str | None) -> str:
    return (tag or "en").replace("_", "-").split("-")[0].lower()


def _check_text(text: Text, field: str, default: str) -> set[str]:
    unknown = sorted(set(text) - set(LANGUAGES))
    if unknown:
        raise InvalidInput(f"{field}: {unknown[0]!r} is not one of {', '.join(LANGUAGES)}", field=f"{field}.{unknown[0]}")
    if default not in text:
        raise InvalidInput(f"{field}: text in the shop's default language ({default}) is required",
                           field=f"{field}.{default}")
    for language, value in text.items():
        if not value.strip():
            raise InvalidInput(f"{field}.{language}: must not be blank", field=f"{field}.{language}")
    return set(text)


def parse_survey(merchant_id: str, survey_id: str, data: Any, *, default_language: str,
                 previous: Survey | None = None) -> Survey:
    """The definition to store, or InvalidInput naming the field (400); a question id whose kind
    changed is a Conflict (409) raised by the caller's rule `kind_changes`."""
    if not isinstance(survey_id, str) or not _slug(survey_id):
        raise InvalidInput("survey_id must be 1-40 of a-z, 0-9, '_' or '-'", field="survey_id")
    body = validate(SurveyIn, data)
    default = base_language(default_language)
    if len(set(body.audience)) != len(body.audience):
        raise InvalidInput("audience lists a value twice", field="audience")
    seen: set[str] = set()
    given: set[str] = set(LANGUAGES)
    for i, question in enumerate(body.questions):
        if question.id in seen:
            raise InvalidInput(f"question id {question.id!r} is used twice", field=f"questions[{i}].id")
        seen.add(question.id)
        given &= _check_text(question.text, f"questions[{i}].text", default)
        option_ids: set[str] = set()
        for j, option in enumerate(question.options):
            if option.id == OTHER or option.id in option_ids:
                raise InvalidInput(f"option id {option.id!r} is reserved or used twice",
                                   field=f"questions[{i}].options[{j}].id")
            option_ids.add(option.id)
            given &= _check_text(option.text, f"questions[{i}].options[{j}].text", default)
    version = previous.version + 1 if previous else 1
    return Survey(merchant_id=merchant_id, survey_id=survey_id, default_language=default, active=body.active,
                  audience=list(body.audience), timing=body.timing, questions=list(body.questions),
                  community_url=str(body.community_url) if body.community_url else None,
                  fallback_languages=[lang for lang in LANGUAGES if lang not in given], version=version)


def kind_changes(previous: Survey | None, survey: Survey) -> str | None:
    """The first question id whose kind differs from the stored definition's, or None."""
    if previous is None:
        return None
    before = {q.id: q.kind for q in previous.questions}
    return next((q.id for q in survey.questions if q.id in before and before[q.id] != q.kind), None)


def _slug(value: str) -> bool:
    import re

    return bool(re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", value))


def localized(text: dict[str, str], language: str, default: str) -> str:
    """The text in `language`, else in the default language."""
    return text.get(language) or text.get(default) or next(iter(text.values()), "")


def document(survey: Survey) -> dict[str, Any]:
    return survey.model_dump(mode="json", exclude={"merchant_id"})
