"""Small helpers for the loyalty routes (functions/api/app.py)."""
from __future__ import annotations

from ..errors import InvalidInput
from ..orders.models import _IDENTIFIER


def customer_id_of(raw: str) -> str:
    """The path's customer id, checked like every id that goes into a table key."""
    text = (raw or "").strip()
    if not _IDENTIFIER.match(text):
        raise InvalidInput("customer_id must be 1-128 characters without spaces or '#'", field="customer_id")
    return text
