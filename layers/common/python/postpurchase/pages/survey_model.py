"""What the survey page shows, as data (built by pages/survey.py, rendered by survey_rendering.py)."""
from __future__ import annotations

from . import model


class ChoiceView(model._Page):
    value: str  # a score ("0".."10") or an option id ("other" last)
    label: str | None = None  # an option's text in the page's language; None for a score / "other"
    checked: bool = False


class QuestionView(model._Page):
    id: str
    kind: str  # nps | csat | single_choice
    text: str
    choices: list[ChoiceView]
    other_text: str = ""
    error: str | None = None  # invalid | other_missing | final


class SurveyPage(model._Page):
    context: model.PageContext
    action: str  # the page's own path (its respondent token)
    questions: list[QuestionView]  # the ones still to answer
    thanked: bool = False  # answers were just recorded
    finished: bool = False  # every question answered
    promoter_review_url: str | None = None  # NPS 9-10: the review request page of the order's item
    referral_code: str | None = None  # NPS 9-10, when the merchant runs a referral programme
    referral_url: str | None = None
    detractor_box: bool = False  # NPS 0-6 and nothing said yet: "tell us what went wrong"
    detractor_sent: bool = False
    message: str = ""
    message_error: str | None = None  # required | too_long
    community_url: str | None = None  # shown once the survey is finished
