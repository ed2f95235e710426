"""SQS publishing. Above this module nobody imports botocore."""
from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import RetryLater
from .aws import client


class SqsPublisher:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def publish(self, body: str, *, kind: str, merchant_id: str) -> str:
        try:
            response = client("sqs").send_message(
                QueueUrl=self.queue_url,
                MessageBody=body,
                MessageAttributes={
                    "kind": {"DataType": "String", "StringValue": kind},
                    "merchant_id": {"DataType": "String", "StringValue": merchant_id},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise RetryLater(f"could not enqueue {kind}: {error}") from error
        return response["MessageId"]
