"""Support metrics counters on the one table: one item per merchant and day.

pk M#{m}#SUPSTATS, sk DAY#{yyyy-mm-dd}, one number attribute per counter (support.metrics.COUNTERS).
Counters are added (UpdateItem ADD) inside the transaction that saves the conversation or records
the CSAT score, so they move exactly when the fact is recorded. Reading a window is one Query.
"""
from __future__ import annotations

from datetime import date, datetime

from pynamodb.attributes import NumberAttribute

from ..support import metrics
from .table import Record


def stats_pk(merchant_id: str) -> str:
    return f"M#{merchant_id}#SUPSTATS"


def day_sk(day: date) -> str:
    return f"DAY#{day.isoformat()}"


class SupportStatsRecord(Record, discriminator="support_stats"):
    """One merchant-day of support counters (support/metrics.py)."""

    locals().update({name: NumberAttribute(null=True) for name in metrics.COUNTERS})


def add_to_transaction(transaction, merchant_id: str, changes: metrics.Changes) -> None:
    """Add the counter increments to an open TransactWrite (one Update per day touched)."""
    for day, counts in sorted(changes.items()):
        actions = [getattr(SupportStatsRecord, name).add(value) for name, value in counts.items() if value]
        if actions:
            transaction.update(SupportStatsRecord(stats_pk(merchant_id), day_sk(day)),
                               actions=[SupportStatsRecord.type.set(SupportStatsRecord), *actions])


def metrics_document(merchant_id: str, now: datetime, days: int) -> dict:
    """GET /v1/support/metrics: one Query of the window's day items."""
    first, last = metrics.window(now, days)
    rows = []
    for record in SupportStatsRecord.query(stats_pk(merchant_id),
                                           SupportStatsRecord.sk.between(day_sk(first), day_sk(last))):
        counts = {name: int(getattr(record, name) or 0) for name in metrics.COUNTERS}
        rows.append((date.fromisoformat(record.sk.removeprefix("DAY#")), counts))
    return metrics.summarize(rows, now, days)
