"""`make bench`, carrier tracking: AWS requests per tracking update, the poller over a fleet, cost.

Run by infra/bench.py's main after the order figures; its report section is appended to theirs.

4. Requests per tracking update, counted for real against the local runtime (moto's server in
   this process, the real handlers, the API over HTTP, simulated time): one SBX-OK shipment on
   the sandbox carrier from `POST /v1/orders/{id}/shipments` to delivery, the clock advanced to
   each 5-minute sweep that finds it due and the poller fired there (`LocalRuntime.tick()`);
   then EasyPost webhooks through the API on a second shipment. DynamoDB request units and
   SQS 64 KB chunks are priced by infra/bench.py's recorder.
5. The poller over a simulated fleet (in-process moto, `moto.mock_aws`): shipments written
   straight into the table with gsi2 keys, one `sweep()` per (stored, due) combination,
   its requests against what the index design predicts, and its wall time.
6. Cost: the poller per month for a fleet of active shipments at the template's schedule, the
   rest of the pipeline per 1,000 shipments tracked end to end, and what an active provider
   webhook changes (an estimate built from measured parts).

The arithmetic is pure (`sweeps_per_month`, `expected_sweep_requests`, `combine_usage`,
`webhook_fed`, ...) and unit-tested in tests/unit/test_bench_tracking.py.
"""
from __future__ import annotations

import gc
import hashlib
import hmac
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from infra import bench as core
from infra.bench import CostBreakdown, OrderUsage

REPO_ROOT = core.REPO_ROOT
REGION = core.REGION
EASYPOST_EVENT = REPO_ROOT / "events" / "carriers" / "easypost" / "webhook_tracker_updated.json"
SAMPLE_ORDER = core.SAMPLE_ORDER

# A Monday 09:00 UTC: the sweeps run every 5 minutes from here.
START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
JOURNEY_HOURS_TARGET = 96.0  # "a typical 4-day SBX-OK journey": the candidate code closest to this
JOURNEY_CODES = tuple(f"SBX-OK-BENCH{n}" for n in range(1, 41))
WEBHOOK_CODE = "SBX-OK-BENCHWEBHOOK"
WARM_CODE = "SBX-OK-BENCHWARMUP"
MAX_POLLS = 200
DAYS_PER_MONTH = 30
FLEET_FOR_COST = 100_000  # active shipments for the poller's monthly cost

# ------------------------------------------------------------------------------ assumptions
# What the in-process moto cannot tell: AWS's own latency per request, for the poller's Lambda
# duration (the sweep makes its requests one after the other). Edit here.
ASSUMED_QUERY_MS = 10.0
ASSUMED_SEND_BATCH_MS = 20.0
# With a provider webhook feeding a shipment, polling is a safety net (schedule.WEBHOOK_SAFETY_NET).
WEBHOOK_SAFETY_NET_HOURS = 12.0
SQS_BATCH = 10  # SendMessageBatch's limit

# ============================================================================== pure arithmetic

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")


def rate_minutes(expression: str) -> float:
    """Minutes between two firings of an EventBridge `rate(...)` expression."""
    match = _RATE.match(expression.strip())
    if match is None:
        raise ValueError(f"not a rate() expression: {expression!r}")
    value, unit = int(match.group(1)), match.group(2)
    return value * {"minute": 1, "hour": 60, "day": 1440}[unit.rstrip("s")]


