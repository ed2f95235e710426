"""support_inbound: support mail SES stored in S3 (ObjectCreated) becomes a customer message.

Takes the S3 notification (Records[].s3) and its EventBridge form (detail.bucket/object). Bad mail
never raises (it is recorded and flagged, or tagged unrouted); an outage raises, Lambda retries
the event twice and then sends it to the function's dead-letter queue (template.yaml).
"""
from urllib.parse import unquote_plus

from postpurchase import clock
from postpurchase.observability import MetricUnit, logger, metrics, tracer


def objects(event: dict) -> list[tuple[str, str]]:
    if "detail" in event:  # EventBridge "Object Created": the key is not URL-encoded
        detail = event["detail"]
        return [(detail["bucket"]["name"], detail["object"]["key"])]
    return [(record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"]))
            for record in event.get("Records", []) if "s3" in record]


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    from postpurchase.support.mail_intake import receive_stored_mail  # the support models (issue 17)

    outcomes = []
    for bucket, key in objects(event):
        if not key.startswith("inbound/"):
            continue  # our own attachments land in the same bucket
        outcome = receive_stored_mail(bucket, key, clock.now())
        metrics.add_metric(name=f"SupportMail_{outcome.status}", unit=MetricUnit.Count, value=1)
        logger.info("support mail received", extra={"key": key, "status": outcome.status,
                                                    "auto_answered": outcome.auto_answered,
                                                    "problems": list(outcome.problems)})
        outcomes.append(outcome.status)
    return {"processed": outcomes}
