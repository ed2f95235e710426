"""Packing-insert batches on the one table, and the merchant's orders of a day (gsi4).

AWS requests per operation:
- create: one conditional PutItem;
- get: one GetItem;
- complete: one UpdateItem;
- order_ids: one Query of gsi4 (keys only) per page of the UTC day's partition, sort key
  between the window's instants.
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from ..insert.batches import BatchIn, StoredBatch
from . import keys
from .table import InsertBatchRecord


class DynamoInsertBatchStore:
    def create(self, batch: StoredBatch, expires_at: datetime) -> None:
        InsertBatchRecord(
            keys.insert_batch_pk(batch.merchant_id, batch.batch_id), keys.INSERT_BATCH_SK,
            merchant_id=batch.merchant_id, batch_id=batch.batch_id, document=batch.request.model_dump_json(),
            status=batch.status, created_at=batch.created_at, updated_at=batch.created_at, expires_at=expires_at,
        ).save(condition=InsertBatchRecord.pk.does_not_exist())

    def get(self, merchant_id: str, batch_id: str) -> StoredBatch | None:
        try:
            record = InsertBatchRecord.get(keys.insert_batch_pk(merchant_id, batch_id), keys.INSERT_BATCH_SK)
        except DoesNotExist:
            return None
        if record.merchant_id != merchant_id:
            return None
        return StoredBatch(merchant_id=merchant_id, batch_id=record.batch_id,
                           request=BatchIn.model_validate_json(record.document), status=record.status,
                           order_count=int(record.order_count or 0), skipped=int(record.skipped or 0),
                           object_key=record.object_key, created_at=record.created_at,
                           completed_at=record.completed_at)

    def complete(self, merchant_id: str, batch_id: str, *, status: str, order_count: int, skipped: int,
                 object_key: str | None, now: datetime) -> None:
        actions = [InsertBatchRecord.status.set(status), InsertBatchRecord.order_count.set(order_count),
                   InsertBatchRecord.skipped.set(skipped), InsertBatchRecord.updated_at.set(now),
                   InsertBatchRecord.completed_at.set(now)]
        if object_key:
            actions.append(InsertBatchRecord.object_key.set(object_key))
        InsertBatchRecord(keys.insert_batch_pk(merchant_id, batch_id), keys.INSERT_BATCH_SK).update(
            actions=actions, condition=InsertBatchRecord.pk.exists())

    def order_ids(self, merchant_id: str, day: str, start: datetime, end: datetime) -> list[str]:
        """The ids of the orders placed in [start, end) found in the UTC day's partition, in the
        order they were placed."""
        from ..adapters.aws import client
        from ..config import settings

        low, high = keys.order_day_instant(start), keys.order_day_instant(end)
        arguments = {"TableName": settings().table_name, "IndexName": "gsi4", "ProjectionExpression": "gsi4sk",
                     "KeyConditionExpression": "gsi4pk = :day AND gsi4sk BETWEEN :low AND :high",
                     "ExpressionAttributeValues": {":day": {"S": keys.orders_day_pk(merchant_id, day)},
                                                   ":low": {"S": low}, ":high": {"S": high}}}
        ids: list[str] = []
        while True:
            page = client("dynamodb").query(**arguments)
            for item in page.get("Items", []):
                placed, _, order_id = item["gsi4sk"]["S"].partition("|")
                if placed < high:  # BETWEEN would include an order placed exactly at the end
                    ids.append(order_id)
            if "LastEvaluatedKey" not in page:
                return ids
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
