"""`make bench`, section 9: customer support - AWS requests and cost per 1,000 support messages.

In-process moto with the real handlers (the API through Chalice's test client, the
support_inbound function invoked with the EventBridge event S3 sends, the queues pumped as
Lambda would), every request counted at botocore's choke point and DynamoDB request units priced
from the items' sizes (infra/bench.py's recorder). Three kinds of message, each measured on
BENCH_SUPPORT_MESSAGES messages (default 3) of different customers after one warm-up of each:

- a "where is my order?" through POST /v1/support/messages, answered automatically from the
  parcel's tracking (receive_message, the answer on the outbound queue, email_sender -> SES);
- a damaged-item message through the same route, handed to a person (no email);
- an email with a photo attached, through support_inbound (S3 GetObject of the raw mail,
  PutObject of the attachment, receive_message).

Cost per 1,000 messages of each kind from infra/aws_prices.json (bench.cost_per_thousand), plus,
for mail, what SES receiving costs (per email and per 256 KB chunk) and SES's PutObject of the
raw mail into the bucket (billed to the bucket's owner). The bench fails loudly when a message is
not handled as expected (answered, handed over, one GetObject per mail).
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from collections import Counter
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Mapping

REGION = "us-east-1"
START = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
DOMAIN = "support.bench.test"
MERCHANT = "demo-store"
KINDS = ("wismo", "damaged", "email")
LABELS = {"wismo": "WISMO via the API, answered automatically",
          "damaged": "damaged item via the API, to a person",
          "email": "email with a photo via support_inbound, to a person"}
SES_CHUNK_BYTES = 256 * 1024
PHOTO = bytes(range(256)) * 160  # a 40 KB "photo"


@dataclass
class SupportResult:
    messages: int
    operations: dict[str, list] = field(default_factory=dict)  # kind -> [bench.Operation]
    mail_bytes: int = 0
    memory_mb: dict[str, int] = field(default_factory=dict)


def inbound_mail_lines(mail_bytes: int, prices: Mapping[str, Any]) -> list:
    """What receiving 1,000 such emails costs outside our functions: SES per email and per 256 KB
    chunk, and SES's PutObject of the raw mail into our bucket (bench.CostLine, per 1,000)."""
    from infra.bench import CostLine, unit_price

    chunks = max(1, math.ceil(mail_bytes / SES_CHUNK_BYTES))
    lines = []
    for service, item, quantity, unit, name in (
            ("SES", "inbound emails received", 1000, "emails", "ses_inbound_email"),
            ("SES", "inbound mail chunks (256 KB)", 1000 * chunks, "chunks", "ses_inbound_chunk"),
            ("S3", "PutObject of the raw mail (SES's S3 action)", 1000, "requests", "s3_put_request")):
        price = unit_price(prices, name)
        lines.append(CostLine(service, item, quantity, unit, price, quantity * price))
    return lines


