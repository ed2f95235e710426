"""review_feed (EventBridge schedule, daily): rebuilds each merchant's Google product reviews feed
(XML schema 2.4, the full feed) from its published reviews and writes it to S3."""
from postpurchase.observability import MetricUnit, logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    # The review models and the feed writer at the first run, not at cold start (issue 17).
    from postpurchase.reviews.feed_job import build_all
    from postpurchase.reviews.ports import FEED_PORTS

    results = build_all(FEED_PORTS)
    metrics.add_metric(name="ReviewFeedsBuilt", unit=MetricUnit.Count, value=len(results))
    summary = {"feeds": len(results), "reviews": sum(result.reviews for result in results)}
    logger.info("review feeds built", extra=summary)
    return summary
