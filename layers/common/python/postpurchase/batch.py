"""How every SQS consumer processes its batch: Powertools partial batch responses, and a
metric of the records that failed (they go back to the queue, then to its DLQ)."""
from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools.utilities.batch import BatchProcessor, process_partial_response
from pydantic import BaseModel

from .observability import MetricUnit, metrics


class SqsRecord(BaseModel):
    """An SQS record as Lambda hands it over, the fields we read; a consumer subclasses it with its
    typed `body`. Not Powertools' `SqsRecordModel`: importing that one imports every event model
    of the parser (API Gateway, Kinesis, S3, ...), about 100 ms of each consumer's cold start, for
    the same fields. Same names, so BatchProcessor reports a failed record by its messageId."""

    messageId: str
    receiptHandle: str = ""
    body: str
    attributes: dict[str, Any] = {}
    messageAttributes: dict[str, Any] = {}
    md5OfBody: str = ""
    eventSource: str = "aws:sqs"
    eventSourceARN: str = ""
    awsRegion: str = ""


def process_batch(event: dict, context: Any, *, processor: BatchProcessor, record_handler: Callable[[Any], None],
                  failure_metric: str) -> dict:
    try:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    finally:
        metrics.add_metric(name=failure_metric, unit=MetricUnit.Count, value=len(processor.fail_messages))
