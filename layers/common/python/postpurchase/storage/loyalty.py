"""Loyalty points on the one table (see postpurchase.rewards.loyalty for what they mean).

* entries: pk M#{m}#C#{c}, sk PTS#{recorded at}#{entry id}, the Entry as JSON;
* the account item: same pk, sk PTS#~ACCOUNT, with the ledger's `revision`;
* settings: pk M#{m}, sk LOYALTY.

Reading the ledger is ONE Query of the `PTS#` range: every entry, and the account item last.
Appending is ONE TransactWrite: put each entry (only if its key is new) and set the account's
revision to revision + 1 (only if it is still the revision the caller read). Any two writers
that read the same ledger race on that condition: one wins, the other re-reads and decides
again, so a balance judged sufficient is still sufficient when the redemption lands, and an
entry id seen absent is still absent (idempotent ids: earn = order+sku, reversal = rma+sku).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ..errors import RetryLater
from ..rewards.loyalty import Entry, LoyaltySettings
from ..analytics.counters import points_moved
from . import keys, stats
from .orders import _connection, _reasons
from .table import LoyaltyAccountRecord, LoyaltyEntryRecord, LoyaltySettingsRecord, Record

MAX_ITEMS_PER_TRANSACTION = 100
READ_ATTEMPTS = 3
SETTINGS_CACHE_SECONDS = 30.0
_settings_cache: dict[str, tuple[float, LoyaltySettings | None]] = {}


class StaleLedger(Exception):
    """Another write landed since the ledger was read: read again and decide again."""


def clear_cache() -> None:
    _settings_cache.clear()


@dataclass(frozen=True)
class Ledger:
    entries: list[Entry]  # ledger order (recorded time, then id)
    revision: int  # 0 = no account item yet

    def has(self, entry_id: str) -> bool:
        return any(entry.entry_id == entry_id for entry in self.entries)

    def get(self, entry_id: str) -> Entry | None:
        return next((entry for entry in self.entries if entry.entry_id == entry_id), None)


class DynamoLoyaltyStore:
    def ledger(self, merchant_id: str, customer_id: str, consistent: bool = True) -> Ledger:
        """Every entry and the revision: one Query (paged by DynamoDB past 1 MB). A Query is not a
        snapshot: if it saw a revision without all the entries written with it, read again."""
        for _ in range(READ_ATTEMPTS):
            entries: list[Entry] = []
            revision, last_seq = 0, 0
            for record in Record.query(keys.customer_pk(merchant_id, customer_id),
                                       Record.sk.startswith(keys.LOYALTY_SK_PREFIX), consistent_read=consistent):
                if isinstance(record, LoyaltyAccountRecord):
                    revision, last_seq = int(record.revision), int(record.last_seq or 0)
                elif isinstance(record, LoyaltyEntryRecord):
                    entries.append(Entry.model_validate_json(record.document))
            if len(entries) >= last_seq:  # seqs are 1..n: every entry the revision counts is here
                return Ledger(entries, revision)
        raise RetryLater(f"loyalty ledger of {customer_id} read mid-write")

    def append(self, merchant_id: str, customer_id: str, entries: list[Entry], expected_revision: int,
               now: datetime) -> int:
        """Add `entries` if the ledger is still at `expected_revision`; returns the new revision.

        More than 99 entries go in several transactions, each checked against the revision the
        previous one set. Raises StaleLedger when another write came first."""
        revision = expected_revision
        # Each entry may add one analytics counter to its transaction (points issued / redeemed).
        chunk = (MAX_ITEMS_PER_TRANSACTION - 1) // 2
        for start in range(0, len(entries), chunk):
            self._append(merchant_id, customer_id, entries[start:start + chunk], revision, now)
            revision += 1
        return revision

    def _append(self, merchant_id: str, customer_id: str, entries: list[Entry], expected: int, now: datetime) -> None:
        pk = keys.customer_pk(merchant_id, customer_id)
        last_seq = max(entry.seq for entry in entries)
        try:
            with TransactWrite(connection=_connection()) as transaction:
                for entry in entries:
                    transaction.save(LoyaltyEntryRecord(pk, keys.loyalty_entry_sk(keys.time_key(entry.at), entry.entry_id),
                                                        merchant_id=merchant_id, customer_id=customer_id,
                                                        entry_id=entry.entry_id, kind=entry.kind, points=entry.points,
                                                        document=entry.model_dump_json()),
                                     condition=LoyaltyEntryRecord.sk.does_not_exist())
                # Points issued / redeemed for the console's analytics: in this transaction, so each
                # entry (written once, on its new key) is counted exactly once.
                stats.updates(transaction, merchant_id,
                              stats.merged(points_moved((entry.kind, entry.points, entry.at) for entry in entries)),
                              spread_key=f"{customer_id}#{expected}")
                if expected == 0:
                    transaction.save(LoyaltyAccountRecord(pk, keys.LOYALTY_ACCOUNT_SK, merchant_id=merchant_id,
                                                          customer_id=customer_id, revision=1, last_seq=last_seq,
                                                          updated_at=now),
                                     condition=LoyaltyAccountRecord.sk.does_not_exist())
                else:
                    transaction.update(LoyaltyAccountRecord(pk, keys.LOYALTY_ACCOUNT_SK),
                                       actions=[LoyaltyAccountRecord.revision.set(expected + 1),
                                                LoyaltyAccountRecord.last_seq.set(last_seq),
                                                LoyaltyAccountRecord.updated_at.set(now)],
                                       condition=LoyaltyAccountRecord.revision == expected)
        except TransactWriteError as error:
            reasons = _reasons(error)
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise StaleLedger(customer_id) from None
            raise RetryLater(f"loyalty write cancelled: {reasons or error.cause_response_code}") from error

    def set_code(self, merchant_id: str, customer_id: str, entry: Entry, code: str) -> None:
        """Note the discount code a redemption became (display only; the points are already taken)."""
        record = LoyaltyEntryRecord(keys.customer_pk(merchant_id, customer_id),
                                    keys.loyalty_entry_sk(keys.time_key(entry.at), entry.entry_id))
        try:
            record.update(actions=[LoyaltyEntryRecord.document.set(entry.model_copy(update={"code": code})
                                                                   .model_dump_json())],
                          condition=LoyaltyEntryRecord.sk.exists())
        except UpdateError as error:
            raise RetryLater(f"loyalty code not noted: {error.cause_response_code}") from error

    def settings(self, merchant_id: str) -> LoyaltySettings | None:
        """The merchant's settings, None when it never set any (no program). Cached briefly."""
        hit = _settings_cache.get(merchant_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        try:
            record = LoyaltySettingsRecord.get(keys.merchant_pk(merchant_id), keys.LOYALTY_SETTINGS_SK)
            found: LoyaltySettings | None = LoyaltySettings.model_validate_json(record.document)
        except DoesNotExist:
            found = None
        _settings_cache[merchant_id] = (time.monotonic() + SETTINGS_CACHE_SECONDS, found)
        return found

    def save_settings(self, merchant_id: str, settings: LoyaltySettings, now: datetime) -> None:
        LoyaltySettingsRecord(keys.merchant_pk(merchant_id), keys.LOYALTY_SETTINGS_SK, merchant_id=merchant_id,
                              document=settings.model_dump_json(), updated_at=now).save()
        _settings_cache.pop(merchant_id, None)
