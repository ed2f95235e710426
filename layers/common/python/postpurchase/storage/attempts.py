"""Fixed-window attempt counters (rate limits) on the table: one conditional update per attempt."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from pynamodb.exceptions import DoesNotExist, UpdateError

from ..errors import RetryLater
from . import keys
from .table import AttemptCounterRecord, OrderNumberRecord


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.astimezone(timezone.utc).timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=timezone.utc)


class DynamoAttemptLimiter:
    def allow(self, merchant_id: str, scope: str, limit: int, window: timedelta, now: datetime) -> bool:
        """Count one attempt; False once `limit` attempts were made in the current window."""
        start = _window_start(now, window)
        # Scopes hold client addresses and order numbers: keep them out of the key as written.
        digest = hashlib.sha256(scope.encode()).hexdigest()[:32]
        counter = AttemptCounterRecord(keys.attempts_pk(merchant_id, digest), f"W#{start.isoformat()}")
        try:
            counter.update(actions=[AttemptCounterRecord.type.set(AttemptCounterRecord),
                                    AttemptCounterRecord.count.add(1),
                                    AttemptCounterRecord.expires_at.set(start + window + timedelta(hours=1))],
                           condition=AttemptCounterRecord.count.does_not_exist() | (AttemptCounterRecord.count < limit))
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise RetryLater(f"attempt counter: {error.cause_response_code}") from error
        return True


class DynamoOrderNumbers:
    def email_digest_for(self, merchant_id: str, number: str) -> tuple[str, str] | None:
        try:
            record = OrderNumberRecord.get(keys.order_number_pk(merchant_id, number), keys.ORDER_SK)
        except DoesNotExist:
            return None
        return record.order_id, record.email_hash
