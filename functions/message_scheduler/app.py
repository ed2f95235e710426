"""message_scheduler (EventBridge schedule): finds scheduled messages due and enqueues them.

Reads the sparse, sharded due-time index (one Query per hour bucket and shard, from a stored
cursor), never the table; each message is claimed with a conditional write before it is
enqueued, so a re-run or an overlapping run does not enqueue it twice.
"""
from postpurchase import clock, services
from postpurchase.observability import MetricUnit, logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    # The message models and PynamoDB at the first sweep, not at cold start (issue 17).
    from postpurchase.messaging.due import sweep
    from postpurchase.storage.schedule import due_shards

    result = sweep(services.message_schedule(), services.outbound_email_queue(), clock.now(), shards=due_shards())
    metrics.add_metric(name="ScheduledMessagesEnqueued", unit=MetricUnit.Count, value=result["enqueued"])
    logger.info("message sweep", extra=result)
    return result
