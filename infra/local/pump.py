"""Delivers SQS messages to consumer handlers the way Lambda's event source mapping does.

Batches of up to BatchSize, the SQS event shape Lambda sends, partial batch failures
(reported items stay on the queue), a handler exception fails the whole batch, and failed
messages come back after a retry delay until SQS's redrive moves them to the DLQ.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

import boto3

from .lambda_context import LambdaContext

log = logging.getLogger("infra.local.pump")


@dataclass
class Consumer:
    function_id: str
    queue_url: str
    queue_arn: str
    batch_size: int
    handler: Callable[[dict, Any], Any]
    timeout: float = 15.0


@dataclass
class PumpStats:
    delivered: int = 0
    failed: int = 0
    batches: int = 0


def sqs_record(message: dict, queue_arn: str, region: str) -> dict:
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": attributes.get("SenderId", "LOCAL"),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp",
                                                               str(int(time.time() * 1000))),
        },
        "messageAttributes": {
            name: {"stringValue": value.get("StringValue"), "binaryValue": None, "stringListValues": [],
                   "binaryListValues": [], "dataType": value.get("DataType", "String")}
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueuePump:
    def __init__(self, consumers: list[Consumer], *, region: str = "us-east-1", retry_delay_seconds: int = 0) -> None:
        self.consumers = consumers
        self.region = region
        self.retry_delay_seconds = retry_delay_seconds
        self.stats = PumpStats()
        self._sqs = boto3.client("sqs", region_name=region)

    def pump_once(self) -> int:
        """One receive per consumer; returns how many messages were handed to handlers."""
        handed = 0
        for consumer in self.consumers:
            messages = self._sqs.receive_message(
                QueueUrl=consumer.queue_url, MaxNumberOfMessages=min(consumer.batch_size, 10),
                AttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=0,
            ).get("Messages", [])
            if messages:
                handed += len(messages)
                self._deliver(consumer, messages)
        return handed

    def _deliver(self, consumer: Consumer, messages: list[dict]) -> None:
        event = {"Records": [sqs_record(m, consumer.queue_arn, self.region) for m in messages]}
        context = LambdaContext(function_name=consumer.function_id, timeout_seconds=consumer.timeout)
        self.stats.batches += 1
        try:
            result = consumer.handler(event, context) or {}
            failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        except Exception as error:  # the whole batch fails, as in Lambda
            log.warning("%s failed a whole batch of %d: %s", consumer.function_id, len(messages),
                        str(error).splitlines()[0])
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] in failed:
                self.stats.failed += 1
                self._sqs.change_message_visibility(QueueUrl=consumer.queue_url,
                                                    ReceiptHandle=message["ReceiptHandle"],
                                                    VisibilityTimeout=self.retry_delay_seconds)
            else:
                self.stats.delivered += 1
                self._sqs.delete_message(QueueUrl=consumer.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def drain(self, max_rounds: int = 200) -> int:
        """Pump until every queue is empty (failed messages retried until redriven to a DLQ)."""
        total = 0
        for _ in range(max_rounds):
            handed = self.pump_once()
            total += handed
            if handed == 0:
                return total
        raise RuntimeError(f"queues did not drain within {max_rounds} rounds")
