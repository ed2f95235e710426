"""SQS publishing. Above this module nobody imports botocore."""
from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import RetryLater
from .aws import client


class SqsPublisher:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def publish(self, body: str, *, kind: str, merchant_id: str, delay_seconds: int = 0) -> str:
        try:
            response = client("sqs").send_message(
                QueueUrl=self.queue_url,
                MessageBody=body,
                DelaySeconds=delay_seconds,
                MessageAttributes={
                    "kind": {"DataType": "String", "StringValue": kind},
                    "merchant_id": {"DataType": "String", "StringValue": merchant_id},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise RetryLater(f"could not enqueue {kind}: {error}") from error
        return response["MessageId"]

    def publish_batch(self, bodies: list[str], *, kind: str) -> int:
        """Enqueue many messages, ten per request (SQS's batch limit); returns how many."""
        sent = 0
        for start in range(0, len(bodies), 10):
            chunk = bodies[start:start + 10]
            entries = [{"Id": str(i), "MessageBody": body,
                        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": kind}}}
                       for i, body in enumerate(chunk)]
            try:
                response = client("sqs").send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as error:
                raise RetryLater(f"could not enqueue {kind} batch: {error}") from error
            if response.get("Failed"):
                raise RetryLater(f"{len(response['Failed'])} {kind} messages were not enqueued")
            sent += len(chunk)
        return sent
