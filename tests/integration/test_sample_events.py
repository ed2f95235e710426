"""Every sample event in events/ is accepted by its handler, and events/ is what the generator makes."""
from __future__ import annotations

import json
from pathlib import Path

from infra import sample_events
from infra.local.lambda_context import LambdaContext

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def test_events_folder_matches_the_generator():
    # A payload edited without regenerating would carry a stale webhook signature.
    for name, event in sample_events.build().items():
        assert (EVENTS / name).read_text(encoding="utf-8") == sample_events.render(event), name


def test_every_function_has_a_sample_event():
    names = list(sample_events.build())
    for function in (p.parent.name for p in (EVENTS.parent / "functions").glob("*/app.py")):
        assert any(name.startswith(f"{function}_") for name in names), function


def test_api_samples_are_answered_2xx_in_order(aws):
    def call(name: str) -> int:
        return aws.api.app(load(name), LambdaContext("api"))["statusCode"]

    assert call("api_place_order.json") == 202
    assert aws.pump.drain() >= 2  # the order event, then its confirmation request
    assert call("api_get_order.json") == 200
    assert call("api_create_shipment.json") == 201
    assert call("api_shopify_orders_create.json") == 200
    assert call("api_woocommerce_order_created.json") == 200
    assert call("api_woocommerce_ping.json") == 200
    assert call("api_openapi.json") == 200
    assert call("api_get_tracking.json") == 200
    assert call("api_easypost_tracker_updated.json") == 200
    assert call("api_aftership_tracking_update.json") == 200


def test_consumer_samples_are_processed_without_failures(aws):
    assert aws.invoke(aws.order_events, load("order_events_order_placed.json")) == {"batchItemFailures": []}
    assert aws.invoke(aws.email_sender, load("email_sender_order_confirmation.json")) == {"batchItemFailures": []}
    [email] = aws.sent_emails()
    assert "1001" in email["Subject"]


def test_tracking_samples_are_processed_without_failures(aws):
    from infra.local.lambda_context import LambdaContext

    assert aws.api.app(load("api_place_order.json"), LambdaContext("api"))["statusCode"] == 202
    aws.pump.drain()
    assert aws.api.app(load("api_create_shipment.json"), LambdaContext("api"))["statusCode"] == 201
    aws.pump.drain()
    assert aws.invoke(aws.tracking_worker, load("tracking_worker_track_and_poll.json")) == {"batchItemFailures": []}
    poller = load_function("functions/tracking_poller", "fn_tracking_poller")
    result = poller.lambda_handler(load("tracking_poller_scheduled.json"), LambdaContext("poller"))
    assert result["shards"] > 0 and result["enqueued"] >= 0


def test_message_scheduler_sample_is_processed(aws):
    from infra.local.lambda_context import LambdaContext

    scheduler = load_function("functions/message_scheduler", "fn_message_scheduler")
    result = scheduler.lambda_handler(load("message_scheduler_scheduled.json"), LambdaContext("scheduler"))
    assert result["enqueued"] == 0 and result["bucket_queries"] >= 8


def test_review_feed_sample_is_processed(aws):
    from infra.local.lambda_context import LambdaContext

    feed = load_function("functions/review_feed", "fn_review_feed")
    assert feed.lambda_handler(load("review_feed_scheduled.json"), LambdaContext("feed")) == {"feeds": 0,
                                                                                             "reviews": 0}


def load_function(path: str, name: str):
    from infra.local.runtime import load_function_module

    return load_function_module(path, name)


def test_insert_batch_sample_is_processed_without_failures(aws):
    from infra.local.runtime import load_function_module

    module = load_function_module("functions/insert_batches", "fn_insert_batches")
    # No such batch recorded: acknowledged, nothing rendered.
    assert aws.invoke(module, load("insert_batches_day.json")) == {"batchItemFailures": []}
