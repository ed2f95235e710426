"""Shipment tracking state and timelines on the one table.

A shipment and its timeline share the order's partition, so one Query loads both. Timeline
events are written first and idempotently (same scan, same key); the state update that
follows is conditional on the revision read, so a webhook and a poll racing each other
cannot lose an update: the loser is retried and merges again.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timezone

from pynamodb.exceptions import UpdateError

from ..adapters.aws import client
from ..config import settings
from ..errors import RetryLater
from ..orders.models import Shipment
from ..tracking import attention
from ..tracking.model import TrackingEvent
from ..tracking.state import ShipmentTracking
from . import keys
from .table import Record, ShipmentRecord, TrackingEventRecord

def poll_shards() -> int:
    """gsi2 partitions (POLL_INDEX_SHARDS): spread the poll index's writes; the poller reads each."""
    return settings().poll_index_shards



@dataclass(frozen=True)
class TrackedShipment:
    merchant_id: str
    order_id: str
    shipment: Shipment
    tracking: ShipmentTracking
    timeline: list[TrackingEvent]
    revision: int
    provider: str | None
    provider_tracker_id: str | None


@dataclass(frozen=True)
class DuePoll:
    merchant_id: str
    order_id: str
    shipment_id: str
    due: str


def poll_shard(merchant_id: str, order_id: str, shipment_id: str) -> int:
    return zlib.crc32(f"{merchant_id}|{order_id}|{shipment_id}".encode()) % poll_shards()


def _poll_sort_key(due: datetime, merchant_id: str, order_id: str, shipment_id: str) -> str:
    return f"{due.isoformat()}|{merchant_id}|{order_id}|{shipment_id}"


class DynamoTrackingStore:
    def load(self, merchant_id: str, order_id: str, shipment_id: str) -> TrackedShipment | None:
        """The shipment, its tracking state and its timeline, from one Query."""
        shipment_sk = keys.shipment_sk(shipment_id)
        event_prefix = f"{shipment_sk}#EV#"
        record: ShipmentRecord | None = None
        timeline: list[TrackingEvent] = []
        for item in Record.query(keys.order_pk(merchant_id, order_id),
                                 Record.sk.between(shipment_sk, f"{shipment_sk}#~")):
            if isinstance(item, ShipmentRecord) and item.sk == shipment_sk:
                record = item
            elif isinstance(item, TrackingEventRecord) and item.sk.startswith(event_prefix):
                timeline.append(TrackingEvent.model_validate_json(item.document))
        if record is None:
            return None
        shipment = Shipment.model_validate_json(record.document)
        tracking = (ShipmentTracking.model_validate_json(record.tracking) if record.tracking else
                    ShipmentTracking(carrier=shipment.carrier, tracking_number=shipment.tracking_number,
                                     created_at=shipment.created_at))
        return TrackedShipment(merchant_id, order_id, shipment, tracking, sorted(timeline, key=_event_order),
                               int(record.tracking_revision or 0), record.provider, record.provider_tracker_id)

    def save(self, current: TrackedShipment, tracking: ShipmentTracking, new_events: list[TrackingEvent],
             now: datetime, *, provider: str | None = None, provider_tracker_id: str | None = None) -> None:
        pk = keys.order_pk(current.merchant_id, current.order_id)
        shipment_id = current.shipment.shipment_id
        with TrackingEventRecord.batch_write() as batch:
            for event in new_events:
                batch.save(TrackingEventRecord(
                    pk, keys.tracking_event_sk(shipment_id, event.occurred_at.astimezone(timezone.utc).isoformat(),
                                                event.identity()),
                    shipment_id=shipment_id, document=event.model_dump_json()))
        actions = [ShipmentRecord.tracking.set(tracking.model_dump_json()),
                   ShipmentRecord.tracking_revision.set(current.revision + 1),
                   ShipmentRecord.status.set(tracking.status.value),
                   ShipmentRecord.updated_at.set(now)]
        if provider:
            actions.append(ShipmentRecord.provider.set(provider))
        if provider_tracker_id:
            actions.append(ShipmentRecord.provider_tracker_id.set(provider_tracker_id))
        if tracking.next_poll_at is None:
            actions += [ShipmentRecord.gsi2pk.remove(), ShipmentRecord.gsi2sk.remove()]
        else:
            actions += [
                ShipmentRecord.gsi2pk.set(keys.poll_shard_pk(poll_shard(current.merchant_id, current.order_id,
                                                                        shipment_id))),
                ShipmentRecord.gsi2sk.set(_poll_sort_key(tracking.next_poll_at, current.merchant_id,
                                                         current.order_id, shipment_id)),
            ]
        needs = attention.reason(tracking, now) if current.shipment.rma_id is None else None
        if needs is None:
            actions += [ShipmentRecord.gsi1pk.remove(), ShipmentRecord.gsi1sk.remove()]
        else:
            actions += [ShipmentRecord.gsi1pk.set(keys.attention_pk(current.merchant_id)),
                        ShipmentRecord.gsi1sk.set(attention.sort_key(tracking, now, current.order_id, shipment_id))]
        revision_matches = (ShipmentRecord.tracking_revision == current.revision) if current.revision else (
            ShipmentRecord.tracking_revision.does_not_exist() | (ShipmentRecord.tracking_revision == 0))
        try:
            ShipmentRecord(pk, keys.shipment_sk(shipment_id)).update(
                actions=actions, condition=ShipmentRecord.pk.exists() & revision_matches)
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise RetryLater(f"shipment {shipment_id} changed concurrently; merging again") from error
            raise RetryLater(str(error)) from error

    def order_shipments(self, merchant_id: str, order_id: str) -> list[TrackedShipment] | None:
        """Every shipment of the order with its timeline, from one Query; None if no such order."""
        return tracked_shipments(merchant_id, order_id, Record.query(keys.order_pk(merchant_id, order_id)))

    def due_for_polling(self, shard: int, now: datetime, limit: int) -> list[DuePoll]:
        """Shipments of one shard whose next poll time has come, oldest due first: one Query of
        the sparse, keys-only gsi2 (its sort key carries the ids), whatever the fleet's size."""
        response = client("dynamodb").query(
            TableName=settings().table_name, IndexName="gsi2", Limit=limit,
            KeyConditionExpression="gsi2pk = :shard AND gsi2sk <= :now",
            ExpressionAttributeValues={":shard": {"S": keys.poll_shard_pk(shard)},
                                       ":now": {"S": f"{now.isoformat()}|~"}})
        due = []
        for item in response.get("Items", []):
            when, merchant_id, order_id, shipment_id = item["gsi2sk"]["S"].split("|", 3)
            due.append(DuePoll(merchant_id, order_id, shipment_id, when))
        return due

    def shipments_for_tracking_number(self, merchant_id: str, tracking_number: str) -> list[tuple[str, str]]:
        """(order id, shipment id) of the merchant's shipments with this code, newest first
        (carriers recycle codes: the newest shipment is the one a fresh scan belongs to)."""
        response = client("dynamodb").query(
            TableName=settings().table_name, IndexName="gsi4", ScanIndexForward=False,
            KeyConditionExpression="gsi4pk = :code", ProjectionExpression="gsi4sk",
            ExpressionAttributeValues={":code": {"S": keys.tracking_number_pk(merchant_id, tracking_number)}})
        return [tuple(item["gsi4sk"]["S"].rsplit("|", 2)[1:]) for item in response.get("Items", [])]


