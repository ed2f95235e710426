"""Structured logs carry merchant and order, never the customer's email; metrics are emitted."""
from __future__ import annotations

import io
import json

import pytest


@pytest.fixture
def logs_and_metrics(aws, capsys, monkeypatch):
    """JSON lines the handlers wrote: Powertools logs (its handler's stream) and EMF metrics (stdout)."""
    from postpurchase.observability import logger, metrics

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)
    logger.setLevel("INFO")
    metrics.clear_metrics()
    capsys.readouterr()

    def read() -> list[dict]:
        text = buffer.getvalue() + capsys.readouterr().out
        buffer.seek(0)
        buffer.truncate()
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    yield read
    logger.setLevel("WARNING")
    handler.setStream(previous)


def test_order_flow_logs_keys_without_pii_and_emits_metrics(aws, logs_and_metrics):
    order = aws.api_order("obs-1", email="private.person@example.com",
                          customer=dict(aws.api_order()["customer"], email="private.person@example.com"))
    assert aws.post_order(order).status_code == 202
    aws.pump.drain()
    records = logs_and_metrics()

    processed = [r for r in records if r.get("message") == "order event processed"]
    assert processed and processed[0]["merchant_id"] == "demo-store" and processed[0]["order_id"] == "obs-1"
    sent = [r for r in records if r.get("message") == "email request handled"]
    assert sent and sent[0]["outcome"] == "sent" and sent[0]["merchant_id"] == "demo-store"
    assert all("private.person@example.com" not in json.dumps(r) for r in records)

    metric_names = {m["Name"] for r in records if "_aws" in r
                    for d in r["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"OrdersAccepted", "OrderEventsProcessed", "EmailsSent", "OrderEventFailures"} <= metric_names


def test_failures_are_counted(aws, logs_and_metrics):
    good = aws.api_order("obs-2")
    from postpurchase.orders.events import OrderPlaced
    from postpurchase.orders.models import Order

    event = OrderPlaced(event_id="e", merchant_id="demo-store", source="api", received_at=aws.now,
                        order=Order.model_validate(good))
    result = aws.invoke(aws.order_events, aws.sqs_event([event.model_dump_json(), "not json"]))
    assert len(result["batchItemFailures"]) == 1
    emitted = [r for r in logs_and_metrics() if "OrderEventFailures" in r]
    assert emitted and emitted[-1]["OrderEventFailures"] == [1.0]
