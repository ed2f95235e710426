"""The merchant's support FAQ: pk M#{m}, sk SUPPORT#FAQ, the entries as JSON (support/faq.py).

Read by the order page and the support replies: one GetItem, cached SETTINGS_CACHE_SECONDS per
container (a merchant's edit shows within that time; the writing container sees it at once).
"""
from __future__ import annotations

import time
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from ..support.faq import FaqEntry, entries_from_json, entries_to_json
from . import keys
from .table import SupportFaqRecord

CACHE_SECONDS = 30.0
_CACHED_MERCHANTS = 512
_cache: dict[str, tuple[float, tuple[FaqEntry, ...], datetime | None]] = {}


def clear_cache() -> None:
    _cache.clear()


class DynamoFaqStore:
    def _load(self, merchant_id: str) -> tuple[tuple[FaqEntry, ...], datetime | None]:
        cached = _cache.get(merchant_id)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1], cached[2]
        try:
            record = SupportFaqRecord.get(keys.merchant_pk(merchant_id), keys.SUPPORT_FAQ_SK)
            entries, updated = tuple(entries_from_json(record.document)), record.updated_at
        except DoesNotExist:
            entries, updated = (), None
        if len(_cache) >= _CACHED_MERCHANTS:
            _cache.clear()
        _cache[merchant_id] = (time.monotonic(), entries, updated)
        return entries, updated

    def entries(self, merchant_id: str) -> tuple[FaqEntry, ...]:
        """The merchant's entries, in their order; () when none were published."""
        return self._load(merchant_id)[0]

    def updated_at(self, merchant_id: str) -> datetime | None:
        return self._load(merchant_id)[1]

    def save(self, merchant_id: str, entries: list[FaqEntry], now: datetime) -> None:
        """Replace the whole FAQ (a PUT): the last write wins."""
        SupportFaqRecord(keys.merchant_pk(merchant_id), keys.SUPPORT_FAQ_SK, document=entries_to_json(entries),
                         updated_at=now).save()
        _cache[merchant_id] = (time.monotonic(), tuple(entries), now)
