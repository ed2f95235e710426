"""Signed survey links: the respondent's page and one link per score for one-click answers.

`survey` tokens name (merchant, survey, customer, order, sku); `survey_answer` tokens add
(question, value), so each score in the email is its own signed link and nobody can answer
another question, another survey or for another customer by editing a URL.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

from .service import Respondent

SURVEY_LINK_TTL = timedelta(days=60)


def _sign(purpose: str, claims: list[str], now: datetime) -> str:
    from ..security.tokens import sign_claims
    from ..services import link_keys

    return sign_claims(link_keys(), purpose, claims, now + SURVEY_LINK_TTL)


def _claims(who: Respondent) -> list[str]:
    return [who.merchant_id, who.survey_id, who.customer_id, who.order_id, who.sku]


def page_token(who: Respondent, now: datetime) -> str:
    return _sign("survey", _claims(who), now)


def page_path(merchant_id: str, token: str) -> str:
    return f"/pages/{quote(merchant_id, safe='')}/surveys/{token}"


def page_url(who: Respondent, now: datetime) -> str:
    from ..config import settings

    return settings().public_base_url.rstrip("/") + page_path(who.merchant_id, page_token(who, now))


def answer_url(who: Respondent, question_id: str, value: str, now: datetime) -> str:
    from ..config import settings

    token = _sign("survey_answer", [*_claims(who), question_id, value], now)
    return settings().public_base_url.rstrip("/") + page_path(who.merchant_id, token)


def read_token(token: str, now: datetime) -> tuple[Respondent, tuple[str, str] | None] | None:
    """(respondent, (question, value) for a one-click answer token) of a valid link, else None."""
    from ..security.tokens import read_claims
    from ..services import link_keys

    keys = link_keys()
    claims = read_claims(keys, "survey", token or "", now)
    if claims and len(claims) == 5:
        return Respondent(*claims), None
    claims = read_claims(keys, "survey_answer", token or "", now)
    if claims and len(claims) == 7:
        return Respondent(*claims[:5]), (claims[5], claims[6])
    return None
