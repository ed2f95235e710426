"""`attention backfill`: put older shipments into the console's "needing attention" list.

The tracking worker writes a shipment's place in that list (sparse gsi1 `M#{m}#ATTN`) with every
save since the list exists; shipments last saved before then are not in it until their next
carrier answer. The backfill computes the same rule (tracking/attention.py) for every stored
shipment and sets or removes the keys. It is a one-off operator job, so it Scans (filtered to
shipments, one merchant or all); each write is conditional on the tracking revision it read, so a
worker's save in between wins and the shipment is counted as `changed_meanwhile`.
"""
from __future__ import annotations

import argparse
from collections import Counter
from datetime import datetime
from typing import Any

from . import register_backfill


def register(groups: argparse._SubParsersAction) -> None:
    register_backfill(groups, "attention", "the console's shipments-needing-attention list",
                      "index shipments saved before the list existed", run_backfill)


def run_backfill(arguments: argparse.Namespace, now: datetime) -> dict[str, Any]:
    return backfill(arguments.merchant, now, dry_run=arguments.dry_run)


def backfill(merchant_id: str | None, now: datetime, *, dry_run: bool = False) -> dict[str, Any]:
    from pynamodb.exceptions import UpdateError

    from ..orders.models import Shipment
    from ..storage import keys
    from ..storage.table import ShipmentRecord
    from ..tracking import attention
    from ..tracking.state import ShipmentTracking

    counts: Counter[str] = Counter()
    condition = (ShipmentRecord.merchant_id == merchant_id) if merchant_id else None
    for record in ShipmentRecord.scan(condition):
        counts["scanned"] += 1
        shipment = Shipment.model_validate_json(record.document)
        tracking = (ShipmentTracking.model_validate_json(record.tracking) if record.tracking else
                    ShipmentTracking(carrier=shipment.carrier, tracking_number=shipment.tracking_number,
                                     created_at=shipment.created_at))
        needs = attention.reason(tracking, now) if shipment.rma_id is None else None
        wanted = ((keys.attention_pk(record.merchant_id),
                   attention.sort_key(tracking, now, record.order_id, record.shipment_id))
                  if needs else (None, None))
        if (record.gsi1pk, record.gsi1sk) == wanted:
            counts["unchanged"] += 1
            continue
        outcome = "set" if needs else "removed"
        if needs:
            counts[f"reason_{needs}"] += 1
        if dry_run:
            counts[f"would_be_{outcome}"] += 1
            continue
        actions = ([ShipmentRecord.gsi1pk.set(wanted[0]), ShipmentRecord.gsi1sk.set(wanted[1])] if needs else
                   [ShipmentRecord.gsi1pk.remove(), ShipmentRecord.gsi1sk.remove()])
        revision = int(record.tracking_revision or 0)
        unchanged = ((ShipmentRecord.tracking_revision == revision) if revision else
                     (ShipmentRecord.tracking_revision.does_not_exist() | (ShipmentRecord.tracking_revision == 0)))
        try:
            record.update(actions=actions, condition=ShipmentRecord.pk.exists() & unchanged)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            counts["changed_meanwhile"] += 1
            continue
        counts[outcome] += 1
    return {"merchant_id": merchant_id, "dry_run": dry_run, **dict(sorted(counts.items()))}
