"""Returns: AWS requests per operation, and return parcels followed by the tracking capability."""
from __future__ import annotations

import json
from datetime import timedelta

from infra.aws_requests import count_aws_requests

REQUEST = {"items": [{"sku": "MUG-1", "quantity": 1}], "reason": "damaged", "resolution": "refund"}


def shipped_order(aws, order_id: str = "1001") -> None:
    assert aws.post_order(aws.api_order(order_id)).status_code == 202
    aws.pump.drain()
    assert aws.post_shipment(order_id, {"carrier": "ups", "tracking_number": f"SBX-OK-{order_id}"}).status_code == 201
    aws.pump.drain()


def request_return(aws, order_id: str = "1001", key: str | None = None, body: dict = REQUEST):
    headers = aws.auth() | ({"Idempotency-Key": key} if key else {})
    return aws.client.post(f"/v1/orders/{order_id}/returns", headers=headers, body=aws.encode(body))


def step(aws, rma_id: str, action: dict, order_id: str = "1001"):
    return aws.client.post(f"/v1/orders/{order_id}/returns/{rma_id}/transitions", headers=aws.auth(),
                           body=aws.encode(action))


def test_a_return_request_is_one_query_one_transaction_and_one_message(aws):
    shipped_order(aws)
    aws.client.get("/v1/orders/1001/returns", headers=aws.auth())  # the API key is cached per container

    with count_aws_requests() as requests:
        response = request_return(aws, key="budget-1")
    assert response.status_code == 201, response.body
    assert dict(requests) == {("DynamoDB", "Query"): 1, ("DynamoDB", "TransactWriteItems"): 1,
                              ("SQS", "SendMessage"): 1}

    with count_aws_requests() as reads:
        assert aws.client.get("/v1/orders/1001/returns", headers=aws.auth()).status_code == 200
    assert dict(reads) == {("DynamoDB", "Query"): 1}


def test_a_step_is_one_query_one_conditional_update_and_one_message(aws):
    shipped_order(aws)
    rma = json.loads(request_return(aws).body)
    with count_aws_requests() as requests:
        assert step(aws, rma["rma_id"], {"action": "issue_drop_off_code", "drop_off_code": "QR-7781"}).status_code == 200
    assert dict(requests) == {("DynamoDB", "Query"): 1, ("DynamoDB", "UpdateItem"): 1, ("SQS", "SendMessage"): 1}


def test_a_carrier_label_is_tracked_and_its_scans_move_the_rma_without_delivery_notices(aws):
    shipped_order(aws)
    rma = json.loads(request_return(aws).body)
    assert rma["status"] == "approved"  # the default policy auto-approves
    label = {"action": "issue_label", "carrier": "dhl", "tracking_number": "SBX-OK-RETURN-1001"}
    assert step(aws, rma["rma_id"], label).status_code == 200
    aws.pump.drain()

    parcels = [item for item in aws.items_of_type("shipment") if item["shipment_id"] == f"return-{rma['rma_id']}"]
    assert len(parcels) == 1 and parcels[0]["tracking_number"] == "SBX-OK-RETURN-1001"
    emails_before = len(aws.sent_emails())

    poller = __import__("infra.local.runtime", fromlist=["load_function_module"]).load_function_module(
        "functions/tracking_poller", "fn_tracking_poller_returns")
    for _ in range(6 * 12):  # six days of sweeps every two hours
        aws.clock.advance(timedelta(hours=2))
        aws.invoke(poller, {})
        aws.pump.drain()

    current = json.loads(aws.client.get(f"/v1/orders/1001/returns/{rma['rma_id']}", headers=aws.auth()).body)
    by_carrier = [(t["to_status"], t["actor"]["kind"]) for t in current["history"] if t["actor"]["kind"] == "carrier"]
    assert by_carrier == [("in_transit", "carrier"), ("received", "carrier")]
    new_keys = [email["X-Postpurchase-Message"] for email in aws.sent_emails()[emails_before:]]
    # The customer hears that the shop received the return, and nothing about the return
    # parcel's own delivery: those notices are for the customer's parcels.
    assert any("return_received#" in (key or "") for key in new_keys), new_keys
    assert not any("shipment_" in (key or "") and "return-" in (key or "") for key in new_keys)
    # The return parcel does not count as shipping the item again.
    items = json.loads(aws.client.get("/v1/orders/1001/returns", headers=aws.auth()).body)["items"]
    assert items[0]["returnable_quantity"] == 1


def test_the_carrier_does_not_move_a_return_the_merchant_already_received(aws):
    shipped_order(aws)
    rma = json.loads(request_return(aws).body)
    assert step(aws, rma["rma_id"], {"action": "issue_label", "carrier": "dhl",
                                     "tracking_number": "SBX-OK-RETURN-1002"}).status_code == 200
    assert step(aws, rma["rma_id"], {"action": "receive"}).status_code == 200
    aws.pump.drain()
    from postpurchase.returns.messages import ReturnParcelMoved

    late_scan = ReturnParcelMoved(merchant_id="demo-store", order_id="1001", rma_id=rma["rma_id"],
                                  status="delivered", at=aws.clock.now())
    aws.send("ReturnEventsQueue", late_scan.model_dump_json())
    aws.pump.drain()
    current = json.loads(aws.client.get(f"/v1/orders/1001/returns/{rma['rma_id']}", headers=aws.auth()).body)
    assert [t["to_status"] for t in current["history"]][-1] == "received"
    assert not [t for t in current["history"] if t["actor"]["kind"] == "carrier"]


def test_a_poison_return_message_fails_alone_and_its_neighbour_is_handled(aws):
    shipped_order(aws)
    rma = json.loads(request_return(aws).body)
    aws.take("ReturnEventsQueue")  # handled below, by hand
    from postpurchase.returns.messages import ReturnChanged

    good = ReturnChanged(merchant_id="demo-store", order_id="1001", rma_id=rma["rma_id"], from_revision=0,
                         to_revision=len(rma["history"])).model_dump_json()
    module = __import__("infra.local.runtime", fromlist=["load_function_module"]).load_function_module(
        "functions/return_events", "fn_return_events_poison")
    event = aws.sqs_event(['{"type": "ReturnChanged", "rma_id": 7}', good, good], "ReturnEventsQueue")
    assert aws.deliver(module, event) == [event["Records"][0]["messageId"]]
    aws.pump.drain()
    keys = [message["X-Postpurchase-Message"] for message in aws.sent_emails()]
    assert keys.count(f"demo-store/return_requested#{rma['rma_id']}") == 1  # the duplicate sent nothing
