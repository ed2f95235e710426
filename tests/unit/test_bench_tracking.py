"""The tracking bench's arithmetic (infra/bench_tracking.py), with hand-computed numbers. Pure and fast."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from infra.bench import (
    LAMBDA_PLATFORM_LOG_LINES,
    LOG_EVENT_OVERHEAD_BYTES,
    CostBreakdown,
    CostLine,
    Invocation,
    Operation,
    OrderUsage,
)
from infra.bench_tracking import (
    append_section,
    combine_usage,
    expected_sweep_requests,
    fleet_plan,
    linear_fit,
    next_sweep,
    operation_usage,
    poller_capacity,
    rate_minutes,
    safety_net_polls,
    scale_breakdown,
    shipments_per_month,
    steady_state_due_per_sweep,
    sweep_read_units,
    sweeps_per_month,
    total_requests,
    uniform_due_by_shard,
    webhook_fed,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def test_schedule_rates():
    assert rate_minutes("rate(5 minutes)") == 5
    assert rate_minutes("rate(1 hour)") == 60
    assert rate_minutes("rate(2 days)") == 2880
    assert sweeps_per_month("rate(5 minutes)") == 8640   # 30 x 24 x 12
    assert sweeps_per_month("rate(1 hour)") == 720        # 30 x 24
    assert sweeps_per_month("rate(1 minute)", days=1) == 1440
    with pytest.raises(ValueError):
        rate_minutes("cron(0 12 * * ? *)")


def test_next_sweep_is_the_first_at_or_after_due():
    every = timedelta(minutes=5)
    assert next_sweep(T0 + timedelta(minutes=7), T0, every) == T0 + timedelta(minutes=10)
    assert next_sweep(T0 + timedelta(minutes=10), T0, every) == T0 + timedelta(minutes=10)
    assert next_sweep(T0 + timedelta(minutes=10, microseconds=1), T0, every) == T0 + timedelta(minutes=15)
    assert next_sweep(T0 - timedelta(hours=1), T0, every) == T0


def test_uniform_due_by_shard():
    # 35 = 16 x 2 + 3: the first three shards get one more
    assert uniform_due_by_shard(35, 16) == [3, 3, 3] + [2] * 13
    assert uniform_due_by_shard(0, 4) == [0, 0, 0, 0]


def test_expected_sweep_requests():
    # a Query per shard; batches 0 + 1 + 1 + 2 + 100 (2,500 due capped at the Limit of 1,000)
    assert expected_sweep_requests([0, 5, 10, 11, 2500], limit=1000) == {"Query": 5, "SendMessageBatch": 104}
    assert expected_sweep_requests([0] * 16, limit=1000) == {"Query": 16, "SendMessageBatch": 0}


def test_sweep_read_units():
    # empty shard: the 0.5 minimum; 30 x 136 = 4,080 bytes: one 4 KB unit, halved = 0.5;
    # 1,000 x 136 = 136,000 bytes: 34 units (133 KB in 4 KB), halved = 17
    assert sweep_read_units([0, 30, 1000], entry_bytes=136, limit=1000) == pytest.approx(18.0)
    # the Limit caps what one Query reads: 5,000 due read as 1,000
    assert sweep_read_units([5000], entry_bytes=136, limit=1000) == pytest.approx(17.0)


def test_fleet_steady_state():
    # 1,200 in flight, 24 polls over 48 h: 600 polls an hour, 50 per 5-minute sweep
    assert steady_state_due_per_sweep(1200, 24, 48, 5) == pytest.approx(50.0)
    # 100,000 in flight on 96-hour journeys: 100,000 x 720 h / 96 h = 750,000 a month
    assert shipments_per_month(100_000, 96) == pytest.approx(750_000)
    # 16,000 polls per sweep at most, 1,152 sweeps per 96-hour journey, 32 polls each: 576,000
    assert poller_capacity(1000, 16, 5, 32, 96) == pytest.approx(576_000)


def test_safety_net_polls():
    assert safety_net_polls(85) == 7
    assert safety_net_polls(96) == 8
    assert safety_net_polls(11.9) == 0


def test_webhook_fed():
    # 183 - (31 - 7) x 4 + 12 x 6 = 183 - 96 + 72 = 159
    assert webhook_fed(183, per_poll=4, per_webhook=6, polls=31, webhooks=12, safety_polls=7) == 159
    # no polls to save, no webhooks: unchanged
    assert webhook_fed(50.0, 4, 6, polls=5, webhooks=0, safety_polls=5) == 50.0


def _usage(**overrides) -> OrderUsage:
    fields = dict(requests={("DynamoDB", "Query"): 1, ("SQS", "SendMessage"): 2},
                  invocations={"Worker": 1}, durations_ms={"Worker": 40.0}, memory_mb={"Worker": 512},
                  api_requests=0, write_units=6, read_units=0.5, log_bytes=1000, traces_recorded=1)
    fields.update(overrides)
    return OrderUsage(**fields)


def test_combine_usage_weights_and_durations():
    poll = _usage()
    webhook = _usage(requests={("DynamoDB", "Query"): 2, ("SESv2", "SendEmail"): 1},
                     invocations={"Worker": 1, "Api": 1}, durations_ms={"Worker": 80.0, "Api": 10.0},
                     memory_mb={"Worker": 512, "Api": 256}, api_requests=1, write_units=9, read_units=1,
                     log_bytes=500, traces_recorded=2)
    total = combine_usage([(3, poll), (1, webhook)])
    assert total.requests == {("DynamoDB", "Query"): 5, ("SQS", "SendMessage"): 6, ("SESv2", "SendEmail"): 1}
    assert total.invocations == {"Worker": 4, "Api": 1}
    # Worker: (3 x 40 + 1 x 80) / 4 = 50 ms
    assert total.durations_ms == {"Worker": pytest.approx(50.0), "Api": pytest.approx(10.0)}
    assert total.memory_mb == {"Worker": 512, "Api": 256}
    assert total.api_requests == 1
    assert total.write_units == 27        # 3 x 6 + 9
    assert total.read_units == 2.5        # 3 x 0.5 + 1
    assert total.log_bytes == 3500        # 3 x 1,000 + 500
    assert total.traces_recorded == 5     # 3 x 1 + 2
    assert total_requests(total) == 12
    with pytest.raises(ValueError):
        combine_usage([(-1, poll)])


def test_combine_usage_fractional_weights_make_a_mean():
    mean = combine_usage([(0.5, _usage(write_units=6)), (0.5, _usage(write_units=8))])
    assert mean.write_units == 7
    assert mean.invocations == {"Worker": 1}


def test_scale_breakdown():
    breakdown = CostBreakdown((CostLine("SQS", "requests", 304.0, "requests", 4e-7, 304 * 4e-7),
                               CostLine("Lambda", "requests", 1.0, "requests", 2e-7, 2e-7)))
    month = scale_breakdown(breakdown, 8.64)   # per 1,000 sweeps -> 8,640 sweeps
    assert month.lines[0].quantity == pytest.approx(2626.56)
    assert month.lines[0].usd == pytest.approx(2626.56 * 4e-7)
    assert month.lines[1].unit_price == 2e-7
    assert month.total == pytest.approx(breakdown.total * 8.64)


def test_operation_usage():
    operation = Operation("poll")
    operation.requests["TrackingWorkerFunction/PollShipment"].update(
        {("DynamoDB", "Query"): 1, ("DynamoDB", "UpdateItem"): 1, ("SQS", "SendMessage"): 1})
    operation.requests["polling"].update({("SQS", "ReceiveMessage"): 2, ("SQS", "DeleteMessage"): 1})
    operation.billable_sqs["TrackingWorkerFunction/PollShipment"] = 2   # a 100 KB message: two chunks
    operation.billable_sqs["polling"] = 3
    operation.write_units["TrackingWorkerFunction/PollShipment"] = 6
    operation.read_units["TrackingWorkerFunction/PollShipment"] = 0.5
    operation.invocations += [
        Invocation("TrackingWorkerFunction/PollShipment", 40.0, 1, Counter(), log_bytes=800, log_events=2),
        Invocation("TrackingWorkerFunction/PollShipment", 60.0, 1, Counter(), log_bytes=800, log_events=2),
        Invocation("ApiFunction", 10.0, 0, Counter(), log_bytes=100, log_events=1),
    ]
    usage = operation_usage(operation, {"TrackingWorkerFunction": 512, "ApiFunction": 256})
    # SQS: 4 requests made, 5 billable chunks: each scaled by 5/4
    assert usage.requests[("SQS", "SendMessage")] == pytest.approx(1.25)
    assert usage.requests[("SQS", "ReceiveMessage")] == pytest.approx(2.5)
    assert usage.requests[("DynamoDB", "Query")] == 1
    assert usage.invocations == {"TrackingWorkerFunction/PollShipment": 2, "ApiFunction": 1}
    assert usage.durations_ms["TrackingWorkerFunction/PollShipment"] == pytest.approx(50.0)
    assert usage.memory_mb == {"TrackingWorkerFunction/PollShipment": 512, "ApiFunction": 256}
    assert usage.api_requests == 1
    assert (usage.write_units, usage.read_units) == (6, 0.5)
    platform = sum(len(line.encode()) for line in LAMBDA_PLATFORM_LOG_LINES)
    lines = len(LAMBDA_PLATFORM_LOG_LINES)
    expected = (2 * (800 + platform + (2 + lines) * LOG_EVENT_OVERHEAD_BYTES)
                + 100 + platform + (1 + lines) * LOG_EVENT_OVERHEAD_BYTES)
    assert usage.log_bytes == expected
    assert usage.traces_recorded == pytest.approx(3.0)


def test_linear_fit():
    assert linear_fit([0, 1, 2], [1, 3, 5]) == (pytest.approx(1.0), pytest.approx(2.0))


def test_fleet_plan():
    plan = fleet_plan([100_000, 10_000, 50_000], [0, 100, 1000, 5000], full_up_to=50_000, big_dues=[1000])
    assert plan == [(10_000, [0, 100, 1000, 5000]), (50_000, [0, 100, 1000, 5000]), (100_000, [1000])]
    # a due count above the fleet's size is dropped
    assert fleet_plan([500], [0, 100, 1000], full_up_to=1000, big_dues=[]) == [(500, [0, 100])]


def test_append_section():
    report = "### run\n\nfigures\n\n_Bench run time 40 s._\n"
    assert append_section(report, "#### 4. tracking\n") == \
        "### run\n\nfigures\n\n#### 4. tracking\n\n_Bench run time 40 s._\n"
    assert append_section("no footer\n", "x\n") == "no footer\n\nx\n"


def test_easypost_bodies_are_signed_like_easypost():
    import json

    from infra.bench_tracking import _easypost_bodies, _sign
    from postpurchase.tracking.carriers.easypost import parse_webhook, sign

    assert _sign("demo-easypost-secret", b"{}") == sign(b"{}", "demo-easypost-secret")
    partial, delivered, last = _easypost_bodies("SBX-OK-X", T0)
    in_transit = json.loads(partial)["result"]
    assert in_transit["status"] == "in_transit" and len(in_transit["tracking_details"]) == 3
    assert datetime.fromisoformat(in_transit["tracking_details"][-1]["datetime"]) == T0
    update = parse_webhook({"X-Hmac-Signature": _sign("s", delivered)}, delivered, "s")
    assert update.tracking_number == "SBX-OK-X" and update.status.value == "delivered"
    assert max(event.occurred_at for event in update.events) == last > T0
