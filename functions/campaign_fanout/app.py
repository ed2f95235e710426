"""campaign_fanout: one page of a merchant campaign's customers per message -> scheduled messages."""
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from pydantic import Json

from postpurchase import clock, services
from postpurchase.batch import SqsRecord, process_batch
from postpurchase.messaging.campaign_fanout import fan_out_page
from postpurchase.messaging.campaigns import CampaignFanOut
from postpurchase.observability import MetricUnit, logger, metrics, tracer


class CampaignFanOutRecord(SqsRecord):
    body: Json[CampaignFanOut]  # type: ignore[valid-type]


processor = BatchProcessor(event_type=EventType.SQS, model=CampaignFanOutRecord)


PORTS = services.campaign_fanout_ports()  # store, schedule (MessageSchedule), enqueue (next page)


@tracer.capture_method
def record_handler(record: CampaignFanOutRecord) -> None:
    message = record.body
    logger.append_keys(merchant_id=message.merchant_id, campaign_id=message.campaign_id, page=message.page)
    outcome = fan_out_page(message, PORTS, clock.now())
    metrics.add_metric(name="CampaignPagesProcessed", unit=MetricUnit.Count, value=1)
    logger.info("campaign page handled", extra={"outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return process_batch(event, context, processor=processor, record_handler=record_handler,
                         failure_metric="CampaignPageFailures")
