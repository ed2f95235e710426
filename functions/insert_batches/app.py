"""insert_batches: one message per batch of a day's packing inserts -> one multi-page PDF in S3.

The message model and the renderer load at the first batch, not at cold start (issue 17)."""
from postpurchase import clock
from postpurchase.batch import SqsBatch, process_batch
from postpurchase.observability import MetricUnit, logger, metrics, tracer


def _body():
    from postpurchase.insert.batches import InsertBatchMessage

    return InsertBatchMessage


processor = SqsBatch(body=_body)  # Powertools' processor, built at the first batch


@tracer.capture_method
def record_handler(record) -> None:
    from postpurchase.insert.batches import LAST_RECEIVE
    from postpurchase.insert.service import render_day_batch

    message = record.body
    logger.append_keys(merchant_id=message.merchant_id, batch_id=message.batch_id)
    last_attempt = int(record.attributes.get("ApproximateReceiveCount", "1")) >= LAST_RECEIVE
    outcome = render_day_batch(message, clock.now(), last_attempt=last_attempt)
    metrics.add_metric(name="InsertBatchesRendered", unit=MetricUnit.Count, value=1 if outcome == "ready" else 0)
    logger.info("insert batch handled", extra={"outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return process_batch(event, context, processor=processor, record_handler=record_handler,
                         failure_metric="InsertBatchFailures")
