"""Support over the local runtime's HTTP API: a customer's WISMO question from a chat widget is
answered in the outbox from the parcel's live status, threaded and marked automatic."""
from __future__ import annotations

import pytest

from tests.e2e.test_local_runtime import fresh_order

pytestmark = pytest.mark.e2e


def test_a_wismo_message_is_answered_in_the_outbox(local_api):
    order = fresh_order()
    assert local_api.call("POST", "/v1/orders", order)[0] == 202
    local_api.emails_for(f"demo-store/order_confirmation#{order['order_id']}")  # the order is stored by now
    status, shipped = local_api.call("POST", f"/v1/orders/{order['order_id']}/shipments",
                                     {"carrier": "usps", "tracking_number": f"SBX-OK-{order['order_id'][-5:]}"})
    assert status == 201, shipped
    for _ in range(100):  # the shipment is recorded by the order-events consumer
        if local_api.call("GET", f"/v1/orders/{order['order_id']}/tracking")[1].get("shipments"):
            break
    status, body = local_api.call("POST", "/v1/support/messages", {
        "email": order["email"], "order_id": order["order_id"], "text": "Hi! Where is my order? It hasn't arrived."})
    assert status == 201, body
    assert body["intent"] == "where_is_my_order" and body["auto_answered"] is True
    status, thread = local_api.call("GET", f"/v1/support/conversations/{body['conversation_id']}")
    assert status == 200
    [question, answer] = thread["messages"]
    assert (question["author"], answer["author"]) == ("customer", "automation")
    [email] = local_api.emails_for(f"demo-store/support_reply#{body['conversation_id']}.{answer['message_id']}")
    assert email["Auto-Submitted"] == "auto-replied" and email["Message-ID"] == answer["email_message_id"]
    assert f"SBX-OK-{order['order_id'][-5:]}" in email.get_body(("plain",)).get_content()