def _mail(sender: str, text: str, message_id: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Bench Customer <{sender}>"
    message["To"] = f"{MERCHANT}@{DOMAIN}"
    message["Subject"] = "Broken on arrival"
    message["Message-ID"] = message_id
    message.set_content(text)
    message.add_attachment(PHOTO, maintype="image", subtype="jpeg", filename="photo.jpg")
    return message.as_bytes()


def measure(messages: int = 3) -> SupportResult:
    from chalice.test import Client
    from moto import mock_aws

    from infra import bench as core
    from infra.local.lambda_context import LambdaContext
    from infra.local.pump import Consumer, QueuePump
    from infra.local.resources import create_resources, function_environment
    from infra.local.runtime import aws_environment, load_function_module, reset_process_caches
    from infra.template import SERVERLESS_FUNCTION, function_properties, load_template, resources, sqs_consumers
    from infra.template import tables

    template = load_template()
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(aws_environment(None))
    result = SupportResult(messages)
    result.memory_mb = {f: int(function_properties(template, f).get("MemorySize", 128))
                        for f in resources(template, SERVERLESS_FUNCTION)}
    recorder = core._Recorder({spec.logical_id: spec for spec in tables(template)})
    sink = core._LogSink()
    with mock_aws():
        parameters = {"LinkSigningSecret": "bench-link-signing-secret-0123456789abcdef"}
        names = create_resources(template, REGION, parameters)
        os.environ.update(function_environment(template, names, {**parameters, "PublicBaseUrl": "http://bench"}))
        # As template.yaml logs (INFO), so log volume is the production one; metrics are log lines too.
        os.environ.update({"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "INFO",
                           "POWERTOOLS_METRICS_DISABLED": "false", "SUPPORT_MAIL_DOMAIN": DOMAIN})
        reset_process_caches()
        from infra.local.seed import seed_demo_store
        from postpurchase import clock as clock_module
        from postpurchase.clock import SimulatedClock
        from postpurchase.observability import logger as app_logger

        streams = [(h, h.stream) for h in app_logger._logger.handlers if hasattr(h, "setStream")]
        for handler, _ in streams:
            handler.setStream(sink)
        simulated = SimulatedClock(START)
        clock_module.use(simulated)
        try:
            credentials = seed_demo_store(START)
            api = load_function_module("functions/api", "fn_bench_support_api").app
            inbound = load_function_module("functions/support_inbound", "fn_bench_support_inbound")
            consumers = []
            for spec in sqs_consumers(template):
                module = load_function_module(spec.code_uri, f"fn_bench_support_{Path(spec.code_uri).name}")
                handler = getattr(module, spec.handler.split(".", 1)[1])
                consumers.append(Consumer(spec.function_id, names[spec.queue_id], names[f"{spec.queue_id}.Arn"],
                                          spec.batch_size, core._timed_consumer(spec.function_id, handler,
                                                                                recorder, sink), spec.timeout))
            pump = QueuePump(consumers, region=REGION, retry_delay_seconds=0)
            poller = core._PollerClient(pump._sqs)
            pump._sqs = poller
            import boto3

            s3 = boto3.client("s3", region_name=REGION)
            bucket = names["SupportMailBucket"]
            auth = {"Authorization": f"Bearer {credentials.api_key}", "Content-Type": "application/json"}
            sample = json.loads((core.SAMPLE_ORDER).read_text(encoding="utf-8"))

            # EMF metrics go to stdout: the measured ones into the sink, the setup's nowhere.
            with Client(api) as client, core._hooked(recorder), redirect_stdout(core._LogSink()):
                def drain() -> None:
                    for _ in range(50):
                        if pump.pump_once() == 0:
                            return
                    raise RuntimeError("bench support: the queues did not drain in 50 rounds")

                def post(path: str, body: dict) -> tuple[int, dict]:
                    answer = client.http.post(path, headers=auth, body=json.dumps(body))
                    return answer.status_code, json.loads(answer.body or b"{}")

                # Setup, not measured: one shipped order per customer, its parcel tracked.
                recorder.operation = None
                for n in range(messages + 1):
                    order_id, email = f"7{n:04d}", f"bench.support{n}@example.com"
                    order = {**sample, "order_id": order_id, "placed_at": START.isoformat(), "email": email,
                             "customer": {**sample["customer"], "id": f"c-support-{n}", "email": email}}
                    status, _ = post("/v1/orders", order)
                    drain()
                    status2, _ = post(f"/v1/orders/{order_id}/shipments",
                                      {"carrier": "ups", "tracking_number": f"SBX-OK-{order_id}"})
                    if (status, status2) != (202, 201):
                        raise RuntimeError(f"bench support: order setup answered {status}, {status2}")
                    drain()
                simulated.advance(timedelta(hours=2))

                def settle(operation) -> None:
                    idle_before = poller.idle_receives
                    with recorder.in_phase("polling"), core._window() as counts:
                        drain()
                    operation.idle_receives = poller.idle_receives - idle_before
                    handled = Counter()
                    for invocation in operation.invocations:
                        if invocation.function_id not in ("ApiFunction", "SupportInboundFunction"):
                            handled.update(invocation.requests)
                            operation.requests[invocation.function_id].update(invocation.requests)
                    polling = counts - handled
                    if any(op not in core.POLLING_OPERATIONS for _, op in polling):
                        raise RuntimeError(f"bench support: unexpected requests while pumping: {dict(polling)}")
                    polling[("SQS", "ReceiveMessage")] -= operation.idle_receives
                    operation.requests["polling"].update(+polling)
                    operation.billable_sqs["polling"] -= operation.idle_receives

                def invoke(operation, function_id: str, call) -> Any:
                    before_bytes, before_events = sink.bytes, sink.events
                    with recorder.in_phase(function_id), core._window() as counts, redirect_stdout(sink):
                        started = time.perf_counter()
                        answer = call()
                        ms = (time.perf_counter() - started) * 1000
                    operation.requests[function_id].update(counts)
                    operation.invocations.append(core.Invocation(function_id, ms, 0, Counter(counts),
                                                                 sink.bytes - before_bytes,
                                                                 sink.events - before_events))
                    return answer

                def one(kind: str, n: int, measured: bool):
                    operation = core.Operation(f"{kind} {n}")
                    recorder.operation = operation if measured else None
                    recorder.current_invocations = operation.invocations
                    order_id, email = f"7{n:04d}", f"bench.support{n}@example.com"
                    if kind == "email":
                        raw = _mail(email, f"My mug from order #{order_id} arrived broken, photo attached.",
                                    f"<bench-{n}-{kind}@mail.example>")
                        key = f"inbound/bench-{n}"
                        recorder.operation = None  # SES's own write (priced apart)
                        s3.put_object(Bucket=bucket, Key=key, Body=raw)
                        recorder.operation = operation if measured else None
                        result.mail_bytes = len(raw)
                        event = {"version": "0", "id": f"bench-{n}", "detail-type": "Object Created",
                                 "source": "aws.s3", "account": "123456789012", "region": REGION,
                                 "resources": [f"arn:aws:s3:::{bucket}"],
                                 "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": len(raw)}}}
                        outcome = invoke(operation, "SupportInboundFunction", lambda: inbound.lambda_handler(
                            event, LambdaContext(function_name="SupportInboundFunction")))
                        if outcome.get("processed") != ["recorded"]:
                            raise RuntimeError(f"bench support: the mail was not recorded: {outcome}")
                    else:
                        text = ("Hi, where is my order? It has not arrived yet." if kind == "wismo" else
                                "The mug arrived broken, the handle snapped off. What now?")
                        status, body = invoke(operation, "ApiFunction", lambda: post(
                            "/v1/support/messages", {"email": email, "order_id": order_id, "text": text}))
                        if status != 201 or body.get("auto_answered") is not (kind == "wismo"):
                            raise RuntimeError(f"bench support: {kind} answered {status}: {body}")
                    settle(operation)
                    emails = sum(c[key] for c in operation.requests.values() for key in core._EMAIL_OPERATIONS)
                    if measured and emails != (1 if kind == "wismo" else 0):
                        raise RuntimeError(f"bench support: {kind} sent {emails} emails")
                    operation.emails = emails
                    return operation

                for kind in KINDS:  # warm containers: caches filled once
                    one(kind, messages, measured=False)
                for kind in KINDS:
                    result.operations[kind] = [one(kind, n, measured=True) for n in range(messages)]
                recorder.operation = None
            if recorder.unexpected:
                raise RuntimeError(f"bench support: requests the bench cannot price: {sorted(set(recorder.unexpected))}")
        finally:
            clock_module.reset()
            for handler, stream in streams:
                handler.setStream(stream)
    reset_process_caches()
    for operation in result.operations["email"]:
        counts = operation.requests["SupportInboundFunction"]
        if counts[("S3", "GetObject")] != 1 or counts[("S3", "PutObject")] != 1:
            raise RuntimeError(f"bench support: a mail took {dict(counts)}, expected one GetObject and one PutObject")
    return result


