"""email_sender: renders each requested email and sends it through SES, exactly once."""
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from postpurchase import clock, services
from postpurchase.batch import process_batch
from postpurchase.errors import RetryLater
from postpurchase.messaging.preferences import with_preferences
from postpurchase.messaging.rendering import render_email
from postpurchase.messaging.requests import EmailRequest
from postpurchase.messaging.sending import deliver
from postpurchase.observability import MetricUnit, logger, metrics, tracer


class EmailRequestRecord(SqsRecordModel):
    body: Json[EmailRequest]


processor = BatchProcessor(event_type=EventType.SQS, model=EmailRequestRecord)

_METRIC = {"sent": "EmailsSent", "duplicate": "EmailDuplicatesSuppressed", "abandoned": "EmailOutcomeUnknown",
           "failed": "EmailsRefused"}


@tracer.capture_method
def record_handler(record: EmailRequestRecord) -> None:
    request = record.body
    logger.append_keys(merchant_id=request.merchant_id, message_key=request.message_key)
    merchant = services.merchant_store().get(request.merchant_id)
    if merchant is None:
        raise RetryLater(f"merchant {request.merchant_id} has no settings")
    recipient = services.customer_store().recipient(request.merchant_id, request.recipient_customer.customer_id(),
                                                    request.recipient)
    if recipient.suppressed:  # a hard bounce or a complaint: never again, whatever the kind
        metrics.add_metric(name="EmailsSuppressed", unit=MetricUnit.Count, value=1)
        logger.info("email request handled", extra={"outcome": "suppressed", "detail": recipient.suppressed})
        return
    request = with_preferences(request, recipient.profile.preferences if recipient.profile else None)
    if request is None:
        metrics.add_metric(name="EmailsOptedOut", unit=MetricUnit.Count, value=1)
        logger.info("email request handled", extra={"outcome": "opted_out"})
        return
    delivery = deliver(request, merchant.branding, ledger=services.send_ledger(), mailer=services.mailer(),
                       render=render_email, now=clock.now())
    metrics.add_metric(name=_METRIC[delivery.outcome], unit=MetricUnit.Count, value=1)
    logger.info("email request handled", extra={"outcome": delivery.outcome, "detail": delivery.detail})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return process_batch(event, context, processor=processor, record_handler=record_handler,
                         failure_metric="EmailRequestFailures")