def tracked_shipments(merchant_id: str, order_id: str, items) -> list[TrackedShipment] | None:
    """The shipments with their timelines among an order partition's items; None without the order."""
    from .table import OrderRecord

    found_order = False
    records: dict[str, ShipmentRecord] = {}
    events: dict[str, list[TrackingEvent]] = {}
    for item in items:
        if isinstance(item, OrderRecord):
            found_order = item.merchant_id == merchant_id
        elif isinstance(item, ShipmentRecord):
            records[item.shipment_id] = item
        elif isinstance(item, TrackingEventRecord):
            events.setdefault(item.shipment_id, []).append(TrackingEvent.model_validate_json(item.document))
    if not found_order:
        return None
    shipments = []
    for shipment_id, record in records.items():
        shipment = Shipment.model_validate_json(record.document)
        tracking = (ShipmentTracking.model_validate_json(record.tracking) if record.tracking else
                    ShipmentTracking(carrier=shipment.carrier, tracking_number=shipment.tracking_number,
                                     created_at=shipment.created_at))
        shipments.append(TrackedShipment(merchant_id, order_id, shipment, tracking,
                                         sorted(events.get(shipment_id, []), key=_event_order),
                                         int(record.tracking_revision or 0), record.provider,
                                         record.provider_tracker_id))
    return sorted(shipments, key=lambda tracked: tracked.shipment.created_at)


def _event_order(event: TrackingEvent) -> tuple[datetime, str]:
    # By instant, not by text: carriers mix UTC offsets within one timeline.
    return event.occurred_at, event.identity()


__all__ = ["DynamoTrackingStore", "TrackedShipment", "DuePoll", "poll_shard", "poll_shards"]


@dataclass(frozen=True)
class AttentionPage:
    shipments: list[TrackedShipment]  # without timelines (the list shows the state only)
    next_cursor: str | None


ATTENTION_PAGE_SIZE = 25


def attention_page(merchant_id: str, cursor: str | None = None, limit: int = ATTENTION_PAGE_SIZE) -> AttentionPage:
    """One page of the merchant's shipments needing attention, newest first: one Query of gsi1."""
    from .return_queue import _decode_cursor, _encode_cursor

    pk = keys.attention_pk(merchant_id)
    results = ShipmentRecord.attention_index.query(
        pk, scan_index_forward=False, limit=limit, page_size=limit,
        last_evaluated_key=_decode_cursor(cursor, pk) if cursor else None)
    shipments = []
    for record in results:
        shipment = Shipment.model_validate_json(record.document)
        tracking = (ShipmentTracking.model_validate_json(record.tracking) if record.tracking else
                    ShipmentTracking(carrier=shipment.carrier, tracking_number=shipment.tracking_number))
        shipments.append(TrackedShipment(record.merchant_id, record.order_id, shipment, tracking, [],
                                         int(record.tracking_revision or 0), record.provider,
                                         record.provider_tracker_id))
    return AttentionPage(shipments, _encode_cursor(results.last_evaluated_key) if len(shipments) == limit else None)
