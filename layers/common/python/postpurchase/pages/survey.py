"""The survey page: `/pages/{m}/surveys/{token}`, from the email or the order page.

The signed token names the respondent (merchant, survey, customer, order, item) and is the only
authority. A one-click answer token (one per score in the email) records that answer at once
(repeating the click changes nothing) and shows the questions still open. The form POSTs back
with the page token and a form token bound to it (subject `survey:{survey}:{customer}`); a POST
from another origin is refused, like the other pages. After the NPS answer a promoter (9-10) is
invited to review the order's item or to share their referral code; a detractor (0-6) gets a
"tell us what went wrong" box whose message goes to DetractorFollowUp. Once every question is
answered, the merchant's community link (when set) closes the survey.

Requests: 1 Query (the respondent's answers) with the definitions from the per-container cache;
recording adds one TransactWriteItems per changed answer; a promoter's referral code 1-2 GetItems.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from ..errors import Conflict, DomainError
from ..security.tokens import verify_form_token
from ..surveys import links as survey_links
from ..surveys.model import Survey, localized
from ..surveys.rules import MAX_MESSAGE, clean_message, nps_score, option_order, parse_answer, remaining, segment
from ..surveys.service import Respondent, record
from .handlers import PageResponse, _context, _error, _form, _html, _keys, _same_origin, _shopper
from .survey_model import ChoiceView, QuestionView, SurveyPage


FIRST_OPEN = "*"  # an error for the first question still open (nothing was chosen)


def _subject(who: Respondent) -> str:
    return f"survey:{who.survey_id}:{who.customer_id}"


def _store():
    from ..services import survey_store

    return survey_store()


def _open(merchant_id: str, token: str, now: datetime) -> tuple[Respondent, tuple[str, str] | None, Survey] | None:
    read = survey_links.read_token(token, now)
    if read is None or read[0].merchant_id != merchant_id:
        return None
    survey = _store().definition(merchant_id, read[0].survey_id)
    if survey is None or not survey.active:
        return None
    return read[0], read[1], survey


def _choices(survey: Survey, question: Any, who: Respondent, language: str, picked: str | None) -> list[ChoiceView]:
    if question.kind == "nps":
        return [ChoiceView(value=str(v), checked=picked == str(v)) for v in range(0, 11)]
    if question.kind == "csat":
        return [ChoiceView(value=str(v), checked=picked == str(v)) for v in range(1, 6)]
    labels = {o.id: localized(o.text, language, survey.default_language) for o in question.options}
    return [ChoiceView(value=oid, label=labels.get(oid), checked=picked == oid)
            for oid in option_order(question, who.customer_id, survey.survey_id)]


def _render(who: Respondent, survey: Survey, lang: str | None, now: datetime, *, thanked: bool = False,
            errors: dict[str, str] | None = None, given: Mapping[str, str] | None = None, message: str = "",
            message_error: str | None = None, status: int = 200) -> PageResponse:
    from .survey_rendering import render_survey_page

    answers, detractor = _store().respondent(who.merchant_id, who.survey_id, who.customer_id)
    shopper = _shopper(who.merchant_id, lang)
    token = survey_links.page_token(who, now)
    context = _context(shopper, now, token=token, subject=_subject(who))
    language, errors, given = shopper.language, errors or {}, given or {}
    open_questions = remaining(survey, answers)
    if FIRST_OPEN in errors and open_questions:
        errors = {**errors, open_questions[0].id: errors[FIRST_OPEN]}
    questions = [QuestionView(id=q.id, kind=q.kind, text=localized(q.text, language, survey.default_language),
                              choices=_choices(survey, q, who, language, given.get(f"q_{q.id}")),
                              other_text=given.get(f"q_{q.id}_other", ""), error=errors.get(q.id))
                 for q in open_questions]
    score = nps_score(survey, answers)
    kind = segment(score) if score is not None else None
    promoter: dict[str, str | None] = {}
    if kind == "promoter":
        promoter = _promoter_invitation(who, now)
    page = SurveyPage(context=context, action=survey_links.page_path(who.merchant_id, token), questions=questions,
                      thanked=thanked, finished=not questions, detractor_box=kind == "detractor" and detractor is None,
                      detractor_sent=detractor is not None, message=message, message_error=message_error,
                      community_url=survey.community_url if not questions else None, **promoter)
    return _html(status, render_survey_page, page)


def _promoter_invitation(who: Respondent, now: datetime) -> dict[str, str | None]:
    """A link to the order item's review request page and, when the merchant runs a referral
    programme, the customer's referral code."""
    from .. import services
    from ..messaging.links import rating_url

    invitation: dict[str, str | None] = {"promoter_review_url": rating_url(who.merchant_id, who.order_id, who.sku, now)
                                         if who.sku else None}
    referral = services.referral_store().settings(who.merchant_id)
    if referral.referrer_reward is not None or referral.friend_reward is not None:
        invite = services.referral_codes().invite_for(who.merchant_id, who.customer_id, now)
        invitation.update(referral_code=invite.code, referral_url=invite.share_url)
    return invitation


