"""`GET/PUT /v1/support/faq`: the merchant's FAQ as JSON (validation in support/faq.py)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from .faq import MAX_ANSWER, MAX_ENTRIES, MAX_QUESTION, parse_entries


def _document(merchant_id: str) -> dict[str, Any]:
    from ..services import faq_store

    store = faq_store()
    updated = store.updated_at(merchant_id)
    return {"entries": [entry.to_json() for entry in store.entries(merchant_id)],
            "updated_at": updated.isoformat().replace("+00:00", "Z") if updated else None,
            "limits": {"entries": MAX_ENTRIES, "question_chars": MAX_QUESTION, "answer_chars": MAX_ANSWER}}


def faq_document(merchant_id: str) -> dict[str, Any]:
    return _document(merchant_id)


def publish_faq(merchant_id: str, data: Any, now: datetime) -> dict[str, Any]:
    """Replace the merchant's FAQ with `data` (validated first: 400 names the field)."""
    from ..services import faq_store

    faq_store().save(merchant_id, parse_entries(data), now)
    return _document(merchant_id)
