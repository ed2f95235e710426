"""Reading the merchant's returns queue (the console): one Query of gsi1 per tab page, and the
search keys (order id or number, RMA id, tracking number, order email) to the orders to open.

Every read is a Query or a GetItem on keys the writes already keep:

- tab page: one Query of gsi1 `M#{m}#RETQ#{partition}` (returns/queue.py says which);
- email: one Query of `M#{m}#RETEMAIL#{sha256(email)}` (order ids of its RMAs);
- RMA id: one GetItem `M#{m}#RMA#{r}`; order number: one GetItem `M#{m}#NUM#{number}`;
  tracking number: one Query of gsi4 (keys only).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from ..errors import InvalidInput
from ..returns.queue import tab_query
from ..returns.rma import ReturnRequest
from ..security.order_access import email_digest, normalise_order_number
from . import keys
from .table import OrderNumberRecord, ReturnEmailRecord, ReturnOrderRecord, ReturnRecord

PAGE_SIZE = 25
_CURSOR_FIELDS = ("pk", "sk", "gsi1pk", "gsi1sk")


@dataclass(frozen=True)
class QueuePage:
    returns: list[ReturnRequest]
    next_cursor: str | None


def _encode_cursor(key: dict | None) -> str | None:
    if not key:
        return None
    plain = {name: key[name]["S"] for name in _CURSOR_FIELDS if name in key}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, partition_pk: str, *, field: str = "next",
                   message: str = "the page cursor is not valid") -> dict:
    """The Query's start key from the page's cursor; only a key of this very gsi1 partition
    (the returns queue's `next`, and storage/support.py's `cursor`)."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        raise InvalidInput(message, field=field) from None
    if (not isinstance(plain, dict) or set(plain) != set(_CURSOR_FIELDS)
            or not all(isinstance(plain[name], str) and 0 < len(plain[name]) <= 1024 for name in _CURSOR_FIELDS)
            or plain["gsi1pk"] != partition_pk):
        raise InvalidInput(message, field=field)
    return {name: {"S": plain[name]} for name in _CURSOR_FIELDS}


class DynamoReturnQueue:
    def page(self, merchant_id: str, tab: str, now: datetime, cursor: str | None = None,
             limit: int = PAGE_SIZE) -> QueuePage:
        """One page of a tab: one Query of gsi1."""
        partition, from_key, before_key, oldest_first = tab_query(tab, now)
        pk = keys.returns_queue_pk(merchant_id, partition)
        condition = None
        if from_key is not None:
            condition = ReturnRecord.gsi1sk >= from_key
        elif before_key is not None:
            condition = ReturnRecord.gsi1sk < before_key
        results = ReturnRecord.queue_index.query(
            pk, range_key_condition=condition, scan_index_forward=oldest_first, limit=limit, page_size=limit,
            last_evaluated_key=_decode_cursor(cursor, pk) if cursor else None)
        rows = [ReturnRequest.model_validate_json(record.document) for record in results]
        return QueuePage(rows, _encode_cursor(results.last_evaluated_key) if len(rows) == limit else None)

    def orders_for_email(self, merchant_id: str, email: str, limit: int = PAGE_SIZE) -> list[str]:
        """The orders whose RMAs were requested under this order email (one Query)."""
        text = (email or "").strip()
        if not text or len(text) > 254:
            return []
        records = ReturnEmailRecord.query(keys.return_email_pk(merchant_id, email_digest(text)), limit=limit)
        return list(dict.fromkeys(record.order_id for record in records))

    def order_for_rma(self, merchant_id: str, rma_id: str) -> str | None:
        try:
            return ReturnOrderRecord.get(keys.return_order_pk(merchant_id, rma_id), keys.RETURN_ORDER_SK).order_id
        except DoesNotExist:
            return None

    def order_for_number(self, merchant_id: str, number: str) -> str | None:
        try:
            normalised = normalise_order_number(number)
        except InvalidInput:
            return None
        try:
            return OrderNumberRecord.get(keys.order_number_pk(merchant_id, normalised), keys.ORDER_SK).order_id
        except DoesNotExist:
            return None
