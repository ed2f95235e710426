"""How every SQS consumer processes its batch: Powertools partial batch responses, and a
metric of the records that failed (they go back to the queue, then to its DLQ)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from pydantic import BaseModel

from .observability import MetricUnit, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor


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


class SqsBatch:
    """A consumer's Powertools `BatchProcessor` for SQS, built at its first batch (issue 17).

    Importing `aws_lambda_powertools.utilities.batch` imports asyncio and the data classes of
    every batch source (DynamoDB streams, Kinesis, ...): ~80 ms of a consumer's cold start. The
    processor and `process_partial_response` are Powertools' own, so the partial batch response
    (`batchItemFailures` by messageId) is unchanged. `model=None` hands the handler Powertools'
    `SQSRecord` data class, as `BatchProcessor(event_type=EventType.SQS)` does.
    """

    def __init__(self, model: type[BaseModel] | None = None) -> None:
        self.model = model
        self._processor: BatchProcessor | None = None

    @property
    def processor(self) -> "BatchProcessor":
        if self._processor is None:
            from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

            self._processor = BatchProcessor(event_type=EventType.SQS, model=self.model)
        return self._processor


def process_batch(event: dict, context: Any, *, processor: SqsBatch, record_handler: Callable[[Any], None],
                  failure_metric: str) -> dict:
    from aws_lambda_powertools.utilities.batch import process_partial_response

    batch = processor.processor
    try:
        return process_partial_response(event=event, record_handler=record_handler, processor=batch,
                                        context=context)
    finally:
        metrics.add_metric(name=failure_metric, unit=MetricUnit.Count, value=len(batch.fail_messages))