def sweeps_per_month(expression: str, days: int = DAYS_PER_MONTH) -> int:
    """How many times a `rate(...)` schedule fires in `days` days (30: 8,640 at 5 minutes)."""
    return int(days * 24 * 60 // rate_minutes(expression))


def next_sweep(due: datetime, origin: datetime, every: timedelta) -> datetime:
    """The first sweep (origin + k x every, k >= 0) at or after `due`."""
    if due <= origin:
        return origin
    steps = math.ceil((due - origin) / every)
    return origin + steps * every


def uniform_due_by_shard(due: int, shards: int) -> list[int]:
    """`due` shipments spread as evenly as possible over `shards` shards."""
    base, extra = divmod(due, shards)
    return [base + (1 if shard < extra else 0) for shard in range(shards)]


def expected_sweep_requests(due_by_shard: Sequence[int], limit: int, batch: int = SQS_BATCH) -> dict[str, int]:
    """One sweep by the index design: one Query per shard (due or not), and each shard's due
    shipments (at most `limit`, the Query's Limit) sent `batch` per SendMessageBatch."""
    return {"Query": len(due_by_shard),
            "SendMessageBatch": sum(math.ceil(min(due, limit) / batch) for due in due_by_shard)}


def sweep_read_units(due_by_shard: Sequence[int], entry_bytes: float, limit: int) -> float:
    """RRUs of one sweep's Queries: eventually consistent, 4 KB units over each shard's index
    entries (an empty Query still costs the minimum half unit)."""
    return sum(core.read_request_units(math.ceil(min(due, limit) * entry_bytes), consistent=False)
               for due in due_by_shard)


def steady_state_due_per_sweep(active: float, polls_per_shipment: float, journey_hours: float,
                               sweep_minutes: float) -> float:
    """Shipments due per sweep when `active` shipments are always in flight, each polled
    `polls_per_shipment` times over a `journey_hours` journey."""
    return active * polls_per_shipment / journey_hours * sweep_minutes / 60


def shipments_per_month(active: float, journey_hours: float, days: int = DAYS_PER_MONTH) -> float:
    """Shipments completed per month by a fleet that keeps `active` shipments in flight."""
    return active * days * 24 / journey_hours


def poller_capacity(limit: int, shards: int, sweep_minutes: float, polls_per_shipment: float,
                    journey_hours: float) -> float:
    """Shipments that can be in flight before the sweeps fall behind: each sweep takes at most
    `limit` per shard, and each shipment needs `polls_per_shipment` polls per journey."""
    sweeps_per_journey = journey_hours * 60 / sweep_minutes
    return limit * shards * sweeps_per_journey / polls_per_shipment


def safety_net_polls(journey_hours: float, every_hours: float = WEBHOOK_SAFETY_NET_HOURS) -> int:
    """Polls a webhook-fed shipment still gets over its journey (one per safety-net interval)."""
    return int(journey_hours // every_hours)


def webhook_fed(polled: float, per_poll: float, per_webhook: float, polls: int, webhooks: int,
                safety_polls: int) -> float:
    """Estimate of a quantity (requests, units, dollars) for the journey fed by webhooks.

    Every poll and every webhook = its path (load, save, the SQS hop, the API for a webhook) +
    the work of what it brings (scans written, notices). The work is the same either way; the
    paths differ: `polls` polls of `per_poll` (an unchanged poll: the path alone) become
    `safety_polls` safety-net polls and `webhooks` webhook deliveries of `per_webhook` (a
    duplicate webhook: its path alone).
    """
    return polled - (polls - safety_polls) * per_poll + webhooks * per_webhook


def combine_usage(parts: Iterable[tuple[float, OrderUsage]]) -> OrderUsage:
    """The weighted sum of several usages (weight = how many times each happens).

    Durations are per function the invocation-weighted mean, so invocations x duration adds up.
    """
    requests: Counter = Counter()
    invocations: dict[str, float] = defaultdict(float)
    busy_ms: dict[str, float] = defaultdict(float)
    memory: dict[str, int] = {}
    totals = dict(api_requests=0.0, write_units=0.0, read_units=0.0, log_bytes=0.0, traces_recorded=0.0,
                  traces_retrieved=0.0)
    for weight, usage in parts:
        if weight < 0:
            raise ValueError("weights are counts: use webhook_fed() to subtract")
        for key, count in usage.requests.items():
            requests[key] += weight * count
        for function, count in usage.invocations.items():
            invocations[function] += weight * count
            busy_ms[function] += weight * count * usage.durations_ms.get(function, 0.0)
        memory.update(usage.memory_mb)
        for name in totals:
            totals[name] += weight * getattr(usage, name)
    durations = {f: busy_ms[f] / n for f, n in invocations.items() if n}
    return OrderUsage(requests=dict(requests), invocations=dict(invocations), durations_ms=durations,
                      memory_mb=memory, **totals)


def scale_breakdown(breakdown: CostBreakdown, factor: float) -> CostBreakdown:
    """The same lines, `factor` times the quantity (per 1,000 sweeps -> per month, ...)."""
    return CostBreakdown(tuple(replace(line, quantity=line.quantity * factor, usd=line.usd * factor)
                               for line in breakdown.lines))


def total_requests(usage: OrderUsage) -> float:
    return sum(usage.requests.values())


def operation_usage(operation: core.Operation, memory_mb: Mapping[str, int]) -> OrderUsage:
    """Billable quantities of one measured operation (SQS scaled to 64 KB chunks, logs with
    Lambda's own lines, one X-Ray trace per invocation x the sampled fraction).

    Invocations are keyed "Function" or "Function/MessageType"; memory is the function's.
    """
    counts: Counter = Counter()
    for phase_counts in operation.requests.values():
        counts.update(phase_counts)
    requests = {key: float(n) for key, n in counts.items() if n}
    sqs_raw = sum(n for (service, _), n in requests.items() if service == "SQS")
    sqs_billable = sum(operation.billable_sqs.values())
    if sqs_raw:
        requests = {key: (n * sqs_billable / sqs_raw if key[0] == "SQS" else n) for key, n in requests.items()}
    invocations: dict[str, float] = defaultdict(float)
    durations: dict[str, list[float]] = defaultdict(list)
    platform_bytes = sum(len(line.encode()) for line in core.LAMBDA_PLATFORM_LOG_LINES)
    log_bytes = 0.0
    for invocation in operation.invocations:
        invocations[invocation.function_id] += 1
        durations[invocation.function_id].append(invocation.ms)
        events = invocation.log_events + len(core.LAMBDA_PLATFORM_LOG_LINES)
        log_bytes += invocation.log_bytes + platform_bytes + events * core.LOG_EVENT_OVERHEAD_BYTES
    return OrderUsage(
        requests=requests,
        invocations=dict(invocations),
        durations_ms={f: statistics.fmean(ms) for f, ms in durations.items()},
        memory_mb={f: memory_mb[f.split("/")[0]] for f in invocations},
        api_requests=invocations.get("ApiFunction", 0.0),
        write_units=sum(operation.write_units.values()),
        read_units=sum(operation.read_units.values()),
        log_bytes=log_bytes,
        traces_recorded=core.XRAY_SAMPLED_FRACTION * sum(invocations.values()),
    )


def mean_usage(usages: Sequence[OrderUsage]) -> OrderUsage:
    return combine_usage((1 / len(usages), usage) for usage in usages)


# ============================================================================== 4. the runtime

@dataclass
class JourneyPoll:
    at: datetime
    kind: str               # unchanged | scans | status
    status_before: str
    status_after: str
    new_scans: int
    emails: int
    operation: core.Operation   # the worker side: tracking_worker, email_sender, SQS polling
    sweep: core.Operation       # the poller's sweep that found it


@dataclass
class UpdatesResult:
    code: str
    shipped_at: datetime
    delivered_at: datetime | None
    journey_end: datetime
    start: core.Operation
    start_emails: int
    polls: list[JourneyPoll]
    webhook_status: core.Operation      # the delivered webhook: status change, notice, email
    webhook_in_transit: core.Operation  # the first webhook: status change, no notice
    webhook_duplicate: core.Operation   # EasyPost retrying the first one: nothing changes
    webhook_emails: int
    scans_after_start: int
    memory_mb: dict[str, int]
    poller_log_bytes: list[int] = field(default_factory=list)
    poller_log_events: list[int] = field(default_factory=list)
    poller_ms: list[float] = field(default_factory=list)

    @property
    def journey_hours(self) -> float:
        return (self.journey_end - self.shipped_at) / timedelta(hours=1)

    def polls_of(self, kind: str) -> list[JourneyPoll]:
        return [poll for poll in self.polls if poll.kind == kind]


def pick_journey_code(start: datetime, target_hours: float = JOURNEY_HOURS_TARGET) -> tuple[str, float]:
    """The SBX-OK code whose sandbox delivery comes closest to `target_hours` after `start`."""
    from postpurchase.tracking.carriers import sandbox

    best = None
    for code in JOURNEY_CODES:
        hours = (sandbox.timeline(code, start)[-1].at - start) / timedelta(hours=1)
        if best is None or abs(hours - target_hours) < abs(best[1] - target_hours):
            best = (code, hours)
    return best


def _sign(secret: str, body: bytes) -> str:
    """EasyPost's X-Hmac-Signature (as infra/sample_events.py: _hex_sign)."""
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def _easypost_bodies(tracking_code: str, at: datetime, anchor: int = 2) -> tuple[bytes, bytes, datetime]:
    """EasyPost's recorded tracker.updated, moved so its scan number `anchor` is at `at`: the first
    three scans as an in-transit update, then the whole journey to delivery; and when that ends."""
    payload = json.loads(EASYPOST_EVENT.read_text(encoding="utf-8"))
    tracker = payload["result"]
    details = tracker["tracking_details"]

    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    shift = at - parse(details[anchor]["datetime"])
    for detail in details:
        detail["datetime"] = (parse(detail["datetime"]) + shift).isoformat()
    tracker.update(tracking_code=tracking_code, est_delivery_date=(parse(tracker["est_delivery_date"]) + shift)
                   .isoformat())
    delivered = json.dumps(payload).encode()
    partial = json.loads(delivered)
    partial["result"].update(status="in_transit", status_detail="in_transit",
                             tracking_details=partial["result"]["tracking_details"][:3], signed_by=None)
    partial["previous_attributes"] = {"status": "pre_transit"}
    return json.dumps(partial).encode(), delivered, parse(details[-1]["datetime"])


def _reset_aws_state() -> None:
    """A fresh moto and fresh clients: the order bench's runtime ran in this process before."""
    from moto.moto_api._internal.models import moto_api_backend
    from pynamodb.models import Model

    moto_api_backend.reset()
    stack = [Model]
    while stack:  # PynamoDB caches a connection (with the old endpoint) on each model class
        cls = stack.pop()
        if "_connection" in vars(cls):
            cls._connection = None
        stack.extend(cls.__subclasses__())


def measure_updates() -> UpdatesResult:
    import urllib.error
    import urllib.request

    from infra.local.runtime import LocalRuntime, free_port
    from infra.template import SERVERLESS_FUNCTION, function_properties, load_template, resources, tables
    from postpurchase import clock as clock_module
    from postpurchase.clock import SimulatedClock

    template = load_template()
    memory_mb = {f: int(function_properties(template, f).get("MemorySize", 128))
                 for f in resources(template, SERVERLESS_FUNCTION)}
    recorder = core._Recorder({spec.logical_id: spec for spec in tables(template)})
    sink = core._LogSink()
    code, _ = pick_journey_code(START)
    simulated = SimulatedClock(START - timedelta(hours=1))

    _reset_aws_state()
    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        runtime = LocalRuntime(outbox_dir=Path(tmp) / "outbox", public_base_url=base_url, log_level="INFO",
                               notice_debounce_seconds=0, deployed_shards=True).start()
        clock_module.use(simulated)
        try:
            from postpurchase.services import tracking_store
            from postpurchase.storage.merchants import clear_caches
            from postpurchase.tracking.carriers import sandbox

            api_ms, poller = core.instrument_runtime(runtime, sink, port)
            for consumer in runtime.pump.consumers:
                consumer.handler = _timed_consumer(consumer.function_id, consumer.handler, recorder, sink)
            merchant = runtime.credentials.merchant_id

            def http(method: str, path: str, body: bytes, headers: dict) -> int:
                request = urllib.request.Request(base_url + path, data=body, method=method,
                                                 headers={"Content-Type": "application/json", **headers})
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        response.read()
                        return response.status
                except urllib.error.HTTPError as error:
                    error.read()
                    return error.code

            def api_call(operation: core.Operation, method: str, path: str, body: dict | bytes,
                         headers: dict | None = None) -> None:
                recorder.operation = operation
                recorder.current_invocations = operation.invocations
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                headers = headers or {"Authorization": f"Bearer {runtime.credentials.api_key}"}
                before_bytes, before_events, before_calls = sink.bytes, sink.events, len(api_ms)
                with recorder.in_phase("ApiFunction"), core._window() as counts, redirect_stdout(sink):
                    operation.status = http(method, path, data, headers)
                if len(api_ms) != before_calls + 1:
                    raise RuntimeError(f"{method} {path}: expected one API invocation, "
                                       f"saw {len(api_ms) - before_calls}")
                operation.requests["ApiFunction"].update(counts)
                operation.invocations.append(core.Invocation("ApiFunction", api_ms[-1], 0, Counter(counts),
                                                             sink.bytes - before_bytes, sink.events - before_events))

            def settle(operation: core.Operation) -> None:
                recorder.operation = operation
                recorder.current_invocations = operation.invocations
                idle_before = poller.idle_receives
                with recorder.in_phase("polling"), core._window() as counts:
                    for _ in range(50):
                        if runtime.pump.pump_once() == 0:
                            break
                    else:
                        raise RuntimeError("the queues did not drain in 50 rounds")
                operation.idle_receives = poller.idle_receives - idle_before
                handled: Counter = Counter()
                for invocation in operation.invocations:
                    if invocation.function_id != "ApiFunction":
                        handled.update(invocation.requests)
                        operation.requests[invocation.function_id].update(invocation.requests)
                polling = counts - handled
                if any(op not in core.POLLING_OPERATIONS for _, op in polling):
                    raise RuntimeError(f"unexpected requests outside the handlers while pumping: {dict(polling)}")
                polling[("SQS", "ReceiveMessage")] -= operation.idle_receives
                operation.requests["polling"].update(+polling)
                operation.billable_sqs["polling"] -= operation.idle_receives
                operation.emails = len(runtime.outbox.collect())
                recorder.operation = None

            def sweep(operation: core.Operation) -> dict:
                recorder.operation = operation
                before_bytes, before_events = sink.bytes, sink.events
                with recorder.in_phase("TrackingPollerFunction"), core._window() as counts, redirect_stdout(sink):
                    started = time.perf_counter()
                    result = runtime.tick("TrackingPollerFunction")["TrackingPollerFunction"]
                    elapsed = (time.perf_counter() - started) * 1000
                recorder.operation = None
                operation.requests["TrackingPollerFunction"].update(counts)
                operation.invocations.append(core.Invocation("TrackingPollerFunction", elapsed, 0, Counter(counts),
                                                             sink.bytes - before_bytes, sink.events - before_events))
                return result

            def load(order_id: str, shipment_id: str):
                return tracking_store().load(merchant, order_id, shipment_id)

            def place_order(order_id: str) -> None:
                order = json.loads(SAMPLE_ORDER.read_text(encoding="utf-8"))
                email = f"{order_id.lower()}@example.com"
                order.update(order_id=order_id, placed_at=simulated.now().isoformat().replace("+00:00", "Z"),
                             email=email)
                order["customer"].update(id=f"c-{order_id.lower()}", email=email)
                setup = core.Operation("setup")
                api_call(setup, "POST", "/v1/orders", order)
                settle(setup)
                if setup.status != 202:
                    raise RuntimeError(f"POST /v1/orders answered {setup.status}")

            def ship(operation: core.Operation, order_id: str, tracking_number: str) -> str:
                api_call(operation, "POST", f"/v1/orders/{order_id}/shipments",
                         {"carrier": "usps", "tracking_number": tracking_number})
                if operation.status != 201:
                    raise RuntimeError(f"POST /v1/orders/{order_id}/shipments answered {operation.status}")
                settle(operation)
                from postpurchase.orders.shipments import ShipmentIn

                return ShipmentIn(carrier="usps", tracking_number=tracking_number).to_shipment(simulated.now()) \
                    .shipment_id

            path = f"/webhooks/easypost/{merchant}"
            secret = runtime.credentials.easypost_secret

            def webhook(operation: core.Operation, body: bytes) -> None:
                api_call(operation, "POST", path, body, {"X-Hmac-Signature": _sign(secret, body)})
                settle(operation)
                if operation.status != 200:
                    raise RuntimeError(f"{operation.label}: the API answered {operation.status}")

            with core._hooked(recorder):
                clear_caches()
                # Warm-up (not reported): every path once, on a parcel a webhook then delivers,
                # so the containers are warm and only the journey's shipment is ever due.
                place_order("TRK-0")
                warm_id = ship(core.Operation("warm-up"), "TRK-0", WARM_CODE)
                webhook(core.Operation("warm-up"), _easypost_bodies(WARM_CODE, simulated.now(), anchor=-1)[1])
                warm = load("TRK-0", warm_id)
                if warm.tracking.next_poll_at is not None:
                    raise RuntimeError(f"the warm-up parcel is still polled ({warm.tracking.status.value})")
                place_order("TRK-1")
                simulated.set(START)
                # (a) starting tracking
                start = core.Operation("start tracking")
                shipment_id = ship(start, "TRK-1", code)
                tracked = load("TRK-1", shipment_id)
                if tracked is None or tracked.tracking.next_poll_at is None:
                    raise RuntimeError("tracking did not start")
                scans_after_start = len(sandbox.timeline(code, START)) - len(tracked.timeline)

                # the journey: every sweep that finds the shipment due
                polls: list[JourneyPoll] = []
                poller_runs: list[core.Operation] = []
                while tracked.tracking.next_poll_at is not None:
                    if len(polls) >= MAX_POLLS:
                        raise RuntimeError(f"{code} still polled after {MAX_POLLS} polls")
                    simulated.set(next_sweep(tracked.tracking.next_poll_at, START, timedelta(minutes=5)))
                    swept, operation = core.Operation("sweep"), core.Operation(f"poll {len(polls) + 1}")
                    result = sweep(swept)
                    if result.get("enqueued") != 1:
                        raise RuntimeError(f"the sweep at {simulated.now()} enqueued {result}, expected 1")
                    poller_runs.append(swept)
                    settle(operation)
                    after = load("TRK-1", shipment_id)
                    new_scans = len(after.timeline) - len(tracked.timeline)
                    changed = after.tracking.status != tracked.tracking.status
                    kind = "status" if changed else ("scans" if new_scans else "unchanged")
                    polls.append(JourneyPoll(simulated.now(), kind, tracked.tracking.status.value,
                                             after.tracking.status.value, new_scans, operation.emails, operation,
                                             swept))
                    tracked = after
                if tracked.tracking.status.value != "delivered":
                    raise RuntimeError(f"{code} ended {tracked.tracking.status.value}, expected delivered")
                journey_end = simulated.now()

                # (d) EasyPost webhooks on a second shipment
                simulated.advance(timedelta(hours=1))
                place_order("TRK-2")
                setup = core.Operation("setup")
                webhook_shipment = ship(setup, "TRK-2", WEBHOOK_CODE)
                simulated.advance(timedelta(hours=3))
                partial, delivered, last_scan = _easypost_bodies(WEBHOOK_CODE, simulated.now())
                in_transit = core.Operation("in transit (status change, no notice due)")
                webhook(in_transit, partial)
                simulated.advance(timedelta(minutes=5))  # EasyPost retries a delivery it saw fail
                duplicate = core.Operation("the same, delivered again (nothing new)")
                webhook(duplicate, partial)
                simulated.set(last_scan + timedelta(minutes=2))
                status_change = core.Operation("delivered (notice and email)")
                webhook(status_change, delivered)
                final = load("TRK-2", webhook_shipment)
                if final.tracking.status.value != "delivered" or not final.tracking.webhook_active:
                    raise RuntimeError(f"the webhooks left {WEBHOOK_CODE} {final.tracking.status.value}")
            if recorder.unexpected:
                raise RuntimeError(f"requests the bench cannot price: {sorted(set(recorder.unexpected))}")
        finally:
            clock_module.reset()
            runtime.stop()

    delivered_at = tracked.tracking.delivered_at
    result = UpdatesResult(code, START, delivered_at, journey_end, start, start.emails, polls, status_change,
                           in_transit, duplicate, status_change.emails, scans_after_start, memory_mb)
    for swept in poller_runs:
        invocation = swept.invocations[0]
        result.poller_log_bytes.append(invocation.log_bytes)
        result.poller_log_events.append(invocation.log_events)
        result.poller_ms.append(invocation.ms)
    return result


def _timed_consumer(function_id: str, handler, recorder, sink):
    """The consumer's handler, timed and counted; the tracking worker's keyed by message type."""
    def timed(event, context):
        key = function_id
        if function_id == "TrackingWorkerFunction":
            kinds = {json.loads(record["body"]).get("type", "?") for record in event["Records"]}
            key += "/" + (kinds.pop() if len(kinds) == 1 else "mixed")
        before_bytes, before_events = sink.bytes, sink.events
        with recorder.in_phase(key), core._window() as counts, redirect_stdout(sink):
            started = time.perf_counter()
            result = handler(event, context)
            elapsed = (time.perf_counter() - started) * 1000
        recorder.current_invocations.append(core.Invocation(key, elapsed, len(event["Records"]), Counter(counts),
                                                            sink.bytes - before_bytes, sink.events - before_events))
        return result

    return timed


# ============================================================================== 5. the fleet

@dataclass(frozen=True)
class FleetRow:
    stored: int
    due: int
    requests: dict[tuple[str, str], int]
    expected: dict[str, int]
    read_units: float
    entry_bytes: float        # mean size of one gsi2 entry the Queries returned
    enqueued: int
    wall_ms: float
    aws_ms: float             # of which inside botocore calls (moto, in this process)

    @property
    def own_ms(self) -> float:
        return self.wall_ms - self.aws_ms


class _TimedRecorder(core._Recorder):
    def __init__(self, tables) -> None:
        super().__init__(tables)
        self.aws_seconds = 0.0

    def call(self, make_call, client, operation, params):
        started = time.perf_counter()
        try:
            return super().call(make_call, client, operation, params)
        finally:
            self.aws_seconds += time.perf_counter() - started


def fleet_plan(sizes: Sequence[int], dues: Sequence[int], full_up_to: int, big_dues: Sequence[int]) \
        -> list[tuple[int, list[int]]]:
    """(stored, due values) per fleet size: every due value up to `full_up_to`, `big_dues` above."""
    return [(stored, [d for d in (dues if stored <= full_up_to else big_dues) if d <= stored])
            for stored in sorted(sizes)]


def measure_fleet(plan: list[tuple[int, list[int]]]) -> list[FleetRow]:
    from unittest import mock

    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs import models as moto_sqs

    from infra.local.resources import create_resources, function_environment
    from infra.local.runtime import aws_environment, reset_process_caches
    from infra.template import load_template, tables

    template = load_template()
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(aws_environment(None))
    rows: list[FleetRow] = []
    with mock_aws():
        parameters = {"LinkSigningSecret": "bench-link-signing-secret-0123456789abcdef"}
        names = create_resources(template, REGION, parameters)
        os.environ.update(function_environment(template, names, {**parameters, "PublicBaseUrl": "http://bench"}))
        reset_process_caches()
        from postpurchase import services
        from postpurchase.config import settings
        from postpurchase.storage import keys
        from postpurchase.storage.tracking import poll_shard, poll_shards
        from postpurchase.tracking.messages import PollShipment
        from postpurchase.tracking.polling import sweep

        limit = settings().poll_sweep_limit
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
        recorder = _TimedRecorder({spec.logical_id: spec for spec in tables(template)})
        origin = START
        shards: list[int] = []  # shard of shipment i; shipment i is next due at origin + i seconds

        def ids(i: int) -> tuple[str, str, str]:
            # Keys ascending with i, so moto (which sorts the whole table on every Query) sorts
            # an already sorted list: linear instead of n log n. 5,000 shipments per merchant.
            return f"merchant-{i // 5000:02d}", f"F-{i:07d}", "s-" + hashlib.sha256(str(i).encode()).hexdigest()[:16]

        def fill(upto: int) -> None:
            for first in range(len(shards), upto, 25):
                batch = []
                for i in range(first, min(upto, first + 25)):
                    merchant, order, shipment = ids(i)
                    shard = poll_shard(merchant, order, shipment)
                    shards.append(shard)
                    when = (origin + timedelta(seconds=i)).isoformat()
                    batch.append({"PutRequest": {"Item": {
                        "pk": {"S": keys.order_pk(merchant, order)}, "sk": {"S": keys.shipment_sk(shipment)},
                        "type": {"S": "shipment"}, "gsi2pk": {"S": keys.poll_shard_pk(shard)},
                        "gsi2sk": {"S": f"{when}|{merchant}|{order}|{shipment}"}}}})
                for request in batch:  # into moto's table as BatchWriteItem would, 4x faster
                    backend.put_item(names["Table"], request["PutRequest"]["Item"])

        # Warm-up (not reported): clients, lazy imports, moto's first answers.
        sweep(services.tracking_store(), services.tracking_queue(), origin - timedelta(days=1))
        services.tracking_queue().publish_batch(
            [PollShipment(merchant_id="m", order_id="o", shipment_id="s", due=origin.isoformat()).model_dump_json()],
            kind="PollShipment")
        for stored, dues in plan:
            fill(stored)
            gc.collect()  # the build's garbage, not the sweep's
            for due in dues:
                due_by_shard = [0] * poll_shards()
                for shard in shards[:due]:
                    due_by_shard[shard] += 1
                now = origin + timedelta(seconds=due - 1, milliseconds=500)
                operation = core.Operation(f"sweep {stored}/{due}")
                recorder.operation = operation
                recorder.aws_seconds = 0.0
                # The queue drops what it is sent (nobody consumes it here) and skips computing its
                # attributes: moto's SQS counts every queued message for each message sent, which
                # makes a sweep quadratic in what it enqueues. The requests are unchanged.
                with core._hooked(recorder), core._window() as counts, \
                        mock.patch.object(moto_sqs.Queue, "add_message", lambda queue, message: None), \
                        mock.patch.object(moto_sqs.Queue, "attributes", property(lambda queue: {})):
                    started = time.perf_counter()
                    result = sweep(services.tracking_store(), services.tracking_queue(), now)
                    wall = time.perf_counter() - started
                recorder.operation = None
                requests = {key: n for key, n in counts.items() if key[0] != "bench-window"}
                entries = sum(d.item_bytes for d in operation.dynamodb)
                rows.append(FleetRow(stored, due, requests, expected_sweep_requests(due_by_shard, limit),
                                     sum(operation.read_units.values()), entries / due if due else 0.0,
                                     result["enqueued"], wall * 1000, recorder.aws_seconds * 1000))
                print(f"bench:   fleet {stored:,} stored, {due:,} due: {wall:.1f} s", file=sys.stderr)
    reset_process_caches()
    return rows


# ============================================================================== 6. cost

@dataclass
class TrackingResult:
    updates: UpdatesResult
    fleet: list[FleetRow]
    schedule: str
    sweep_limit: int
    shards: int
    elapsed_s: float = 0.0


def check(result: TrackingResult) -> None:
    """Fail the bench when the figures contradict the design."""
    problems = []
    for row in result.fleet:
        got = {"Query": row.requests.get(("DynamoDB", "Query"), 0),
               "SendMessageBatch": row.requests.get(("SQS", "SendMessageBatch"), 0)}
        if got != row.expected or sum(row.requests.values()) != sum(row.expected.values()):
            problems.append(f"sweep of {row.stored} stored / {row.due} due made {row.requests}, expected "
                            f"{row.expected}")
        if row.enqueued != row.due:
            problems.append(f"sweep of {row.stored} stored / {row.due} due enqueued {row.enqueued}")
    by_due: dict[int, set] = defaultdict(set)
    for row in result.fleet:
        by_due[row.due].add(tuple(sorted(row.requests.items())))
    problems += [f"{due} due: requests differ with the fleet's size" for due, seen in by_due.items() if len(seen) > 1]
    if not result.updates.polls_of("unchanged"):
        problems.append("the journey had no unchanged poll: the webhook estimate needs one")
    if problems:
        raise RuntimeError("tracking bench: " + "; ".join(problems))


@dataclass(frozen=True)
class PollerMonth:
    due_per_sweep: float
    sweep_usage: OrderUsage
    duration_ms: float
    month: CostBreakdown         # per month, FLEET_FOR_COST active shipments


@dataclass(frozen=True)
class Costs:
    per_shipment: OrderUsage
    worker: CostBreakdown               # per 1,000 shipments tracked end to end
    poller: PollerMonth
    poller_webhook_fed: PollerMonth     # the same fleet when polling is only the safety net
    sweeps: int
    shipments_month: float
    entry_bytes: float
    per_poll: OrderUsage                # an unchanged poll (mean)
    per_webhook: OrderUsage             # a duplicate webhook
    safety: int
    capacity: float                     # shipments in flight before the sweeps fall behind


def compute_costs(result: TrackingResult, prices: Mapping[str, Any]) -> Costs:
    updates = result.updates
    memory = updates.memory_mb
    start = operation_usage(updates.start, memory)
    per_shipment = combine_usage([(1, start)] + [(1, operation_usage(p.operation, memory)) for p in updates.polls])
    worker = core.cost_per_thousand(per_shipment, prices)
    hours = updates.journey_hours
    sized = [row for row in result.fleet if row.due]
    entry_bytes = statistics.fmean(row.entry_bytes for row in sized) if sized else 150.0
    per_poll = mean_usage([operation_usage(p.operation, memory) for p in updates.polls_of("unchanged")])
    per_webhook = operation_usage(updates.webhook_duplicate, memory)
    safety = safety_net_polls(hours)
    return Costs(per_shipment, worker, _poller_month(result, prices, len(updates.polls), entry_bytes),
                 _poller_month(result, prices, safety, entry_bytes), sweeps_per_month(result.schedule),
                 shipments_per_month(FLEET_FOR_COST, hours), entry_bytes, per_poll, per_webhook, safety,
                 poller_capacity(result.sweep_limit, result.shards, rate_minutes(result.schedule),
                                 len(updates.polls), hours))


def _poller_month(result: TrackingResult, prices: Mapping[str, Any], polls_per_shipment: float,
                  entry_bytes: float) -> PollerMonth:
    """The poller's month for FLEET_FOR_COST shipments in flight, each polled so many times a journey."""
    updates = result.updates
    sweeps = sweeps_per_month(result.schedule)
    due = steady_state_due_per_sweep(FLEET_FOR_COST, polls_per_shipment, updates.journey_hours,
                                     rate_minutes(result.schedule))
    due_by_shard = uniform_due_by_shard(round(due), result.shards)
    expected = expected_sweep_requests(due_by_shard, result.sweep_limit)
    own_per_due = _own_ms_per_due(result.fleet)
    duration = (own_per_due[0] + own_per_due[1] * due + expected["Query"] * ASSUMED_QUERY_MS
                + expected["SendMessageBatch"] * ASSUMED_SEND_BATCH_MS)
    platform_bytes = sum(len(line.encode()) for line in core.LAMBDA_PLATFORM_LOG_LINES)
    log_bytes = (statistics.median(updates.poller_log_bytes) + platform_bytes
                 + (statistics.median(updates.poller_log_events) + len(core.LAMBDA_PLATFORM_LOG_LINES))
                 * core.LOG_EVENT_OVERHEAD_BYTES)
    sweep_usage = OrderUsage(
        requests={("DynamoDB", "Query"): expected["Query"], ("SQS", "SendMessageBatch"): expected["SendMessageBatch"]},
        invocations={"TrackingPollerFunction": 1}, durations_ms={"TrackingPollerFunction": duration},
        memory_mb={"TrackingPollerFunction": updates.memory_mb["TrackingPollerFunction"]},
        read_units=sweep_read_units(due_by_shard, entry_bytes, result.sweep_limit), log_bytes=log_bytes,
        traces_recorded=core.XRAY_SAMPLED_FRACTION)
    return PollerMonth(due, sweep_usage, duration,
                       scale_breakdown(core.cost_per_thousand(sweep_usage, prices), sweeps / 1000))


def _own_ms_per_due(rows: Sequence[FleetRow]) -> tuple[float, float]:
    """Least-squares line own_ms = a + b x due over the sweeps measured (the poller's own CPU here)."""
    xs = [row.due for row in rows]
    ys = [row.own_ms for row in rows]
    if len(set(xs)) < 2:
        return (statistics.fmean(ys) if ys else 0.0, 0.0)
    return linear_fit(xs, ys)


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line through the points."""
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)
    return mean_y - slope * mean_x, slope


# ============================================================================== report

PHASES = ["ApiFunction", "OrderEventsFunction", "TrackingWorkerFunction/TrackShipment",
          "TrackingWorkerFunction/PollShipment", "TrackingWorkerFunction/CarrierUpdate",
          "TrackingWorkerFunction/NoticeCheck", "EmailSenderFunction", "polling"]
TITLES = {"ApiFunction": "API request", "OrderEventsFunction": "order_events processing",
          "TrackingWorkerFunction/TrackShipment": "tracking_worker: TrackShipment",
          "TrackingWorkerFunction/PollShipment": "tracking_worker: PollShipment",
          "TrackingWorkerFunction/CarrierUpdate": "tracking_worker: CarrierUpdate",
          "TrackingWorkerFunction/NoticeCheck": "tracking_worker: NoticeCheck",
          "EmailSenderFunction": "email_sender processing", "polling": "SQS polling (done by Lambda, billed)",
          "TrackingPollerFunction": "poller sweep"}


def _phases(operation: core.Operation) -> list[str]:
    return [phase for phase in PHASES if operation.requests.get(phase)]


def _tables(operation: core.Operation) -> list[str]:
    core.PHASE_TITLES.update(TITLES)
    out = core._request_table(operation, _phases(operation))
    out += ["", core._units_line(operation), ""]
    out += core._units_table(operation)
    return out


def _count(operation: core.Operation) -> int:
    return sum(sum(counts.values()) for counts in operation.requests.values())


def _units(operation: core.Operation) -> tuple[float, float]:
    return sum(operation.write_units.values()), sum(operation.read_units.values())


def _by_service(counts: Mapping[tuple[str, str], float]) -> str:
    services: Counter = Counter()
    for (service, _), n in counts.items():
        services[service] += n
    return ", ".join(f"{s} {core._fmt(n)}" for s, n in sorted(services.items()))


def _by_operation(counts: Mapping[tuple[str, str], float]) -> str:
    return ", ".join(f"{op} {core._fmt(n)}" for (_, op), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _cost_table(breakdown: CostBreakdown, per: str) -> list[str]:
    lines = [f"| service | item | quantity {per} | unit price (USD) | USD {per} |", "|---|---|---:|---:|---:|"]
    for line in breakdown.lines:
        if line.quantity:
            lines.append(f"| {line.service} | {line.item} | {line.quantity:,.4g} {line.unit} | {line.unit_price:.4g} | "
                         f"{line.usd:.4f} |")
    lines.append(f"| **total** | | | | **{breakdown.total:.4f}** |")
    return lines


def render(result: TrackingResult, prices: Mapping[str, Any]) -> str:
    updates, fleet = result.updates, result.fleet
    costs = compute_costs(result, prices)
    out: list[str] = []
    w = out.append
    polls = updates.polls
    unchanged, scans, status = (updates.polls_of(k) for k in ("unchanged", "scans", "status"))
    w("#### 4. AWS requests per tracking update (local runtime, sandbox carrier, `count_aws_requests`)")
    w("")
    w(f"One `{updates.code}` shipment (the SBX-OK code of `{JOURNEY_CODES[0]}`..`{JOURNEY_CODES[-1]}` whose "
      f"sandbox delivery comes closest to {JOURNEY_HOURS_TARGET:.0f} h), shipped {updates.shipped_at:%a %d %b %H:%M} "
      "UTC on simulated time, warm containers, notices without debounce delay (the local runtime's choice; "
      "the 120 s SQS delay changes no count). The clock jumps to each 5-minute sweep that finds the shipment "
      "due and fires the poller there (`LocalRuntime.tick()`); the sweeps in between find nothing and are the "
      "poller's fixed cost (section 5). Parts: what each function asked of AWS; SQS polling = Lambda's "
      "receives and deletes (billed).")
    w("")
    w("**(a) Starting tracking** (POST /v1/orders/{id}/shipments -> order_events stores the shipment -> "
      "TrackShipment: register with the carrier, first scan -> NoticeCheck -> the shipped email):")
    w("")
    out.extend(_tables(updates.start))
    w("")

    def poll_section(title: str, chosen: JourneyPoll | None) -> None:
        if chosen is None:
            w(f"**{title}**: none in this journey.")
            w("")
            return
        w(f"**{title}** (poll {polls.index(chosen) + 1} of the journey, {chosen.at:%a %H:%M} UTC: "
          f"{chosen.status_before} -> {chosen.status_after}, {chosen.new_scans} new scan(s), "
          f"{chosen.emails} email(s)):")
        w("")
        out.extend(_tables(chosen.operation))
        w("")

    poll_section("(b) A poll that adds scans, status unchanged", scans[0] if scans else None)
    with_email = [p for p in status if p.emails]
    poll_section("(c) A poll with a status change", (with_email or status or [None])[0])
    if unchanged:
        sample = unchanged[0].operation
        w(f"A poll that finds nothing new ({len(unchanged)} of the journey's {len(polls)} polls): "
          f"{_count(sample)} requests ({_by_operation(_merged(sample))}), "
          f"{core._fmt(_units(sample)[0])} WRU, {core._fmt(_units(sample)[1])} RRU: the shipment item is "
          "rewritten all the same (state JSON, revision, next poll time).")
        w("")
    swept = polls[0].sweep if polls else None
    if swept is not None:
        w(f"The sweep that finds it due (the poller, shared by the whole fleet, section 5): "
          f"{_by_operation(_merged(swept))} ({core._fmt(_units(swept)[1])} RRU).")
        w("")
    w("**(d) An EasyPost webhook** (POST /webhooks/easypost/demo-store, `X-Hmac-Signature` over the body "
      "with the demo secret; EasyPost's recorded tracker.updated moved onto a second shipment): the whole "
      "journey to delivered, after an in-transit webhook -> CarrierUpdate (gsi4 Query for the tracking "
      "number, then the shipment's Query) -> NoticeCheck -> the delivered email:")
    w("")
    out.extend(_tables(updates.webhook_status))
    w("")
    w("| webhook | requests | by service | WRU | RRU | emails |")
    w("|---|---:|---|---:|---:|---:|")
    for operation in (updates.webhook_in_transit, updates.webhook_duplicate, updates.webhook_status):
        counts = _merged(operation)
        wru, rru = _units(operation)
        w(f"| {operation.label} | {_count(operation)} | {_by_service(counts)} | {core._fmt(wru)} | "
          f"{core._fmt(rru)} | {operation.emails} |")
    w("")
    w(f"**The journey, poll by poll** ({len(polls)} polls over {updates.journey_hours:.1f} h from shipping to "
      f"delivered; worker side only, without the sweep):")
    w("")
    w("| poll | time (UTC) | hours in | kind | status | new scans | requests | WRU | RRU | emails |")
    w("|---:|---|---:|---|---|---:|---:|---:|---:|---:|")
    for n, poll in enumerate(polls, 1):
        wru, rru = _units(poll.operation)
        moved = poll.status_after if poll.kind == "status" else poll.status_before
        w(f"| {n} | {poll.at:%a %H:%M} | {(poll.at - updates.shipped_at) / timedelta(hours=1):.1f} | {poll.kind} | "
          f"{moved} | {poll.new_scans} | {_count(poll.operation)} | {core._fmt(wru)} | {core._fmt(rru)} | "
          f"{poll.emails} |")
    total = costs.per_shipment
    w("")
    w(f"{len(unchanged)} polls found nothing new, {len(scans)} added scans, {len(status)} changed the status. "
      f"One shipment end to end (start + {len(polls)} polls): {core._fmt(round(total_requests(total), 2))} "
      f"requests ({_by_service(total.requests)}), {core._fmt(total.write_units)} WRU, "
      f"{core._fmt(total.read_units)} RRU, {updates.start_emails + sum(p.emails for p in polls)} emails, "
      f"{core._fmt(sum(total.invocations.values()))} Lambda invocations.")
    w("")
    w("Handler wall time per invocation (median, this machine, moto's latency):")
    w("")
    w("| invocation | count in the journey | median ms | log bytes (median) |")
    w("|---|---:|---:|---:|")
    invocations: dict[str, list[core.Invocation]] = defaultdict(list)
    for operation in [updates.start, *(p.operation for p in polls), updates.webhook_in_transit,
                      updates.webhook_duplicate, updates.webhook_status]:
        for invocation in operation.invocations:
            invocations[invocation.function_id].append(invocation)
    journey_counts = Counter(i.function_id for op in [updates.start, *(p.operation for p in polls)]
                             for i in op.invocations)
    for key, items in sorted(invocations.items()):
        w(f"| {key} | {journey_counts.get(key, 0)} | {statistics.median(i.ms for i in items):.1f} | "
          f"{statistics.median(i.log_bytes for i in items):.0f} |")
    w(f"| TrackingPollerFunction (one shipment due) | {len(polls)} | {statistics.median(updates.poller_ms):.1f} | "
      f"{statistics.median(updates.poller_log_bytes):.0f} |")
    w("")

    # ---- 5. fleet
    w(f"#### 5. The poller over a simulated fleet (in-process moto, {result.shards} shards, "
      f"POLL_SWEEP_LIMIT {result.sweep_limit})")
    w("")
    sizes = sorted({row.stored for row in fleet})
    full = [s for s in sizes if len({r.due for r in fleet if r.stored == s}) > 1]
    partial_sizes = [s for s in sizes if s not in full]
    w("Active shipments written straight into moto's table (its backend's put_item, what BatchWriteItem calls; "
      "4x faster to build) with their gsi2 keys, next polls one second apart; one `sweep()` per row with the "
      "clock set so exactly `due` of them are due; the queue drops what it is sent (moto's SQS would slow down "
      "quadratically with its depth). "
      "Requests counted with `count_aws_requests`; predicted = one Query per shard + "
      "sum over shards of ceil(due in shard / 10) SendMessageBatch. RRU from the index entries the Queries "
      "returned (keys only)."
      + (f" {', '.join(f'{s:,}' for s in partial_sizes)} stored: one due value only, to keep `make bench` "
         "within its time (moto takes seconds per sweep at that size)." if partial_sizes else ""))
    w("")
    w("| stored | due | Query | SendMessageBatch | requests | predicted | RRU | enqueued | wall ms (moto) | "
      "in moto | poller's own |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in fleet:
        w(f"| {row.stored:,} | {row.due:,} | {row.requests.get(('DynamoDB', 'Query'), 0)} | "
          f"{row.requests.get(('SQS', 'SendMessageBatch'), 0)} | {sum(row.requests.values())} | "
          f"{sum(row.expected.values())} | {core._fmt(row.read_units)} | {row.enqueued:,} | {row.wall_ms:,.0f} | "
          f"{row.aws_ms:,.0f} | {row.own_ms:,.0f} |")
    w("")
    w("Requests and RRU depend on the due count only (the bench fails if two fleet sizes disagree for the same "
      "due count, or a sweep differs from the prediction). The wall time does not: moto answers a GSI Query "
      "by scanning and sorting the whole table, so the 'in moto' column grows with what is stored; DynamoDB "
      "reads only the shard's key range up to `now`. The poller's own time (wall minus the time inside "
      "botocore calls) grows with the due count (one pydantic message per shipment).")
    w("")

    # ---- 6. cost
    w(f"#### 6. Cost of tracking (list prices as of {prices['as_of']}, infra/aws_prices.json)")
    w("")
    poller = costs.poller
    sweep = poller.sweep_usage
    w(f"**(a) The poller, per month, for {FLEET_FOR_COST:,} active shipments** at `{result.schedule}` "
      f"({costs.sweeps:,} sweeps in {DAYS_PER_MONTH} days). The journey above polls its shipment "
      f"{len(polls)} times in {updates.journey_hours:.1f} h, so a fleet that keeps {FLEET_FOR_COST:,} in flight "
      f"has {poller.due_per_sweep:,.0f} due per sweep: {sweep.requests[('DynamoDB', 'Query')]:.0f} Query + "
      f"{sweep.requests[('SQS', 'SendMessageBatch')]:.0f} SendMessageBatch per sweep (the measured rule), "
      f"{core._fmt(sweep.read_units)} RRU ({costs.entry_bytes:.0f} bytes per index entry as measured). "
      f"Lambda duration {poller.duration_ms:,.0f} ms per sweep = the poller's own time fitted on the "
      f"fleet rows + an assumed {ASSUMED_QUERY_MS:.0f} ms per Query and {ASSUMED_SEND_BATCH_MS:.0f} ms per "
      "SendMessageBatch (sequential); logs as measured on the journey's sweeps.")
    w("")
    out.extend(_cost_table(poller.month, "per month"))
    w("")
    w(f"Capacity: {result.sweep_limit:,} per shard x {result.shards} shards = "
      f"{result.sweep_limit * result.shards:,} polls per sweep at most, so at this journey's "
      f"{len(polls)} polls per shipment the sweeps keep up with about {costs.capacity:,.0f} shipments in flight; "
      "beyond that the due backlog grows (the poller reports `full_shards`).")
    w("")
    w("**(b) The rest of the pipeline, per 1,000 shipments tracked end to end** (one journey: start + "
      f"{len(polls)} polls, with their notices, emails and SQS polling; the poller is in (a)):")
    w("")
    out.extend(_cost_table(costs.worker, "per 1,000 shipments"))
    w("")
    by_service = ", ".join(f"{s} ${usd:.4f}" for s, usd in sorted(costs.worker.by_service().items(),
                                                                  key=lambda kv: -kv[1]))
    w(f"By service: {by_service}.")
    w("")
    month_worker = costs.worker.total * costs.shipments_month / 1000
    w(f"**(c) The fleet per month**: {FLEET_FOR_COST:,} shipments in flight on {updates.journey_hours:.0f}-hour "
      f"journeys complete {costs.shipments_month:,.0f} shipments a month: poller "
      f"${poller.month.total:,.2f} + the rest ${month_worker:,.2f} (of which SES "
      f"${costs.worker.by_service().get('SES', 0) * costs.shipments_month / 1000:,.2f}). Per shipment: "
      f"{(poller.month.total + month_worker) / costs.shipments_month * 100:.4f} cents.")
    w("")
    # ---- webhook estimate
    polled_requests = total_requests(costs.per_shipment)
    per_poll_requests, per_webhook_requests = total_requests(costs.per_poll), total_requests(costs.per_webhook)
    webhooks = updates.scans_after_start

    def fed(quantity_polled: float, per_poll: float, per_webhook: float) -> float:
        return webhook_fed(quantity_polled, per_poll, per_webhook, len(polls), webhooks, costs.safety)

    poll_cost = core.cost_per_thousand(costs.per_poll, prices).total
    webhook_cost = core.cost_per_thousand(costs.per_webhook, prices).total
    fed_cost = fed(costs.worker.total, poll_cost, webhook_cost)
    w(f"**(d) With an active provider webhook** (estimate from measured parts): EasyPost would send one "
      f"tracker.updated per scan ({webhooks} after registration on this journey) and polling drops to the "
      f"{WEBHOOK_SAFETY_NET_HOURS:.0f}-hour safety net ({costs.safety} polls instead of {len(polls)}). An "
      f"unchanged poll is the poll path alone ({core._fmt(round(per_poll_requests, 2))} requests, "
      f"${poll_cost:.4f} per 1,000); a re-delivered webhook is the webhook path alone "
      f"({core._fmt(round(per_webhook_requests, 2))} requests, ${webhook_cost:.4f} per 1,000: API Gateway, the "
      "API function, its SendMessage and the gsi4 Query on top); the scans and notices cost the same either way.")
    w("")
    w("| per shipment | polled (measured) | webhook-fed (estimate) |")
    w("|---|---:|---:|")
    w(f"| requests (worker side) | {polled_requests:.1f} | "
      f"{fed(polled_requests, per_poll_requests, per_webhook_requests):.1f} |")
    w(f"| WRU | {costs.per_shipment.write_units:.1f} | "
      f"{fed(costs.per_shipment.write_units, costs.per_poll.write_units, costs.per_webhook.write_units):.1f} |")
    w(f"| RRU | {costs.per_shipment.read_units:.1f} | "
      f"{fed(costs.per_shipment.read_units, costs.per_poll.read_units, costs.per_webhook.read_units):.1f} |")
    w(f"| USD per 1,000 shipments (without the poller) | {costs.worker.total:.4f} | {fed_cost:.4f} |")
    fed_poller = costs.poller_webhook_fed
    w(f"| due per sweep at {FLEET_FOR_COST:,} in flight | {poller.due_per_sweep:,.0f} | "
      f"{fed_poller.due_per_sweep:,.0f} |")
    w(f"| poller, USD per month at {FLEET_FOR_COST:,} in flight | {poller.month.total:.2f} | "
      f"{fed_poller.month.total:.2f} |")
    w("")
    return "\n".join(out) + "\n"


def _merged(operation: core.Operation) -> Counter:
    counts: Counter = Counter()
    for phase_counts in operation.requests.values():
        counts.update(phase_counts)
    return +counts


def append_section(report: str, section: str) -> str:
    """Insert the tracking section before the report's closing run-time line."""
    marker = "\n_Bench run time"
    if marker in report:
        head, tail = report.rsplit(marker, 1)
        return f"{head}\n{section}{marker}{tail}"
    return report + "\n" + section


def _env_ints(name: str, default: str) -> list[int]:
    return [int(v.replace("_", "")) for v in os.environ.get(name, default).split(",") if v.strip()]


def run() -> TrackingResult:
    """Measure everything (about a minute and a half on 2 cores)."""
    from infra.template import load_template, scheduled_functions

    started = time.perf_counter()
    template = load_template()
    schedule = next(spec.schedule for spec in scheduled_functions(template)
                    if spec.function_id == "TrackingPollerFunction")
    print("bench: tracking updates (local runtime, one shipment's journey, webhooks)...", file=sys.stderr)
    updates = measure_updates()
    plan = fleet_plan(_env_ints("BENCH_FLEET_SIZES", "10000,50000,100000"),
                      _env_ints("BENCH_FLEET_DUE", "0,100,1000,5000"),
                      int(os.environ.get("BENCH_FLEET_FULL_UP_TO", "50000")),
                      _env_ints("BENCH_FLEET_BIG_DUE", "1000"))
    print(f"bench: poller over a simulated fleet ({', '.join(f'{s:,}' for s, _ in plan)} shipments)...",
          file=sys.stderr)
    fleet = measure_fleet(plan)
    from postpurchase.config import settings
    from postpurchase.storage.tracking import poll_shards

    result = TrackingResult(updates, fleet, schedule, settings().poll_sweep_limit, poll_shards(),
                            time.perf_counter() - started)
    check(result)
    return result


__all__ = ["run", "render", "append_section", "combine_usage", "expected_sweep_requests", "webhook_fed"]
