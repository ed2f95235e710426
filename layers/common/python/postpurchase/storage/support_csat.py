"""CSAT scores on the one table: pk M#{m}#CSAT#{c} (not the thread's partition: its Query reads
only conversation records), sk CSAT#{resolution}; put once (the first click wins), with the CSAT counters
added in the same transaction. One TransactWriteItems; a repeat costs one more GetItem."""
from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import NumberAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from ..errors import RetryLater
from ..support.metrics import rated
from .orders import _connection, _reasons
from .support_metrics import add_to_transaction
from .table import Record


class SupportCsatRecord(Record, discriminator="support_csat"):
    score = NumberAttribute()
    rated_at = UTCDateTimeAttribute()


def record_score(merchant_id: str, conversation_id: str, resolution: str, score: int, now: datetime) -> int | None:
    """None when recorded now; the score already recorded for this resolution otherwise."""
    pk, sk = f"M#{merchant_id}#CSAT#{conversation_id}", f"CSAT#{resolution}"
    try:
        with TransactWrite(connection=_connection()) as transaction:
            transaction.save(SupportCsatRecord(pk, sk, score=score, rated_at=now),
                             condition=SupportCsatRecord.pk.does_not_exist())
            add_to_transaction(transaction, merchant_id, rated(score, now))
    except TransactWriteError as error:
        reasons = _reasons(error)
        if reasons and reasons[0] == "ConditionalCheckFailed":
            return int(SupportCsatRecord.get(pk, sk, consistent_read=True).score)
        raise RetryLater(f"csat write cancelled: {reasons or error.cause_response_code}") from error
    return None
