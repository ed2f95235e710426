"""The CSAT survey's one-click page: `/pages/{m}/csat/{token}?score=N` (support/csat.py).

The signed token is the only authority. Recorded (or already recorded): a thank-you, 200.
Expired (past 7 days): 410. Withdrawn (the conversation reopened or was resolved again): 409,
nothing recorded. A bad or foreign token is the invalid-link page (404); a score that is not 1-5
is the bad-request page (400). Headers (CSP with a nonce, no-store) come from pages/handlers.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from .handlers import PageResponse, _context, _error, _html, _shopper
from .model import PageContext

STATUS = {"recorded": 200, "already_recorded": 200, "expired": 410, "withdrawn": 409}


@dataclass(frozen=True)
class CsatPage:
    context: PageContext
    outcome: str  # recorded | already_recorded | expired | withdrawn
    score: int | None


def render_csat_page(page: CsatPage, *, nonce: str) -> str:
    from . import rendering

    fmt = rendering._Format(page.context)
    frame = rendering._frame(page.context, fmt, nonce, switch_path="", switch_params=[])
    thanked = page.outcome in ("recorded", "already_recorded")
    data = {**frame, "csat": {"outcome": "thanks" if thanked else page.outcome,
                              "score": fmt.number(page.score) if page.score is not None else None}}
    return rendering._render("pages/csat.html", fmt.language, data)


def csat_page(merchant_id: str, token: str, query: Mapping[str, str], now: datetime) -> PageResponse:
    from ..support.csat import click

    lang = query.get("lang")
    outcome, score = click(merchant_id, token, query.get("score"), now)
    if outcome == "not_found":
        return _error(merchant_id, "invalid_link", 404, lang, now)
    if outcome == "bad_score":
        return _error(merchant_id, "bad_request", 400, lang, now)
    context = _context(_shopper(merchant_id, lang), now)
    return _html(STATUS[outcome], render_csat_page, CsatPage(context=context, outcome=outcome, score=score))
