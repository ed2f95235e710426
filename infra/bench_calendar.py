"""`make bench`, section 7: the communication calendar (scheduled messages).

Measured on in-process moto with the real handlers: N review requests for N delivered orders
fall due within one day bucket; message_scheduler sweeps once; email_sender handles each MessageDue.
AWS requests are counted at botocore's choke point (infra/aws_requests.py). From the measured
requests and item sizes it computes the cost of 1,000,000 messages due in one day - without
writing a million items (a sweep's cost is linear in what is due plus a fixed number of
Queries per run: shards x day buckets read).
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

REGION = "us-east-1"
START = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
MESSAGES_PER_DAY = 1_000_000
SWEEPS_PER_DAY = 24 * 60 // 5  # rate(5 minutes)


@dataclass
class CalendarResult:
    messages: int
    sweep_requests: Counter
    sender_requests: Counter  # all MessageDue handled (sum)
    sweep_ms: float
    sender_ms: float  # sum
    empty_sweep_requests: Counter
    empty_sweep_ms: float
    schedule_item_bytes: int
    index_entry_bytes: int
    emails: int
    extra: dict[str, Any] = field(default_factory=dict)


def measure(messages: int = 20) -> CalendarResult:
    from moto import mock_aws

    from infra.aws_requests import count_aws_requests
    from infra.bench import dynamodb_item_size
    from infra.local.resources import create_resources, function_environment
    from infra.local.runtime import aws_environment, load_function_module, reset_process_caches
    from infra.local.lambda_context import LambdaContext
    from infra.local.pump import sqs_record
    from infra.template import load_template

    template = load_template()
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(aws_environment(None))
    os.environ.update({"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "Bench",
                       "POWERTOOLS_LOG_LEVEL": "WARNING"})
    with mock_aws():
        parameters = {"LinkSigningSecret": "bench-link-signing-secret-0123456789abcdef"}
        names = create_resources(template, REGION, parameters)
        os.environ.update(function_environment(template, names, {**parameters, "PublicBaseUrl": "http://bench"}))
        reset_process_caches()
        import boto3

        from infra.local.seed import seed_demo_store
        from postpurchase import clock as clock_module
        from postpurchase import services
        from postpurchase.clock import SimulatedClock
        from postpurchase.messaging import schedule as rules
        from postpurchase.orders.models import Order

        simulated = SimulatedClock(START)
        clock_module.use(simulated)
        try:
            seed_demo_store(START)
            sample = json.loads((_repo() / "events" / "storefronts" / "api" / "order.json").read_text("utf-8"))
            due = START + timedelta(days=7, minutes=5)
            for i in range(messages):
                email = f"bench-{i}@example.com"  # one customer each: the frequency cap is per customer
                order = Order.model_validate({**sample, "order_id": f"B-{i:05d}", "placed_at": START.isoformat(),
                                              "email": email,
                                              "customer": {**sample["customer"], "id": f"c-{i}", "email": email}})
                services.order_store().record_order("demo-store", order, START)
                services.order_store().record_delivery("demo-store", order.order_id, START)
                services.message_schedule().schedule(
                    rules.review_request_message("demo-store", order.order_id, order.customer.customer_id(),
                                                 due + timedelta(seconds=i)), START)
            dynamo = boto3.client("dynamodb", region_name=REGION)
            raw = dynamo.get_item(TableName=names["Table"], Key={"pk": {"S": "M#demo-store#O#B-00000"},
                                                                 "sk": {"S": "SCHED#review_request#B-00000"}})["Item"]
            item_bytes = dynamodb_item_size(raw)
            index_bytes = dynamodb_item_size({k: raw[k] for k in ("pk", "sk", "gsi3pk", "gsi3sk")})

            scheduler = load_function_module("functions/message_scheduler", "fn_bench_message_scheduler")
            sender = load_function_module("functions/email_sender", "fn_bench_email_sender")
            simulated.set(due - timedelta(hours=2))
            scheduler.lambda_handler({}, LambdaContext("scheduler"))  # warm-up, nothing due
            with count_aws_requests() as empty:
                started = time.perf_counter()
                scheduler.lambda_handler({}, LambdaContext("scheduler"))
                empty_ms = (time.perf_counter() - started) * 1000
            simulated.set(due + timedelta(minutes=5))
            with count_aws_requests() as sweep_counts:
                started = time.perf_counter()
                result = scheduler.lambda_handler({}, LambdaContext("scheduler"))
                sweep_ms = (time.perf_counter() - started) * 1000
            assert result["enqueued"] == messages, result
            sqs = boto3.client("sqs", region_name=REGION)
            bodies = []
            while True:
                got = sqs.receive_message(QueueUrl=names["OutboundEmailQueue"], MaxNumberOfMessages=10).get(
                    "Messages", [])
                if not got:
                    break
                for message in got:
                    bodies.append(message)
                    sqs.delete_message(QueueUrl=names["OutboundEmailQueue"], ReceiptHandle=message["ReceiptHandle"])
            arn = names["OutboundEmailQueue.Arn"]
            sender_counts: Counter = Counter()
            sender_ms = 0.0
            for message in bodies:  # one MessageDue per invocation: the per-message figure
                event = {"Records": [sqs_record(message, arn, REGION)]}
                with count_aws_requests() as counts:
                    started = time.perf_counter()
                    sender.lambda_handler(event, LambdaContext("sender"))
                    sender_ms += (time.perf_counter() - started) * 1000
                sender_counts.update(counts)
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.ses.models import ses_backends

            emails = len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)
        finally:
            clock_module.reset()
    reset_process_caches()
    return CalendarResult(messages, sweep_counts, sender_counts, sweep_ms, sender_ms, empty, empty_ms, item_bytes,
                          index_bytes, emails)


def _repo():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]


def _fmt_requests(counts: Counter, per: int) -> str:
    return ", ".join(f"{op} {n / per:g}" for (service, op), n in sorted(counts.items())) or "none"


def daily_cost(result: CalendarResult, prices: Mapping[str, Any]) -> dict[str, float]:
    """The scheduler's AWS cost for MESSAGES_PER_DAY due in a day, from the measured figures."""
    from infra.bench import unit_price

    n = MESSAGES_PER_DAY
    # Reads: every sweep Queries shards x (about one) day bucket even when nothing is due; a
    # keys-only page of due entries costs its bytes / 4 KB, eventually consistent (x 0.5).
    empty_queries = result.empty_sweep_requests.get(("DynamoDB", "Query"), 0)
    query_rru = SWEEPS_PER_DAY * empty_queries * 0.5 + math.ceil(n * result.index_entry_bytes / 4096) * 0.5
    # Writes per message by the scheduler: the claim UpdateItem (item size, 1 KB units) plus the
    # index entry moved to the retry bucket (a GSI delete + a GSI put).
    claim_wru = n * (math.ceil(result.schedule_item_bytes / 1024) + 2)
    cursor_wru = 1  # the cursor is written when the UTC day changes
    sqs_requests = math.ceil(n / 10)  # SendMessageBatch, ten per request
    lambda_requests = SWEEPS_PER_DAY
    per_message_ms = result.sweep_ms / max(result.messages, 1)
    gb_seconds = (SWEEPS_PER_DAY * result.empty_sweep_ms + n * per_message_ms) / 1000 * 512 / 1024
    return {
        "dynamodb_reads": query_rru * unit_price(prices, "dynamodb_read_request_unit"),
        "dynamodb_writes": (claim_wru + cursor_wru) * unit_price(prices, "dynamodb_write_request_unit"),
        "sqs": sqs_requests * unit_price(prices, "sqs_standard_request"),
        "lambda": lambda_requests * unit_price(prices, "lambda_request")
        + gb_seconds * unit_price(prices, "lambda_gb_second_arm64"),
        "_query_rru": query_rru, "_claim_wru": claim_wru, "_gb_seconds": gb_seconds, "_sqs_requests": sqs_requests,
    }


