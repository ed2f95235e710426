"""`inserts backfill-day-keys`: put older orders into their day's packing-insert batch.

A day's batch finds its orders on the keys-only gsi4 (keys.orders_day_pk), which every order
write sets since the batches exist; orders recorded before then have no day key and are left out
of their day's batch. The backfill sets the same keys (derived from the order's `placed_at`, as
storage/orders.record_order does) on every stored order that lacks them. It is a one-off operator
job, so it Scans (filtered to orders, one merchant or all). Each write is conditional: the order
still exists, still has no day key and the `placed_at` it read, so a newer write in between wins
(counted as `changed_meanwhile`) and a re-run changes nothing.
"""
from __future__ import annotations

import argparse
from collections import Counter
from datetime import datetime, timezone
from typing import Any


def register(groups: argparse._SubParsersAction) -> None:
    from . import register_backfill

    register_backfill(groups, "inserts", "packing inserts: the day key of older orders",
                      "index orders recorded before the day's batches existed", run_backfill,
                      command="backfill-day-keys")


def run_backfill(arguments: argparse.Namespace, now: datetime) -> dict[str, Any]:
    return backfill_day_keys(arguments.merchant, dry_run=arguments.dry_run)


def day_keys(merchant_id: str, order_id: str, placed_at: datetime) -> tuple[str, str]:
    """The (gsi4pk, gsi4sk) an order write gives an order (storage/orders.record_order)."""
    from ..storage import keys

    return (keys.orders_day_pk(merchant_id, placed_at.astimezone(timezone.utc).date().isoformat()),
            keys.order_day_sk(placed_at, order_id))


def backfill_day_keys(merchant_id: str | None, *, dry_run: bool = False) -> dict[str, Any]:
    from ..storage.table import OrderRecord
    from . import set_unless_changed

    counts: Counter[str] = Counter()
    condition = (OrderRecord.merchant_id == merchant_id) if merchant_id else None
    for record in OrderRecord.scan(condition):
        counts["scanned"] += 1
        if record.gsi4pk:
            counts["unchanged"] += 1
            continue
        if dry_run:
            counts["would_be_set"] += 1
            continue
        pk, sk = day_keys(record.merchant_id, record.order_id, record.placed_at)
        if not set_unless_changed(record, [OrderRecord.gsi4pk.set(pk), OrderRecord.gsi4sk.set(sk)],
                                  OrderRecord.pk.exists() & OrderRecord.gsi4pk.does_not_exist()
                                  & (OrderRecord.placed_at == record.placed_at)):
            counts["changed_meanwhile"] += 1
            continue
        counts["set"] += 1
    return {"merchant_id": merchant_id, "dry_run": dry_run, **dict(sorted(counts.items()))}
