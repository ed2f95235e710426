"""How every SQS consumer processes its batch: Powertools partial batch responses, and a
metric of the records that failed (they go back to the queue, then to its DLQ).

Nothing here imports pydantic or Powertools' batch utility at module load (issue 17): a consumer
names its record body's type with a factory, `SqsBatch(body=_body)`, and the record model is built
at the first batch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .observability import MetricUnit, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from pydantic import BaseModel


def _sqs_record() -> type:
    from pydantic import BaseModel

    class SqsRecord(BaseModel):
        """An SQS record as Lambda hands it over, the fields we read; a consumer's record model adds
        its typed `body`. Not Powertools' `SqsRecordModel`: importing that one imports every event
        model of the parser (API Gateway, Kinesis, S3, ...), about 100 ms of each consumer's cold
        start, for the same fields. Same names, so BatchProcessor reports a failed record by its
        messageId."""

        messageId: str
        receiptHandle: str = ""
        body: str
        attributes: dict[str, Any] = {}
        messageAttributes: dict[str, Any] = {}
        md5OfBody: str = ""
        eventSource: str = "aws:sqs"
        eventSourceARN: str = ""
        awsRegion: str = ""

    return SqsRecord


_built: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    """`SqsRecord`, the base of every record model, built at its first use (PEP 562)."""
    if name == "SqsRecord":
        if name not in _built:
            _built[name] = _sqs_record()
        return _built[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def record_model(body_type: Any) -> type[BaseModel]:
    """`SqsRecord` whose `body` is the JSON of `body_type` (a model, or a union of models)."""
    from pydantic import Json, create_model

    name = f"{getattr(body_type, '__name__', 'Body')}Record"
    return create_model(name, __base__=__getattr__("SqsRecord"), body=(Json[body_type], ...))


class SqsBatch:
    """A consumer's Powertools `BatchProcessor` for SQS, built at its first batch (issue 17).

    Importing `aws_lambda_powertools.utilities.batch` imports asyncio and the data classes of
    every batch source (DynamoDB streams, Kinesis, ...): ~80 ms of a consumer's cold start. The
    processor and `process_partial_response` are Powertools' own, so the partial batch response
    (`batchItemFailures` by messageId) is unchanged.

    `body` is a factory of the record body's type, called at the first batch: it imports the
    message models there, so pydantic and the domain's models are not built at cold start
    (`def _body(): from postpurchase.x.messages import Message; return Message`). The handler gets
    a `record_model(body())` record, its `body` validated. `model` is a record model class given
    directly (built at import, as before). With neither, the handler gets Powertools' `SQSRecord`
    data class, as `BatchProcessor(event_type=EventType.SQS)` does.
    """

    def __init__(self, model: type[BaseModel] | None = None, *, body: Callable[[], Any] | None = None) -> None:
        if model is not None and body is not None:
            raise TypeError("SqsBatch takes a record model or a body factory, not both")
        self._model = model
        self._body = body
        self._processor: BatchProcessor | None = None

    @property
    def model(self) -> type[BaseModel] | None:
        """The record model the processor validates each record with (built on first use)."""
        if self._model is None and self._body is not None:
            self._model = record_model(self._body())
        return self._model

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
