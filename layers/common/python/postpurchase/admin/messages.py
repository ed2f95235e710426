"""`messages backfill`: put older send-ledger entries into the console's customer search.

The ledger writes an entry's place in its address's index (sparse gsi5 `M#{m}#RCPT#{email
digest}`, sort key `{claim time}#{message key}`) with the entry since that index exists; older
entries (sends, skips, bounces) are not found by the search until this runs. The address itself is
not stored, only its hash (`recipient_hash`, SHA-256 of the lower-cased address): that is the
index's digest for every address whose lower-case is its case-fold and that has no surrounding
spaces (any address SES accepted, in practice). A one-off operator job, so it Scans (filtered to
ledger entries without the keys, one merchant or all); each write is conditional on the keys
still being absent, so nothing written since is overwritten, and entries erased for a customer
(recipient_hash "erased") stay out of the index. Idempotent.
"""
from __future__ import annotations

import argparse
from collections import Counter
from datetime import datetime
from typing import Any

from . import register_backfill, set_unless_changed

def register(groups: argparse._SubParsersAction) -> None:
    register_backfill(groups, "messages", "the send ledger as the console's messages view reads it",
                      "index ledger entries written before the customer search index", run_backfill)


def run_backfill(arguments: argparse.Namespace, now: datetime) -> dict[str, Any]:
    return backfill(arguments.merchant, dry_run=arguments.dry_run)


def backfill(merchant_id: str | None, *, dry_run: bool = False) -> dict[str, Any]:
    from ..storage import keys
    from ..storage.privacy import ERASED_CUSTOMER
    from ..storage.table import MessageRecord

    counts: Counter[str] = Counter()
    condition = MessageRecord.gsi5pk.does_not_exist()
    if merchant_id:
        condition &= MessageRecord.merchant_id == merchant_id
    for record in MessageRecord.scan(condition):
        if not isinstance(record, MessageRecord):
            continue
        counts["scanned"] += 1
        if not record.recipient_hash or record.recipient_hash == ERASED_CUSTOMER or not record.merchant_id:
            counts["erased"] += 1
            continue
        if dry_run:
            counts["would_be_set"] += 1
            continue
        if not set_unless_changed(record, [
                MessageRecord.gsi5pk.set(keys.recipient_messages_pk(record.merchant_id, record.recipient_hash)),
                MessageRecord.gsi5sk.set(keys.messages_sk(keys.time_key(record.claimed_at), record.message_key))],
                MessageRecord.pk.exists() & MessageRecord.gsi5pk.does_not_exist()
                & (MessageRecord.recipient_hash == record.recipient_hash)):
            counts["changed_meanwhile"] += 1
            continue
        counts["set"] += 1
    return {"merchant_id": merchant_id, "dry_run": dry_run, **dict(sorted(counts.items()))}