def render(result: CalendarResult, prices: Mapping[str, Any]) -> str:
    cost = daily_cost(result, prices)
    total = sum(v for k, v in cost.items() if not k.startswith("_"))
    n = result.messages
    sweep_total = sum(result.sweep_requests.values())
    sender_total = sum(result.sender_requests.values())
    lines = [
        "## 7. Communication calendar (scheduled messages)",
        "",
        f"{n} review requests due in one day bucket; one message_scheduler run, then email_sender handles each "
        f"MessageDue in its own invocation (in-process moto, real handlers and templates). Emails sent: "
        f"{result.emails}.",
        "",
        "| step | AWS requests per message | by operation (per message) |",
        "|---|---|---|",
        f"| message_scheduler (claim + enqueue) | {sweep_total / n:.2f} | {_fmt_requests(result.sweep_requests, n)} |",
        f"| email_sender (decide + send + settle) | {sender_total / n:.2f} | "
        f"{_fmt_requests(result.sender_requests, n)} |",
        f"| **due to sent** | **{(sweep_total + sender_total) / n:.2f}** | |",
        "",
        f"A sweep with nothing due: {sum(result.empty_sweep_requests.values())} requests "
        f"({_fmt_requests(result.empty_sweep_requests, 1)}), {result.empty_sweep_ms:.0f} ms. "
        f"Sweep with {n} due: {result.sweep_ms:.0f} ms; email_sender {result.sender_ms / n:.0f} ms per message "
        f"(moto in-process, not Lambda).",
        "",
        f"Scheduler cost for {MESSAGES_PER_DAY:,} messages due in a day ({SWEEPS_PER_DAY} sweeps; schedule item "
        f"{result.schedule_item_bytes} B, index entry {result.index_entry_bytes} B; computed from the measured "
        f"figures, not written):",
        "",
        "| item | quantity | USD per day |",
        "|---|---|---|",
        f"| DynamoDB reads (gsi3 Queries) | {cost['_query_rru']:,.0f} RRU | {cost['dynamodb_reads']:.4f} |",
        f"| DynamoDB writes (claims incl. index move, cursor) | {cost['_claim_wru'] + 24:,.0f} WRU | "
        f"{cost['dynamodb_writes']:.4f} |",
        f"| SQS SendMessageBatch | {cost['_sqs_requests']:,} | {cost['sqs']:.4f} |",
        f"| Lambda (requests + {cost['_gb_seconds']:,.0f} GB-s at 512 MB) | {SWEEPS_PER_DAY} | {cost['lambda']:.4f} |",
        f"| **total** | | **{total:.2f}** |",
        "",
    ]
    return "\n".join(lines)


def run() -> CalendarResult:
    messages = int(os.environ.get("BENCH_CALENDAR_MESSAGES", "20"))
    print(f"bench: communication calendar ({messages} messages)...", file=sys.stderr)
    return measure(messages)


if __name__ == "__main__":
    from infra.bench import load_prices
    from infra.local.runtime import LAYER_PATH

    sys.path.insert(0, str(LAYER_PATH))
    print(render(run(), load_prices()))
