"""CSAT surveys of resolved conversations (issue 14 item 7): the rules of a survey link (pure)
and the one-click use case.

A survey belongs to one resolution of one conversation: its link claims (merchant, conversation,
resolution = the resolved_at time key, answer-by time). The link's signature lives longer than
the survey (TOKEN_LIFETIME) so that a late click is told "expired" (410) rather than "not found";
a click on a survey whose conversation is no longer resolved at that same time (the customer
wrote again, the merchant reopened it, or it was resolved again later with a new survey) is
"withdrawn": refused, nothing recorded. The score is recorded once per resolution (a conditional
put): a second click shows the thanks again and changes nothing, and it adds to the CSAT
counters (support.metrics.rated) in the same transaction.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal

from .model import Conversation, Source, Status, stable_id

SURVEY_TTL = timedelta(days=7)
TOKEN_LIFETIME = timedelta(days=60)
PURPOSE = "csat"
SCORES = (1, 2, 3, 4, 5)

Verdict = Literal["open", "expired", "withdrawn", "not_found"]
Outcome = Literal["recorded", "already_recorded", "expired", "withdrawn", "not_found", "bad_score"]


def resolution_key(resolved_at: datetime) -> str:
    return resolved_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def survey_claims(conversation: Conversation, now: datetime) -> list[str]:
    if conversation.status is not Status.RESOLVED or conversation.resolved_at is None:
        raise ValueError("only a resolved conversation is surveyed")
    answer_by = int((now + SURVEY_TTL).timestamp())
    return [conversation.merchant_id, conversation.conversation_id, resolution_key(conversation.resolved_at),
            str(answer_by)]


def verdict(conversation: Conversation | None, resolution: str, answer_by: int, now: datetime) -> Verdict:
    """May this survey still be answered at `now`?"""
    if conversation is None:
        return "not_found"
    if (conversation.status is not Status.RESOLVED or conversation.resolved_at is None
            or resolution_key(conversation.resolved_at) != resolution):
        return "withdrawn"
    if now.timestamp() > answer_by:
        return "expired"
    return "open"


def survey_blocked(conversation: Conversation) -> str | None:
    """None when this resolution gets its survey email; else why not (pure).

    Never without an address; never for a proactive conversation the customer never wrote in
    (we opened it about their parcel: there was no help they asked for to rate). Suppression and
    consent are the email sender's gate, the same as for every other email."""
    if conversation.status is not Status.RESOLVED or conversation.resolved_at is None:
        return "not_resolved"
    if not conversation.customer_email:
        return "no_recipient"
    if conversation.source is Source.PROACTIVE and conversation.last_customer_message_at is None:
        return "customer_never_wrote"
    return None


def survey_message_id(conversation: Conversation) -> str:
    """The survey's message in the thread: one per resolution (its write is conditional)."""
    if conversation.resolved_at is None:
        raise ValueError("only a resolved conversation is surveyed")
    return stable_id(conversation.conversation_id, "csat", resolution_key(conversation.resolved_at))


def parse_score(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isascii() and raw.isdigit() and int(raw) in SCORES else None


# --- with AWS -------------------------------------------------------------------------------


def survey_token(conversation: Conversation, now: datetime) -> str:
    from ..security.tokens import sign_claims
    from ..services import link_keys

    return sign_claims(link_keys(), PURPOSE, survey_claims(conversation, now), now + TOKEN_LIFETIME)


def score_urls(conversation: Conversation, now: datetime) -> dict[int, str]:
    """The five one-click links of the survey email."""
    from urllib.parse import quote

    from ..config import settings

    token = survey_token(conversation, now)
    base = f"{settings().public_base_url.rstrip('/')}/pages/{quote(conversation.merchant_id, safe='')}/csat/{token}"
    lang = f"&lang={quote(conversation.language)}" if conversation.language else ""
    return {score: f"{base}?score={score}{lang}" for score in SCORES}


def click(merchant_id: str, token: str, raw_score: str | None, now: datetime) -> tuple[Outcome, int | None]:
    """The customer clicked score N in the survey: record it (once) or say why not."""
    from ..security.tokens import read_claims
    from .. import services
    from ..services import link_keys
    from ..storage.support_csat import record_score

    claims = read_claims(link_keys(), PURPOSE, token, now)
    if not claims or len(claims) != 4 or claims[0] != merchant_id or not claims[3].isdigit():
        return "not_found", None
    score = parse_score(raw_score)
    if score is None:
        return "bad_score", None
    _, conversation_id, resolution, answer_by = claims
    conversation = services.support_store().get(merchant_id, conversation_id)
    state = verdict(conversation, resolution, int(answer_by), now)
    if state != "open":
        return state, None
    stored = record_score(merchant_id, conversation_id, resolution, score, now)
    return ("recorded", score) if stored is None else ("already_recorded", stored)


def survey_email(conversation: Conversation, history: list, order, now: datetime):
    """(the survey's thread message, its EmailRequest) for this resolution, or None when
    survey_blocked says no. Threaded under the conversation like a support reply; Reply-To is the
    conversation's inbound address, so an answer reopens it (and withdraws the survey)."""
    if survey_blocked(conversation) is not None:
        return None
    from ..messaging.links import unsubscribe_url
    from ..messaging.requests import EmailRequest, SupportReply, SurveyScore
    from ..orders.models import Customer
    from .model import Author, Direction, SupportMessage
    from .service import _thread_headers, outbound_message_id, reply_address

    message_id = survey_message_id(conversation)
    c, m = conversation.conversation_id, conversation.merchant_id
    message = SupportMessage(
        message_id=message_id, conversation_id=c, merchant_id=m, direction=Direction.OUT, author=Author.AUTOMATION,
        subject=conversation.subject, created_at=now, email_message_id=outbound_message_id(c, message_id, m),
        flags=("csat_survey",), language=conversation.language)
    in_reply_to, references = _thread_headers(history)
    message = message.model_copy(update={"in_reply_to": in_reply_to})
    support = SupportReply(
        conversation_id=c, message_id=message.email_message_id, in_reply_to=in_reply_to, references=references,
        automated=True, auto_submitted="auto-generated", reply_to=reply_address(m), subject=conversation.subject,
        csat_scores=[SurveyScore(value=score, url=url) for score, url in score_urls(conversation, now).items()],
        answer_by=now + SURVEY_TTL)
    fields: dict = dict(kind="support_csat", merchant_id=m, ref=f"{c}.{message_id}",
                        recipient=conversation.customer_email, locale=conversation.language, requested_at=now,
                        support=support)
    if order is not None:
        fields.update(order=order, timezone=order.customer.timezone,
                      locale=conversation.language or order.customer.locale)
        customer_id = order.customer.customer_id()
    else:
        customer = Customer(email=conversation.customer_email, first_name=conversation.customer_name)
        fields["customer"] = customer
        customer_id = customer.customer_id()
    fields["unsubscribe_url"] = unsubscribe_url(m, customer_id, "support_csat", now)
    return message, EmailRequest(**fields)
