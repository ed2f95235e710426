"""The communication calendar on the one table (implements messaging.scheduled.MessageSchedule).

A scheduled message lives under its order or its customer (sk SCHED#{kind}#{ref}). While it
waits it carries the sparse gsi3 keys: the partition is the UTC day it falls due plus a
stable shard of its key (DUE#{yyyy-mm-dd}#{n}), the sort key its due time; settling it
(sent, cancelled, expired, skipped) removes them, so the index holds only what may still be
sent. message_scheduler Queries one partition per (day, shard) - never a Scan.

AWS requests: schedule 1 UpdateItem; cancel 1 UpdateItem; cancel_kind 1 Query + 1 UpdateItem
per pending match; load 1 GetItem; due_in_bucket 1 Query per page; claim_for_enqueue,
settle, defer 1 UpdateItem each; reserve_marketing_send 1 GetItem + 1 UpdateItem.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from ..adapters.aws import client
from ..config import settings
from ..errors import RetryLater
from ..messaging.schedule import bucket_of
from ..messaging.scheduled import ScheduledMessage
from . import keys
from .table import CustomerRecord, Record, ScheduledMessageRecord, SchedulerCursorRecord

if TYPE_CHECKING:
    from ..messaging.due import MessageContext

def due_shards() -> int:
    """gsi3 partitions per day (DUE_INDEX_SHARDS): spread a busy day's writes; the scheduler reads each."""
    return settings().due_index_shards

OPEN_STATUSES = ("pending", "enqueued")


def iso(moment: datetime) -> str:
    """Sortable UTC time for index keys."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def due_shard(pk: str, sk: str) -> int:
    return zlib.crc32(f"{pk}|{sk}".encode()) % due_shards()


def index_keys(pk: str, sk: str, when: datetime) -> tuple[str, str]:
    return keys.due_bucket_pk(bucket_of(when), due_shard(pk, sk)), f"{iso(when)}|{pk}|{sk}"


def scope_pk(merchant_id: str, scope: str, scope_id: str) -> str:
    return keys.order_pk(merchant_id, scope_id) if scope == "order" else keys.customer_pk(merchant_id, scope_id)


@dataclass(frozen=True)
class StoredMessage:
    message: ScheduledMessage
    status: str
    pk: str
    sk: str
    gsi3sk: str | None
    reason: str | None = None


@dataclass(frozen=True)
class DueKey:
    pk: str
    sk: str
    gsi3sk: str


@dataclass(frozen=True)
class MarketingSends:
    """Recent marketing sends on the customer's profile: (time, scheduled item key)."""

    entries: list[tuple[datetime, str]] = field(default_factory=list)
    revision: int | None = None

    @property
    def sends(self) -> list[datetime]:
        return [at for at, _ in self.entries]


def _stored(record: ScheduledMessageRecord) -> StoredMessage:
    message = ScheduledMessage(merchant_id=record.merchant_id, kind=record.kind, scope=record.scope,
                               scope_id=record.scope_id, customer_id=record.customer_id, ref=record.ref,
                               due_at=record.due_at, expires_at=record.expires_at, priority=record.priority,
                               data=json.loads(record.data or "{}"))
    return StoredMessage(message, record.status, record.pk, record.sk, record.gsi3sk, record.reason)


