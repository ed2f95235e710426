"""How every SQS consumer processes its batch: Powertools partial batch responses, and a
metric of the records that failed (they go back to the queue, then to its DLQ)."""
from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools.utilities.batch import BatchProcessor, process_partial_response

from .observability import MetricUnit, metrics


def process_batch(event: dict, context: Any, *, processor: BatchProcessor, record_handler: Callable[[Any], None],
                  failure_metric: str) -> dict:
    try:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    finally:
        metrics.add_metric(name=failure_metric, unit=MetricUnit.Count, value=len(processor.fail_messages))
