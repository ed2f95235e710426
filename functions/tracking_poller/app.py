"""tracking_poller (EventBridge schedule): finds shipments due for polling and enqueues them.

Reads the sparse, sharded poll index (one Query per shard), never the table: a sweep costs
what is due, not what is stored.
"""
from postpurchase import clock, services
from postpurchase.observability import MetricUnit, logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    from postpurchase.tracking.polling import sweep  # the message models at the first sweep (issue 17)

    result = sweep(services.tracking_store(), services.tracking_queue(), clock.now())
    metrics.add_metric(name="ShipmentsDueForPolling", unit=MetricUnit.Count, value=result["enqueued"])
    logger.info("poll sweep", extra=result)
    return result
