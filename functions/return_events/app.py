"""return_events: acts on RMA changes - customer notices, ReturnResolved, the merchant's webhook -
and delivers the merchant's feedback webhook.

The message models and the domain load at the first batch, not at cold start (issue 17)."""
from postpurchase import clock, services
from postpurchase.batch import SqsBatch, process_batch
from postpurchase.observability import MetricUnit, logger, metrics, tracer


def _body():
    from postpurchase.returns.messages import ReturnMessage

    return ReturnMessage


processor = SqsBatch(body=_body)


class AwsPorts:
    """The effects' ports, served by this function's adapters."""

    store = property(lambda self: services.return_store())
    policies = property(lambda self: services.policy_store())

    def request_email(self, request) -> None:
        services.outbound_email_queue().publish(request.model_dump_json(), kind=request.kind,
                                                merchant_id=request.merchant_id)

    def publish_event(self, detail_type: str, detail: dict) -> None:
        from postpurchase.returns import handoff

        services.event_publisher().put(source=handoff.EVENT_SOURCE, detail_type=detail_type, detail=detail)

    def return_resolved(self, merchant_id: str, order_id: str, rma, now) -> None:
        from postpurchase.orders.reactions import after_return_resolved

        after_return_resolved(merchant_id, order_id, rma, now)

    def enqueue(self, message) -> None:
        services.return_events_queue().publish(message.model_dump_json(), kind=message.type,
                                               merchant_id=message.merchant_id)

    def track_return_parcel(self, merchant_id: str, order_id: str, rma_id: str, carrier: str, tracking_number: str,
                            now) -> None:
        from postpurchase.orders.models import Shipment
        from postpurchase.tracking.messages import TrackShipment

        parcel = Shipment(shipment_id=f"return-{rma_id}", carrier=carrier, tracking_number=tracking_number,
                          created_at=now, rma_id=rma_id)
        services.order_store().record_shipment(merchant_id, order_id, parcel, now)
        start = TrackShipment(merchant_id=merchant_id, order_id=order_id, shipment_id=parcel.shipment_id)
        services.tracking_queue().publish(start.model_dump_json(), kind=start.type, merchant_id=merchant_id)

    def count(self, tally, now) -> None:
        from postpurchase.analytics.recording import count

        count(tally, now)

    def webhook_target(self, merchant_id: str):
        from postpurchase.storage.merchants import webhook_target

        merchant = services.merchant_store().get(merchant_id)
        return webhook_target(merchant) if merchant else None

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return services.webhook_sender().post(url, body, headers)

    def webhook_delivered(self, merchant_id: str, order_id: str, delivery_id: str) -> bool:
        return services.webhook_deliveries().delivered(merchant_id, order_id, delivery_id)

    def record_webhook_delivered(self, merchant_id: str, order_id: str, delivery_id: str, now) -> None:
        services.webhook_deliveries().record(merchant_id, order_id, delivery_id, now)

    def enqueue_later(self, message, delay_seconds: int) -> None:
        services.return_events_queue().publish(message.model_dump_json(), kind=message.type,
                                               merchant_id=message.merchant_id,
                                               delay_seconds=min(delay_seconds,
                                                                 services.settings().webhook_retry_max_delay_seconds))


PORTS = AwsPorts()


@tracer.capture_method
def record_handler(record) -> None:
    from postpurchase.feedback.delivery import deliver_webhook as deliver_feedback_webhook
    from postpurchase.feedback.messages import DeliverFeedbackWebhook
    from postpurchase.messaging.links import customer_order_link
    from postpurchase.returns.effects import deliver_webhook, handle_parcel_moved, handle_return_changed
    from postpurchase.returns.messages import DeliverReturnWebhook, ReturnParcelMoved
    from postpurchase.surveys.delivery import deliver_webhook as deliver_survey_webhook
    from postpurchase.surveys.messages import DeliverSurveyWebhook
    from postpurchase.support.webhook import DeliverSupportWebhook, deliver_webhook as deliver_support_webhook

    message = record.body
    logger.append_keys(merchant_id=message.merchant_id, order_id=message.order_id,
                       conversation_id=getattr(message, "conversation_id", None),
                       rma_id=getattr(message, "rma_id", None), message_type=message.type)
    now = clock.now()
    if isinstance(message, DeliverFeedbackWebhook):
        outcome = deliver_feedback_webhook(message, PORTS, now)
    elif isinstance(message, DeliverSurveyWebhook):
        outcome = deliver_survey_webhook(message, PORTS, now)
    elif isinstance(message, DeliverSupportWebhook):
        outcome = deliver_support_webhook(message, PORTS, now)
    elif isinstance(message, DeliverReturnWebhook):
        outcome = deliver_webhook(message, PORTS, now)
    elif isinstance(message, ReturnParcelMoved):
        outcome = handle_parcel_moved(message, PORTS, now)
    else:
        outcome = handle_return_changed(message, PORTS, lambda m, o: customer_order_link(m, o, now), now)
    metrics.add_metric(name="ReturnMessagesProcessed", unit=MetricUnit.Count, value=1)
    logger.info("return message handled", extra={"outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return process_batch(event, context, processor=processor, record_handler=record_handler,
                         failure_metric="ReturnMessageFailures")
