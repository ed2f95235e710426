"""ses_feedback: SES bounce and complaint notifications (SNS -> SQS) suppress the address."""
from __future__ import annotations

from typing import TYPE_CHECKING

from postpurchase import services
from postpurchase.analytics.recording import count_feedback
from postpurchase.batch import SqsBatch, process_batch
from postpurchase.messaging.feedback import suppressions
from postpurchase.observability import MetricUnit, logger, metrics, tracer

if TYPE_CHECKING:  # Powertools' data classes load with the batch processor, at the first batch
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

processor = SqsBatch()


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    found = suppressions(record.body)
    for suppression in found:
        if suppression.merchant_id is None:
            # Not an email we sent (no merchant tag): nothing of ours to protect.
            logger.warning("feedback without a merchant tag", extra={"reason": suppression.reason})
            continue
        services.customer_store().suppress(suppression.merchant_id, suppression.email, suppression.reason,
                                           suppression.detail, suppression.at)
        # The console's messages view (idempotent per SES message, like the suppression).
        services.send_ledger().record_feedback(suppression.merchant_id, suppression.email, suppression.reason,
                                               suppression.detail, suppression.at, suppression.message_id,
                                               suppression.kind)
        metrics.add_metric(name=f"AddressesSuppressed_{suppression.reason}", unit=MetricUnit.Count, value=1)
        count_feedback(suppression)
    logger.info("ses feedback handled", extra={"suppressed": len(found)})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return process_batch(event, context, processor=processor, record_handler=record_handler,
                         failure_metric="SesFeedbackFailures")
