"""tracking_worker: registers, polls and updates shipments; sends the notice a change deserves.

The message models and the domain load at the first batch, not at cold start (issue 17)."""
import time
from functools import lru_cache

from postpurchase import clock, services
from postpurchase.batch import SqsBatch, process_batch
from postpurchase.observability import MetricUnit, logger, metrics, tracer


def _body():
    from postpurchase.tracking.messages import TrackingMessage

    return TrackingMessage


processor = SqsBatch(body=_body)


@lru_cache(maxsize=1)
def effects():
    from postpurchase.tracking.effects import QueueEffects

    return QueueEffects()


# Carrier calls end this long before the invocation would be killed, so the polls of a batch that
# ran out of time are saved as failed polls (rescheduled) instead of the whole batch dying.
SAVE_MARGIN_SECONDS = 3.0
_deadline: float | None = None


@tracer.capture_method
def record_handler(record) -> None:
    from postpurchase.tracking import service
    from postpurchase.tracking.messages import CarrierUpdate, PollShipment, TrackShipment

    message = record.body
    logger.append_keys(merchant_id=message.merchant_id, message_type=message.type,
                       shipment_id=getattr(message, "shipment_id", None))
    store, now = services.tracking_store(), clock.now()
    if isinstance(message, TrackShipment):
        outcome = service.start_tracking(message, store=store, carrier=services.carrier_client(message.merchant_id, deadline=_deadline),
                                         effects=effects(), now=now)
    elif isinstance(message, PollShipment):
        outcome = service.poll(message, store=store, carrier=services.carrier_client(message.merchant_id, deadline=_deadline),
                               effects=effects(), now=now)
    elif isinstance(message, CarrierUpdate):
        outcome = service.receive_update(message, store=store, effects=effects(), now=now)
    else:
        outcome = service.check_notice(message, store=store, effects=effects(), now=now)
    metrics.add_metric(name=f"Tracking_{outcome}", unit=MetricUnit.Count, value=1)
    logger.info("tracking message handled", extra={"outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    global _deadline
    remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else None
    _deadline = time.monotonic() + max(0.0, remaining - SAVE_MARGIN_SECONDS) if remaining else None
    return process_batch(event, context, processor=processor, record_handler=record_handler,
                         failure_metric="TrackingMessageFailures")
