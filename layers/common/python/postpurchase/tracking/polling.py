"""One poller sweep: every shard of the poll index, due shipments onto the tracking queue."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..config import settings
from .messages import PollShipment


class DueSource(Protocol):
    def due_for_polling(self, shard: int, now: datetime, limit: int) -> list: ...


class BatchPublisher(Protocol):
    def publish_batch(self, bodies: list[str], *, kind: str) -> int: ...


def sweep(store: DueSource, queue: BatchPublisher, now: datetime) -> dict[str, int]:
    from ..storage.tracking import poll_shards  # PynamoDB at the first sweep, not at cold start

    limit = settings().poll_sweep_limit
    enqueued, full_shards = 0, 0
    shards = poll_shards()
    for shard in range(shards):
        due = store.due_for_polling(shard, now, limit)
        if len(due) == limit:
            full_shards += 1  # more are due than one sweep takes: the next sweep continues
        bodies = [PollShipment(merchant_id=d.merchant_id, order_id=d.order_id, shipment_id=d.shipment_id,
                               due=d.due).model_dump_json() for d in due]
        if bodies:
            enqueued += queue.publish_batch(bodies, kind="PollShipment")
    return {"enqueued": enqueued, "shards": shards, "full_shards": full_shards}
