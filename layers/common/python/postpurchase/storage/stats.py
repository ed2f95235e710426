"""The analytics counters on the one table (what they count: postpurchase.analytics.counters).

* counters: pk M#{m}#STATS, sk {yyyy-mm-dd}#{metric}#{shard}#{dimension}, `count` grown by ADD;
  each fact adds to one of SHARDS copies of a counter (by its key's hash), so two transactions
  in flight at once rarely touch the same item (a TransactionConflict); reading adds them up;
* markers: pk M#{m}#STATSEV#{event key}, sk COUNTED, expiring after MARKER_DAYS.

`record` is ONE TransactWrite: put the fact's marker on the condition that it is new, and ADD
every increment. A redelivered event (or a retry after a crash anywhere in the consumer) finds
the marker and the whole transaction is refused: counted once, never half. A fact with more
counters than a transaction holds (an order of many SKUs) is written in parts, each with its
own marker (`{key}#p{n}`), so each part is still counted exactly once.

`add` is for writers that are already once-only: the loyalty ledger puts its ADDs into the
transaction that appends the entries (storage/loyalty.py calls `updates`).

`read` is ONE Query (paged by DynamoDB past 1 MB) of a day range of the STATS partition.
"""
from __future__ import annotations

import hashlib
import random
import time
from datetime import date, datetime, timedelta
from typing import Iterable

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from ..analytics.counters import Increment, Tally
from ..errors import RetryLater
from . import keys
from .orders import _connection, _reasons
from .table import StatsCounterRecord, StatsMarkerRecord

MAX_ITEMS_PER_TRANSACTION = 100
MARKER_DAYS = 30  # longer than any redelivery (SQS keeps a message 14 days at most)
SHARDS = 8
CONFLICT_ATTEMPTS = 3  # another transaction on a counter in flight: try again here before failing the message


def shard_of(spread_key: str) -> int:
    return int(hashlib.sha256(spread_key.encode()).hexdigest()[:8], 16) % SHARDS


def counter(merchant_id: str, day: date, metric: str, dimension: str, shard: int = 0) -> StatsCounterRecord:
    return StatsCounterRecord(keys.stats_pk(merchant_id), keys.stats_sk(day.isoformat(), metric, shard, dimension))


def updates(transaction: TransactWrite, merchant_id: str, amounts: dict[tuple[date, str, str], int],
            spread_key: str) -> None:
    """Add the ADD of each counter to a transaction the caller runs (`spread_key`: what picks the
    shard, e.g. the fact's identity)."""
    shard = shard_of(spread_key)
    for (day, metric, dimension), amount in amounts.items():
        transaction.update(counter(merchant_id, day, metric, dimension, shard),
                           actions=[StatsCounterRecord.type.set(StatsCounterRecord), StatsCounterRecord.count.add(amount)])


def merged(increments: Iterable[Increment]) -> dict[tuple[date, str, str], int]:
    return Tally("", "", tuple(increments)).merged()


class DynamoStats:
    def record(self, tally: Tally, now: datetime) -> bool:
        """Count the fact once; False when it was counted before (nothing changes)."""
        amounts = list(tally.merged().items())
        room = MAX_ITEMS_PER_TRANSACTION - 1
        parts = [amounts[start:start + room] for start in range(0, len(amounts), room)] or [[]]
        counted = False
        for number, part in enumerate(parts):
            key = tally.event_key if number == 0 else f"{tally.event_key}#p{number}"
            counted = self._record_part(tally.merchant_id, key, dict(part), now) or counted
        return counted

    def _record_part(self, merchant_id: str, event_key: str, amounts: dict[tuple[date, str, str], int],
                     now: datetime) -> bool:
        marker = StatsMarkerRecord(keys.stats_marker_pk(merchant_id, event_key), keys.STATS_MARKER_SK,
                                   expires_at=now + timedelta(days=MARKER_DAYS))
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                with TransactWrite(connection=_connection()) as transaction:
                    transaction.save(marker, condition=StatsMarkerRecord.pk.does_not_exist())
                    updates(transaction, merchant_id, amounts, event_key)
                return True
            except TransactWriteError as error:
                reasons = _reasons(error)
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    return False  # counted before
                if "TransactionConflict" in reasons and attempt + 1 < CONFLICT_ATTEMPTS:
                    time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))
                    continue
                raise RetryLater(f"analytics counters not written: {reasons or error.cause_response_code}") from error
        return False  # not reached

    def read(self, merchant_id: str, first: date, last: date) -> list[tuple[date, str, str, int]]:
        """Every counter of the days first..last (inclusive; shards are separate rows, the report
        adds them up): one Query."""
        found = []
        condition = StatsCounterRecord.sk.between(f"{first.isoformat()}#", f"{last.isoformat()}#~")
        for record in StatsCounterRecord.query(keys.stats_pk(merchant_id), condition):
            day, metric, _shard, dimension = record.sk.split("#", 3)
            found.append((date.fromisoformat(day), metric, dimension, int(record.count or 0)))
        return found
