"""order_events: stores orders, customers and shipments; asks for the confirmation email; carries out
storefronts' privacy requests (erasure, data requests).

The event models and the domain load at the first batch, not at cold start (issue 17)."""
from postpurchase import clock, services
from postpurchase.batch import SqsBatch, process_batch
from postpurchase.observability import MetricUnit, logger, metrics, tracer


def _body():
    from postpurchase.orders.events import OrderEvent

    return OrderEvent


PRIVACY_EVENTS = frozenset({"CustomerRedactRequested", "CustomerDataRequested", "ShopRedactRequested"})
processor = SqsBatch(body=_body)


def _order_page(merchant_id: str, order_id: str) -> str:
    from postpurchase.messaging.links import customer_order_link

    return customer_order_link(merchant_id, order_id, clock.now())


def _request_email(request) -> None:
    services.outbound_email_queue().publish(request.model_dump_json(), kind=request.kind,
                                            merchant_id=request.merchant_id)


def _messaging_settings(merchant_id: str):
    return services.messaging_settings(merchant_id)


def _confirmation(recorded, order_page_url: str, now):
    """The merchant's confirmation variant, with its coupon / referral code / products when the
    variant needs them; any extra that fails means the fallback variant, never a lost email."""
    from postpurchase.messaging.confirmation import compose_confirmation

    return compose_confirmation(recorded, order_page_url, now,
                                settings=lambda: _messaging_settings(recorded.merchant_id),
                                coupons=services.coupon_issuer, referrals=services.referral_codes,
                                recommender=services.recommender)


def _start_tracking(merchant_id: str, order_id: str, shipment_id: str) -> None:
    from postpurchase.orders.reactions import after_shipment_recorded
    from postpurchase.tracking.messages import TrackShipment

    message = TrackShipment(merchant_id=merchant_id, order_id=order_id, shipment_id=shipment_id)
    services.tracking_queue().publish(message.model_dump_json(), kind=message.type, merchant_id=merchant_id)
    after_shipment_recorded(merchant_id, order_id, shipment_id, clock.now())


def _report_status(merchant_id: str, shipment) -> None:
    from postpurchase.tracking.messages import CarrierUpdate
    from postpurchase.tracking.storefront_status import storefront_update

    update = storefront_update(shipment, clock.now())
    if update is not None:
        message = CarrierUpdate(merchant_id=merchant_id, update=update)
        services.tracking_queue().publish(message.model_dump_json(), kind=message.type, merchant_id=merchant_id)


def _sync_return(event) -> None:
    from postpurchase.returns.messages import ReturnChanged
    from postpurchase.returns.storefront_sync import apply_storefront_change

    def notify(change: ReturnChanged) -> None:
        services.return_events_queue().publish(change.model_dump_json(), kind=change.type,
                                               merchant_id=change.merchant_id)

    outcome = apply_storefront_change(event, store=services.return_store(), policies=services.policy_store(),
                                      notify=notify, now=clock.now())
    logger.info("storefront return change", extra={"action": event.action, "outcome": outcome})


def _privacy(event) -> None:
    from postpurchase.privacy.service import handle_privacy_event
    from postpurchase.storage.privacy import DynamoPrivacyStore

    def publish(events) -> None:
        queue = services.order_events_queue()
        for follow in events:
            queue.publish(follow.model_dump_json(), kind=follow.type, merchant_id=follow.merchant_id)

    outcome = handle_privacy_event(event, store=DynamoPrivacyStore(), customers=services.campaign_store(),
                                   publish=publish, now=clock.now())
    logger.info("privacy event processed", extra={"outcome": outcome})


@tracer.capture_method
def record_handler(record) -> None:
    from postpurchase.orders.processing import handle_order_event
    from postpurchase.orders.reactions import after_order_cancelled, after_order_recorded

    event = record.body
    if event.type in PRIVACY_EVENTS:
        logger.append_keys(merchant_id=event.merchant_id, event_type=event.type)
        return _privacy(event)
    logger.append_keys(merchant_id=event.merchant_id, event_type=event.type,
                       order_id=event.order.order_id if event.type == "OrderPlaced" else event.order_id)
    outcome = handle_order_event(event, store=services.order_store(), request_email=_request_email,
                                 order_page_url=_order_page, start_tracking=_start_tracking, report_status=_report_status,
                                 policy_version_at=services.policy_store().version_in_force, sync_return=_sync_return,
                                 after_recorded=after_order_recorded, after_cancelled=after_order_cancelled,
                                 confirmation=_confirmation, now=clock.now())
    metrics.add_metric(name="OrderEventsProcessed", unit=MetricUnit.Count, value=1)
    logger.info("order event processed", extra={"outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return process_batch(event, context, processor=processor, record_handler=record_handler,
                         failure_metric="OrderEventFailures")