def survey_page(merchant_id: str, token: str, query: Mapping[str, str], now: datetime) -> PageResponse:
    lang = query.get("lang")
    opened = _open(merchant_id, token, now)
    if opened is None:
        return _error(merchant_id, "invalid_link", 404, lang, now)
    who, one_click, survey = opened
    thanked = False
    if one_click is not None:
        question = survey.question(one_click[0])
        if question is not None:
            try:
                record(_store(), survey, who, [parse_answer(question, one_click[1])], now)
                thanked = True
            except DomainError:
                pass  # a stale link (the survey changed) or an answer already final: show the page
    return _render(who, survey, lang, now, thanked=thanked)


def submit_survey(merchant_id: str, token: str, raw_body: bytes | None, headers: Mapping[str, str],
                  host: str | None, now: datetime) -> PageResponse:
    form = _form(raw_body)
    lang = form.get("lang") or None
    opened = _open(merchant_id, token, now)
    if opened is None or opened[1] is not None:
        return _error(merchant_id, "invalid_link", 404, lang, now)
    who, _, survey = opened
    genuine = (form.get("token") == token and _same_origin(headers, host)
               and verify_form_token(_keys(), merchant_id, _subject(who), token, form.get("csrf_token")))
    if not genuine:
        return _error(merchant_id, "invalid_link", 403, lang, now)
    if "message" in form:
        return _detractor(who, survey, form, lang, now)
    errors: dict[str, str] = {}
    answers = []
    for question in survey.questions:
        value = form.get(f"q_{question.id}")
        if not value:
            continue
        try:
            answers.append(parse_answer(question, value, form.get(f"q_{question.id}_other")))
        except DomainError as refused:
            errors[question.id] = "other_missing" if (refused.field or "").endswith("other_text") else "invalid"
    if not answers and not errors:
        errors[FIRST_OPEN] = "required"
    if not errors:
        try:
            record(_store(), survey, who, answers, now)
        except Conflict as refused:
            errors[refused.field or survey.questions[0].id] = "final"
    if errors:
        return _render(who, survey, lang, now, errors=errors, given=form, status=422)
    return _render(who, survey, lang, now, thanked=True)


def _detractor(who: Respondent, survey: Survey, form: Mapping[str, str], lang: str | None,
               now: datetime) -> PageResponse:
    from ..surveys.followup import DetractorFollowUp, follow_up_detractor
    from ..surveys.ports import AwsFollowUpPorts

    text = form.get("message", "")
    try:
        message = clean_message(text)
    except DomainError:
        code = "too_long" if len(text.strip()) > MAX_MESSAGE else "required"
        return _render(who, survey, lang, now, message=text[:MAX_MESSAGE * 2], message_error=code, status=422)
    answers, stored = _store().respondent(who.merchant_id, who.survey_id, who.customer_id)
    score = nps_score(survey, answers)
    if score is None or segment(score) != "detractor":
        return _render(who, survey, lang, now)  # nothing to follow up: show the survey as it is
    if stored is not None:  # said once already: the first message stands (a retry re-queues it if need be)
        message, score, at = stored["message"], stored["score"], datetime.fromisoformat(stored["at"])
    else:
        at = now
    follow_up = DetractorFollowUp(merchant_id=who.merchant_id, survey_id=who.survey_id, customer_id=who.customer_id,
                                  order_id=who.order_id, score=score, message=message, at=at)
    follow_up_detractor(follow_up, AwsFollowUpPorts(), notified=bool(stored and stored.get("notified")))
    return _render(who, survey, lang, now, thanked=True)
