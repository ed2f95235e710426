"""A carrier webhook that arrives before the shipment's TrackShipment must not stop registration."""
from __future__ import annotations

from datetime import timedelta

from postpurchase.tracking.messages import CarrierUpdate
from postpurchase.tracking.model import TrackingEvent, TrackingStatus, TrackingUpdate


def test_webhook_first_then_track_shipment_still_registers_with_the_polling_provider(aws):
    assert aws.post_order(aws.api_order("W-1")).status_code == 202
    aws.pump.drain()
    shipped = aws.post_shipment("W-1", {"carrier": "ups", "tracking_number": "SBX-OK-WEBHOOK1"})
    assert shipped.status_code == 201
    aws.pump_queue("OrderEventsQueue")
    [track_shipment] = aws.take("TrackingQueue")  # held back: the webhook overtakes it

    scan = TrackingEvent(occurred_at=aws.now + timedelta(minutes=5), status=TrackingStatus.IN_TRANSIT,
                         description="Picked up", carrier_event_id="ep-1")
    update = TrackingUpdate(carrier="ups", tracking_number="SBX-OK-WEBHOOK1", provider="easypost",
                            provider_tracker_id="trk_from_easypost", status=TrackingStatus.IN_TRANSIT,
                            events=[scan], source="webhook")
    webhook = CarrierUpdate(merchant_id="demo-store", update=update).model_dump_json()
    assert aws.failed_ids(aws.invoke(aws.tracking_worker, aws.sqs_event([webhook], "TrackingQueue"))) == []
    assert aws.failed_ids(aws.invoke(aws.tracking_worker, aws.sqs_event([track_shipment], "TrackingQueue"))) == []

    [shipment] = [i for i in aws.items_of_type("shipment") if i["tracking_number"] == "SBX-OK-WEBHOOK1"]
    assert shipment["provider"] == "sandbox"  # registered with the merchant's own provider
    assert shipment["provider_tracker_id"].startswith("sbx_")  # not EasyPost's trk_ id
    assert shipment["status"] == "in_transit"  # what the webhook taught us was kept
