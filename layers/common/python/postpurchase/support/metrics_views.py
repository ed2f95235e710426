"""GET /v1/support/metrics: the query's checks and the document (one Query)."""
from __future__ import annotations

from datetime import datetime
from typing import Mapping

from ..errors import InvalidInput
from .metrics import MAX_DAYS

DEFAULT_DAYS = 30


def parse_days(query: Mapping[str, str] | None) -> int:
    raw = (query or {}).get("days")
    if raw is None:
        return DEFAULT_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise InvalidInput(f"days must be a whole number from 1 to {MAX_DAYS}", field="days")
    return int(raw)


def metrics_for(merchant_id: str, query: Mapping[str, str] | None, now: datetime) -> dict:
    from ..storage.support_metrics import metrics_document

    return metrics_document(merchant_id, now, parse_days(query))
