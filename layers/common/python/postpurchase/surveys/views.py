"""The merchant API's survey operations (`/v1/surveys`), on this deployment's adapters.

`PUT /v1/surveys/{id}`: 1 GetItem (the stored version) + 1 TransactWriteItems.
`GET /v1/surveys`: 1 Query. `GET /v1/surveys/{id}/results`: 1 Query (definition + counters).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from ..errors import Conflict, InvalidInput, NotFound
from .model import LANGUAGES, base_language, document, kind_changes, parse_survey
from .rules import results


def _store():
    from .. import services

    return services.survey_store()


def put_survey(merchant_id: str, survey_id: str, data: Mapping[str, Any], now: datetime) -> tuple[dict, bool]:
    from .. import services
    from ..storage.surveys import StaleDefinition

    merchant = services.merchant_store().get(merchant_id)
    default = merchant.branding.default_locale if merchant else "en"
    store = _store()
    previous = store.stored_definition(merchant_id, survey_id) if _plausible(survey_id) else None
    survey = parse_survey(merchant_id, survey_id, data, default_language=default, previous=previous)
    changed = kind_changes(previous, survey)
    if changed is not None:
        raise Conflict(f"question {changed!r} already has answers of another kind; give the new question a new id",
                       field="questions")
    try:
        store.save_definition(survey, previous, now)
    except StaleDefinition:
        raise Conflict("the survey changed meanwhile; send it again", field="survey_id") from None
    return document(survey), previous is None


def _plausible(survey_id: str) -> bool:
    import re

    return bool(re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", survey_id or ""))


def list_surveys(merchant_id: str) -> dict[str, Any]:
    return {"items": [document(s) for s in _store().definitions(merchant_id, fresh=True)]}


def survey_results(merchant_id: str, survey_id: str, query: Mapping[str, str] | None) -> dict[str, Any]:
    language = (query or {}).get("lang")
    if language is not None and base_language(language) not in LANGUAGES:
        raise InvalidInput(f"lang must be one of {', '.join(LANGUAGES)}", field="lang")
    if not _plausible(survey_id):
        raise NotFound("no such survey", field="survey_id")
    survey, counters = _store().results(merchant_id, survey_id)
    if survey is None:
        raise NotFound("no such survey", field="survey_id")
    return results(survey, counters, base_language(language) if language else None)
