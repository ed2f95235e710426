"""Merchants' API token buckets on the table: one conditional UpdateItem per request, no read.

The rule is security/rate_limit.py's. DynamoDB cannot compute max(tat, now) in an update, so
the request makes one of the rule's two updates, chosen from the bucket this container saw last:

- "refill": SET tat = now + interval, if the bucket is absent or `tat <= now`;
- "spend":  SET tat = tat + interval, if `now < tat <= now + (burst - 1) * interval`.

When the condition fails DynamoDB returns the stored item (ReturnValuesOnConditionCheckFailure),
and the rule decides on it without a second write: over the limit is a refusal; a bucket that
in fact had a token (another container moved it since this one's last look) lets the request
through uncounted. That costs at most one uncounted request per container per change between
"refilled" and "in use", and keeps the price at one write per API call, never more.
"""
from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from ..adapters.aws import client
from ..config import settings
from ..errors import RetryLater
from ..security.rate_limit import Decision, TokenBucket, epoch_ms
from . import keys

_SEEN_MERCHANTS = 2048  # containers remember this many merchants' last bucket (oldest dropped)
_KEEP = timedelta(days=1)  # TTL after the last request: an idle bucket is a full one anyway


class DynamoRateBuckets:
    def __init__(self, bucket: TokenBucket) -> None:
        self.bucket = bucket
        self._seen: OrderedDict[str, int] = OrderedDict()

    def take(self, merchant_id: str, now: datetime) -> Decision:
        now_ms = epoch_ms(now)
        bucket = self.bucket
        branch = bucket.branch(self._seen.get(merchant_id), now_ms)
        values = {":interval": {"N": str(bucket.interval_ms)}, ":now": {"N": str(now_ms)},
                  ":type": {"S": "rate_bucket"}, ":expires": {"N": str(int((now + _KEEP).timestamp()))}}
        if branch == "refill":
            update = "SET tat_ms = :now + :interval"
            condition = "attribute_not_exists(tat_ms) OR tat_ms <= :now"
        else:
            update = "SET tat_ms = tat_ms + :interval"
            condition = "tat_ms > :now AND tat_ms <= :allow_until"
            values[":allow_until"] = {"N": str(bucket.allow_until_ms(now_ms))}
        try:
            response = client("dynamodb").update_item(
                TableName=settings().table_name,
                Key={"pk": {"S": keys.rate_bucket_pk(merchant_id)}, "sk": {"S": keys.rate_bucket_sk(bucket.name)}},
                UpdateExpression=f"{update}, #type = :type, expires_at = :expires",
                ConditionExpression=condition, ExpressionAttributeNames={"#type": "type"},
                ExpressionAttributeValues=values, ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise RetryLater(f"rate bucket: {error.response.get('Error', {}).get('Code')}") from error
            stored = (error.response.get("Item") or {}).get("tat_ms")
            decision = bucket.take(int(stored["N"]) if stored else None, now)
            self._remember(merchant_id, decision.tat_ms)
            return decision
        new_tat = int(response["Attributes"]["tat_ms"]["N"])
        self._remember(merchant_id, new_tat)
        return Decision(True, new_tat, bucket.remaining(new_tat, now_ms), 0)

    def _remember(self, merchant_id: str, tat_ms: int) -> None:
        self._seen[merchant_id] = tat_ms
        self._seen.move_to_end(merchant_id)
        while len(self._seen) > _SEEN_MERCHANTS:
            self._seen.popitem(last=False)
