"""A phone-only Shopify checkout is acknowledged and ignored: nobody to email, and a 4xx would
make Shopify retry and finally disable the webhook."""
import json
from datetime import datetime, timezone
from pathlib import Path

from postpurchase.storefronts import shopify

PAYLOAD = Path(__file__).resolve().parents[2] / "events" / "storefronts" / "shopify" / "orders_create.json"


def test_order_without_any_email_yields_no_event():
    data = json.loads(PAYLOAD.read_text(encoding="utf-8"))
    data["email"] = None
    data["contact_email"] = None
    data["customer"]["email"] = None
    events = shopify.translate("orders/create", json.dumps(data).encode(), merchant_id="m", webhook_id="w",
                               received_at=datetime(2026, 11, 20, tzinfo=timezone.utc))
    assert events == []


def test_sku_with_spaces_is_accepted():
    data = json.loads(PAYLOAD.read_text(encoding="utf-8"))
    data["line_items"][0]["sku"] = "TSHIRT RED L"
    [event] = shopify.translate("orders/create", json.dumps(data).encode(), merchant_id="m", webhook_id="w",
                                received_at=datetime(2026, 11, 20, tzinfo=timezone.utc))
    assert event.order.items[0].sku == "TSHIRT RED L"