def usage_of(result: SupportResult, kind: str):
    from infra.bench_tracking import mean_usage, operation_usage

    return mean_usage([operation_usage(operation, result.memory_mb) for operation in result.operations[kind]])


def costs(result: SupportResult, prices: Mapping[str, Any]) -> dict:
    """kind -> CostBreakdown per 1,000 messages of that kind."""
    from infra.bench import CostBreakdown, cost_per_thousand

    out = {}
    for kind in KINDS:
        lines = list(cost_per_thousand(usage_of(result, kind), prices).lines)
        if kind == "email":
            lines += inbound_mail_lines(result.mail_bytes, prices)
        out[kind] = CostBreakdown(tuple(line for line in lines if line.usd or line.quantity))
    return out


def _by_operation(counts: Counter, per: int) -> str:
    return ", ".join(f"{service} {operation} {n / per:g}" for (service, operation), n in sorted(counts.items()) if n)


def render(result: SupportResult, prices: Mapping[str, Any]) -> str:
    priced = costs(result, prices)
    lines = [
        "## 9. Customer support: AWS requests and cost per 1,000 support messages",
        "",
        f"Real handlers on in-process moto, {result.messages} messages of each kind from different customers "
        "(each with a shipped order whose parcel is tracked), after one warm-up message of each kind; requests "
        "counted at botocore (infra/aws_requests.py), DynamoDB units from the items' sizes, SQS polling as "
        "Lambda's event source mapping makes it (idle receives left out). Identical for each message unless "
        "the table says otherwise.",
        "",
        "| message | AWS requests per message | by operation | WRU | RRU | emails sent | USD per 1,000 messages |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for kind in KINDS:
        operations = result.operations[kind]
        per = len(operations)
        total: Counter = Counter()
        for operation in operations:
            for counts in operation.requests.values():
                total.update(counts)
        same = all(sum(o.requests.values(), Counter()) == sum(operations[0].requests.values(), Counter())
                   for o in operations)
        wru = sum(sum(o.write_units.values()) for o in operations) / per
        rru = sum(sum(o.read_units.values()) for o in operations) / per
        lines.append(f"| {LABELS[kind]}{'' if same else ' (mean; not identical)'} | "
                     f"{sum(total.values()) / per:g} | {_by_operation(total, per)} | {wru:.1f} | {rru:.1f} | "
                     f"{sum(o.emails for o in operations) / per:g} | {priced[kind].total:.4f} |")
    lines += ["", "By phase (first message of each kind): the function that received it, the email sender "
              "(WISMO's answer) and the queue polling.", "",
              "| message | phase | requests |", "|---|---|---|"]
    for kind in KINDS:
        for phase, counts in result.operations[kind][0].requests.items():
            if +counts:
                lines.append(f"| {kind} | {phase} | {_by_operation(counts, 1)} |")
    lines += ["", "Cost per 1,000 messages by service:", "",
              "| message | " + " | ".join(sorted({s for b in priced.values() for s in b.by_service()})) + " | total |"]
    services = sorted({s for b in priced.values() for s in b.by_service()})
    lines.append("|---|" + "---:|" * (len(services) + 1))
    for kind in KINDS:
        by = priced[kind].by_service()
        lines.append(f"| {kind} | " + " | ".join(f"{by.get(s, 0):.4f}" for s in services)
                     + f" | **{priced[kind].total:.4f}** |")
    chunks = max(1, math.ceil(result.mail_bytes / SES_CHUNK_BYTES))
    lines += ["",
              f"The email is {result.mail_bytes:,} bytes ({chunks} SES chunk of 256 KB) with one attachment; its cost "
              "includes SES receiving (per email and per chunk) and SES's PutObject of the raw mail into the "
              "bucket, which our functions do not make. An emailed WISMO that is answered adds the WISMO row's "
              "email sender, SQS and SES part. Not included: S3 storage of the mail (two years, then the lifecycle "
              "rule), EventBridge (S3's events to the default bus are free), the alarms.",
              ""]
    return "\n".join(lines)


def run() -> SupportResult:
    print("bench: customer support (in-process moto, WISMO / damaged item / inbound email)...", file=sys.stderr)
    return measure(int(os.environ.get("BENCH_SUPPORT_MESSAGES", "3")))


if __name__ == "__main__":
    from infra.bench import LAYER_PATH, load_prices

    sys.path.insert(0, str(LAYER_PATH))
    print(render(run(), load_prices()))
