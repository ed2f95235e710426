"""campaign_fanout: one page of a merchant campaign's customers per message -> scheduled messages.

The message model and the domain load at the first batch, not at cold start (issue 17)."""
from postpurchase import clock, services
from postpurchase.batch import SqsBatch, process_batch
from postpurchase.observability import MetricUnit, logger, metrics, tracer


def _body():
    from postpurchase.messaging.campaigns import CampaignFanOut

    return CampaignFanOut


processor = SqsBatch(body=_body)


@tracer.capture_method
def record_handler(record) -> None:
    from postpurchase.messaging.campaign_fanout import fan_out_page

    message = record.body
    logger.append_keys(merchant_id=message.merchant_id, campaign_id=message.campaign_id, page=message.page)
    # store, schedule (MessageSchedule), enqueue (next page)
    outcome = fan_out_page(message, services.campaign_fanout_ports(), clock.now())
    metrics.add_metric(name="CampaignPagesProcessed", unit=MetricUnit.Count, value=1)
    logger.info("campaign page handled", extra={"outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return process_batch(event, context, processor=processor, record_handler=record_handler,
                         failure_metric="CampaignPageFailures")