def _failed_condition(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


class DynamoMessageSchedule:
    # ------------------------------------------------------------------ the port

    def schedule(self, message: ScheduledMessage, now: datetime) -> None:
        """Store the message or move its due time (idempotent). Sent, cancelled, expired and
        skipped messages stay as they are. A due time in the past is indexed as due now."""
        pk = scope_pk(message.merchant_id, message.scope, message.scope_id)
        sk = keys.scheduled_sk(message.kind, message.ref)
        gsi3pk, gsi3sk = index_keys(pk, sk, max(message.due_at, now))
        R = ScheduledMessageRecord
        actions = [R.type.set(R), R.merchant_id.set(message.merchant_id), R.kind.set(message.kind),
                   R.scope.set(message.scope), R.scope_id.set(message.scope_id),
                   R.customer_id.set(message.customer_id), R.ref.set(message.ref), R.due_at.set(message.due_at),
                   R.expires_at.set(message.expires_at), R.priority.set(message.priority),
                   R.data.set(json.dumps(message.data, sort_keys=True)), R.status.set("pending"),
                   R.created_at.set(R.created_at | now), R.updated_at.set(now),
                   R.gsi3pk.set(gsi3pk), R.gsi3sk.set(gsi3sk)]
        try:
            R(pk, sk).update(actions=actions, condition=R.pk.does_not_exist() | R.status.is_in(*OPEN_STATUSES))
        except UpdateError as error:
            if _failed_condition(error):
                return  # already settled: never revived
            raise RetryLater(f"schedule not saved: {error.cause_response_code}") from error

    def cancel(self, merchant_id: str, scope: str, scope_id: str, kind: str, ref: str, reason: str,
               now: datetime) -> None:
        pk = scope_pk(merchant_id, scope, scope_id)
        self.settle(pk, keys.scheduled_sk(kind, ref), "cancelled", reason, now)

    # ------------------------------------------------------------------ reads

    def load(self, merchant_id: str, scope: str, scope_id: str, kind: str, ref: str) -> StoredMessage | None:
        try:
            record = ScheduledMessageRecord.get(scope_pk(merchant_id, scope, scope_id), keys.scheduled_sk(kind, ref),
                                                consistent_read=True)
        except DoesNotExist:
            return None
        return _stored(record)

    def load_key(self, pk: str, sk: str) -> StoredMessage | None:
        """One consistent GetItem (a MessageDue names the item by its key)."""
        try:
            record = ScheduledMessageRecord.get(pk, sk, consistent_read=True)
        except DoesNotExist:
            return None
        return _stored(record) if isinstance(record, ScheduledMessageRecord) else None

    def context_of(self, stored: StoredMessage) -> "MessageContext | None":
        """The facts the message depends on: one Query of the order partition (order, returns,
        feedback) for an order's message, one GetItem of the profile for a customer's."""
        from ..messaging.due import MessageContext
        from ..orders.models import Customer

        message = stored.message
        if message.scope == "order":
            return order_context(message.merchant_id, stored.pk)
        try:
            profile = CustomerRecord.get(stored.pk, keys.PROFILE_SK, consistent_read=True)
        except DoesNotExist:
            return None
        customer = Customer(id=profile.customer_id, email=profile.email, first_name=profile.first_name,
                            last_name=profile.last_name, locale=profile.locale, timezone=profile.timezone,
                            birthday=date.fromisoformat(profile.birthday) if profile.birthday else None)
        return MessageContext(customer=customer, customer_id=message.customer_id, last_order_at=profile.last_order_at,
                              birthday=customer.birthday)

    def of_kind(self, merchant_id: str, scope: str, scope_id: str, kind: str) -> list[StoredMessage]:
        """Every message of one kind under the order or customer: one Query."""
        records = ScheduledMessageRecord.query(scope_pk(merchant_id, scope, scope_id),
                                               ScheduledMessageRecord.sk.startswith(keys.scheduled_sk(kind, "")))
        return [_stored(r) for r in records if isinstance(r, ScheduledMessageRecord)]

    def cancel_kind(self, merchant_id: str, scope: str, scope_id: str, kind: str, reason: str, now: datetime,
                    keep_ref: str | None = None) -> int:
        cancelled = 0
        for stored in self.of_kind(merchant_id, scope, scope_id, kind):
            if stored.status in OPEN_STATUSES and stored.message.ref != keep_ref:
                cancelled += self.settle(stored.pk, stored.sk, "cancelled", reason, now)
        return cancelled

    def due_in_bucket(self, bucket: str, shard: int, now: datetime, limit: int) -> tuple[list[DueKey], bool]:
        """Keys of one (day, shard) partition due by `now`, oldest first: one Query per page of
        the keys-only gsi3. Returns (keys, more) - `more` when the limit cut the answer short."""
        found: list[DueKey] = []
        start_key = None
        while len(found) < limit:
            request = dict(TableName=settings().table_name, IndexName="gsi3", Limit=limit - len(found),
                           KeyConditionExpression="gsi3pk = :p AND gsi3sk <= :now",
                           ExpressionAttributeValues={":p": {"S": keys.due_bucket_pk(bucket, shard)},
                                                      ":now": {"S": f"{iso(now)}|~"}})
            if start_key:
                request["ExclusiveStartKey"] = start_key
            response = client("dynamodb").query(**request)
            found += [DueKey(i["pk"]["S"], i["sk"]["S"], i["gsi3sk"]["S"]) for i in response.get("Items", [])]
            start_key = response.get("LastEvaluatedKey")
            if not start_key:
                return found, False
        return found, True

    # ------------------------------------------------------------------ transitions

    def claim_for_enqueue(self, due: DueKey, retry_at: datetime, now: datetime) -> bool:
        """pending|enqueued -> enqueued, re-keyed into the retry bucket, only if the index entry
        we read is still the item's (nobody moved, sent or cancelled it meanwhile)."""
        gsi3pk, gsi3sk = index_keys(due.pk, due.sk, retry_at)
        R = ScheduledMessageRecord
        try:
            R(due.pk, due.sk).update(
                actions=[R.status.set("enqueued"), R.gsi3pk.set(gsi3pk), R.gsi3sk.set(gsi3sk), R.updated_at.set(now)],
                condition=(R.gsi3sk == due.gsi3sk) & R.status.is_in(*OPEN_STATUSES))
        except UpdateError as error:
            if _failed_condition(error):
                return False
            raise RetryLater(f"schedule claim failed: {error.cause_response_code}") from error
        return True

    def settle(self, pk: str, sk: str, status: str, reason: str | None, now: datetime) -> int:
        """Final state (sent | cancelled | expired | skipped), off the index; 1 if it changed."""
        R = ScheduledMessageRecord
        try:
            R(pk, sk).update(actions=[R.status.set(status), R.reason.set(reason), R.updated_at.set(now),
                                      R.gsi3pk.remove(), R.gsi3sk.remove()],
                             condition=R.status.is_in(*OPEN_STATUSES))
        except UpdateError as error:
            if _failed_condition(error):
                return 0  # absent or already settled
            raise RetryLater(f"schedule not settled: {error.cause_response_code}") from error
        return 1

    def defer(self, pk: str, sk: str, until: datetime, reason: str, now: datetime) -> bool:
        """Pending again, due at `until` (quiet hours, frequency cap)."""
        gsi3pk, gsi3sk = index_keys(pk, sk, max(until, now))
        R = ScheduledMessageRecord
        try:
            R(pk, sk).update(actions=[R.status.set("pending"), R.due_at.set(until), R.reason.set(reason),
                                      R.updated_at.set(now), R.gsi3pk.set(gsi3pk), R.gsi3sk.set(gsi3sk)],
                             condition=R.status.is_in(*OPEN_STATUSES))
        except UpdateError as error:
            if _failed_condition(error):
                return False
            raise RetryLater(f"schedule not deferred: {error.cause_response_code}") from error
        return True

    # ------------------------------------------------------------------ frequency cap

    def marketing_sends(self, merchant_id: str, customer_id: str) -> MarketingSends:
        try:
            record = CustomerRecord.get(keys.customer_pk(merchant_id, customer_id), keys.PROFILE_SK,
                                        consistent_read=True)
        except DoesNotExist:
            return MarketingSends()
        entries = [(datetime.fromisoformat(at), key) for at, key in json.loads(record.marketing_sends or "[]")]
        return MarketingSends(entries, int(record.marketing_revision) if record.marketing_revision is not None else None)

    def reserve_marketing_send(self, merchant_id: str, customer_id: str, seen: MarketingSends,
                               keep: list[tuple[datetime, str]], key: str, now: datetime) -> None:
        """Record one more marketing send (`key`: the scheduled item's), only if nobody recorded
        one since `seen` was read: two concurrent senders cannot both pass the cap (the loser
        retries and sees the other's)."""
        R = CustomerRecord
        condition = R.marketing_revision.does_not_exist() if seen.revision is None \
            else R.marketing_revision == seen.revision
        entries = [[at.astimezone(timezone.utc).isoformat(), k] for at, k in [*keep, (now, key)]]
        try:
            R(keys.customer_pk(merchant_id, customer_id), keys.PROFILE_SK).update(
                actions=[R.marketing_sends.set(json.dumps(entries)),
                         R.marketing_revision.set((seen.revision or 0) + 1)],
                condition=condition & R.pk.exists())
        except UpdateError as error:
            raise RetryLater(f"frequency cap changed concurrently: {error.cause_response_code}") from error

    # ------------------------------------------------------------------ scheduler cursor

    def cursor(self) -> str | None:
        try:
            return SchedulerCursorRecord.get(keys.SCHEDULER_CURSOR_PK, keys.SCHEDULER_CURSOR_SK).hour
        except DoesNotExist:
            return None

    def save_cursor(self, hour: str, now: datetime) -> None:
        try:
            SchedulerCursorRecord(keys.SCHEDULER_CURSOR_PK, keys.SCHEDULER_CURSOR_SK, hour=hour, updated_at=now).save()
        except PutError as error:
            raise RetryLater(f"cursor not saved: {error.cause_response_code}") from error


def order_context(merchant_id: str, order_pk: str) -> "MessageContext | None":
    from ..messaging.due import MessageContext
    from ..returns.rma import ReturnRequest
    from .orders import order_view_of

    items, feedback, start_key = [], False, None
    while True:  # one Query (more pages only for an order with very many scans)
        request = dict(TableName=settings().table_name, KeyConditionExpression="pk = :pk", ConsistentRead=True,
                       ExpressionAttributeValues={":pk": {"S": order_pk}})
        if start_key:
            request["ExclusiveStartKey"] = start_key
        response = client("dynamodb").query(**request)
        for raw in response.get("Items", []):
            sk = raw["sk"]["S"]
            if sk.startswith(keys.FEEDBACK_SK_PREFIX):
                feedback = True  # written by the feedback capability: the customer answered
            elif not (sk.startswith("SHIP#") and "#EV#" in sk) and not sk.startswith(keys.SCHEDULED_SK_PREFIX):
                try:
                    items.append(Record.from_raw_data(raw))
                except (ValueError, KeyError, AttributeError):
                    continue  # an item type this package does not know
        start_key = response.get("LastEvaluatedKey")
        if not start_key:
            break
    view = order_view_of(merchant_id, items)
    if view is None:
        return None
    returns = [ReturnRequest.model_validate_json(r.document) for r in view.returns]
    return MessageContext(customer=view.order.customer, customer_id=view.order.customer.customer_id(),
                          order=view.order, order_status=view.status, returns=returns, feedback_given=feedback)
