"""Shopify's fulfilment shipment_status becomes a tracking update through the mapping table."""
import json
from datetime import datetime, timezone
from pathlib import Path

from postpurchase.storefronts import shopify
from postpurchase.tracking.model import TrackingStatus
from postpurchase.tracking.storefront_status import storefront_update

UPDATE = Path(__file__).resolve().parents[2] / "events" / "storefronts" / "shopify" / "fulfillments_update.json"
NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)


def shipment_from(**changes):
    payload = json.loads(UPDATE.read_text(encoding="utf-8"))
    payload.update(changes)
    [event] = shopify.translate("fulfillments/update", json.dumps(payload).encode(), merchant_id="m",
                                webhook_id="w", received_at=NOW)
    return event.shipment


def test_shipment_status_becomes_one_scan_at_the_fulfilments_update_time():
    shipment = shipment_from(shipment_status="out_for_delivery")
    update = storefront_update(shipment, NOW)
    assert update.provider == "shopify" and update.source == "webhook"
    assert update.status == TrackingStatus.OUT_FOR_DELIVERY
    [event] = update.events
    assert event.occurred_at == shipment.carrier_status_at != NOW
    assert event.carrier_code == "out_for_delivery"
    # The same Shopify status for the same fulfilment is the same scan (deduplicated).
    assert event.identity() == storefront_update(shipment_from(shipment_status="out_for_delivery"), NOW).events[0].identity()


def test_no_status_no_update_and_unknown_status_keeps_the_raw_code():
    assert storefront_update(shipment_from(shipment_status=None), NOW) is None
    update = storefront_update(shipment_from(shipment_status="teleported"), NOW)
    assert update.events[0].carrier_code == "teleported"
