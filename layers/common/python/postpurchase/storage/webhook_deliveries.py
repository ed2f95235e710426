"""Which merchant webhook deliveries were answered 2xx (one marker item under the order)."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, GetError, PutError

from ..errors import RetryLater
from . import keys
from .table import WebhookDeliveryRecord


class DynamoWebhookDeliveries:
    def delivered(self, merchant_id: str, order_id: str, delivery_id: str) -> bool:
        try:
            WebhookDeliveryRecord.get(keys.order_pk(merchant_id, order_id), keys.webhook_delivery_sk(delivery_id),
                                      consistent_read=True, attributes_to_get=["pk"])
        except DoesNotExist:
            return False
        except GetError as error:
            raise RetryLater(f"webhook delivery marker: {error.cause_response_code}") from error
        return True

    def record(self, merchant_id: str, order_id: str, delivery_id: str, now: datetime) -> None:
        try:
            WebhookDeliveryRecord(keys.order_pk(merchant_id, order_id), keys.webhook_delivery_sk(delivery_id),
                                  delivered_at=now).save()
        except PutError as error:
            # The POST was answered: a marker not written only risks one repeat, which the
            # delivery id lets the merchant discard. Retrying would POST again for certain.
            from ..observability import logger

            logger.warning("webhook delivered but its marker was not written",
                           extra={"delivery_id": delivery_id, "code": error.cause_response_code})

    # A delivery about something without an order (a support conversation): the marker sits in
    # that thing's own partition (support/webhook.py), read and written the same way.
    def delivered_under(self, pk: str, delivery_id: str) -> bool:
        try:
            WebhookDeliveryRecord.get(pk, keys.webhook_delivery_sk(delivery_id), consistent_read=True,
                                      attributes_to_get=["pk"])
        except DoesNotExist:
            return False
        except GetError as error:
            raise RetryLater(f"webhook delivery marker: {error.cause_response_code}") from error
        return True

    def record_under(self, pk: str, delivery_id: str, now: datetime) -> None:
        try:
            WebhookDeliveryRecord(pk, keys.webhook_delivery_sk(delivery_id), delivered_at=now).save()
        except PutError as error:
            from ..observability import logger

            logger.warning("webhook delivered but its marker was not written",
                           extra={"delivery_id": delivery_id, "code": error.cause_response_code})
