"""The bench's cost arithmetic (infra/bench.py), with hand-computed numbers. Pure and fast."""
from __future__ import annotations

import pytest

from infra.bench import (
    OrderUsage,
    billed_duration_ms,
    cost_per_thousand,
    dynamodb_item_size,
    gb_seconds,
    handler_imports,
    heaviest_packages,
    load_prices,
    read_request_units,
    sqs_billable_requests,
    write_request_units,
)

PRICES = {"prices": {
    "lambda_request": {"usd": 0.20, "per": 1_000_000},
    "lambda_gb_second_arm64": {"usd": 0.0000133334, "per": 1},
    "apigateway_rest_request": {"usd": 3.50, "per": 1_000_000},
    "dynamodb_write_request_unit": {"usd": 0.625, "per": 1_000_000},
    "dynamodb_read_request_unit": {"usd": 0.125, "per": 1_000_000},
    "sqs_standard_request": {"usd": 0.40, "per": 1_000_000},
    "ses_outbound_email": {"usd": 0.10, "per": 1000},
    "cloudwatch_logs_ingestion_gb": {"usd": 0.50, "per": 1},
    "xray_trace_recorded": {"usd": 5.00, "per": 1_000_000},
    "xray_trace_retrieved": {"usd": 0.50, "per": 1_000_000},
    "secretsmanager_api_call": {"usd": 0.05, "per": 10_000},
}}


def usage(**overrides) -> OrderUsage:
    fields = dict(
        requests={("SQS", "SendMessage"): 2, ("SQS", "ReceiveMessage"): 2, ("SQS", "DeleteMessage"): 2,
                  ("SESv2", "SendEmail"): 1, ("DynamoDB", "PutItem"): 3, ("DynamoDB", "TransactWriteItems"): 1},
        invocations={"Api": 1, "Worker": 2},
        durations_ms={"Api": 99.2, "Worker": 250.0},
        memory_mb={"Api": 512, "Worker": 1024},
        api_requests=1, write_units=10, read_units=1.5,
        log_bytes=1024 ** 3 / 1000,  # 1 GB per 1,000 orders
        traces_recorded=3,
    )
    fields.update(overrides)
    return OrderUsage(**fields)


def test_cost_per_thousand_orders_by_hand():
    cost = cost_per_thousand(usage(), PRICES)
    services = cost.by_service()
    # 3 invocations x 1,000 x $0.20/M = $0.0006
    # Api: 1,000 x 100 ms billed (99.2 rounded up) x 0.5 GB = 50 GB-s; Worker: 2,000 x 0.25 s x 1 GB = 500 GB-s
    # 550 GB-s x $0.0000133334 = $0.00733337
    assert services["Lambda"] == pytest.approx(0.0006 + 0.00733337)
    assert services["API Gateway"] == pytest.approx(0.0035)              # 1,000 x $3.50/M
    assert services["DynamoDB"] == pytest.approx(0.00625 + 0.0001875)   # 10,000 WRU, 1,500 RRU
    assert services["SQS"] == pytest.approx(0.0024)                     # 6,000 x $0.40/M
    assert services["SES"] == pytest.approx(0.10)                       # 1,000 emails x $0.10/1,000
    assert services["CloudWatch Logs"] == pytest.approx(0.50)           # 1 GB x $0.50
    assert services["X-Ray"] == pytest.approx(0.015)                    # 3,000 traces x $5/M
    assert cost.total == pytest.approx(0.63527087)


def test_lambda_duration_lines_per_function():
    lines = {line.item: line for line in cost_per_thousand(usage(), PRICES).lines}
    assert lines["duration Api (arm64, 512 MB)"].quantity == pytest.approx(50)
    assert lines["duration Worker (arm64, 1024 MB)"].quantity == pytest.approx(500)


def test_dynamodb_is_billed_by_request_units_not_requests():
    few = cost_per_thousand(usage(requests={("DynamoDB", "PutItem"): 1}), PRICES).by_service()["DynamoDB"]
    many = cost_per_thousand(usage(requests={("DynamoDB", "PutItem"): 100}), PRICES).by_service()["DynamoDB"]
    assert few == many


def test_a_service_without_a_price_is_an_error():
    with pytest.raises(ValueError, match="KMS"):
        cost_per_thousand(usage(requests={("KMS", "Decrypt"): 1}), PRICES)


def test_reading_the_link_keys_is_priced_per_call():
    assert "GetSecretValue (link keys)" not in {line.item for line in cost_per_thousand(usage(), PRICES).lines}
    cost = cost_per_thousand(usage(requests={("SecretsManager", "GetSecretValue"): 2}), PRICES)
    line = next(line for line in cost.lines if line.service == "Secrets Manager")
    assert line.quantity == 2000 and line.usd == pytest.approx(2000 * 0.05 / 10000)


def test_traces_retrieved_only_when_there_are_any():
    assert "traces retrieved" not in {line.item for line in cost_per_thousand(usage(), PRICES).lines}
    cost = cost_per_thousand(usage(traces_retrieved=2), PRICES)
    retrieved = next(line for line in cost.lines if line.item == "traces retrieved")
    assert retrieved.usd == pytest.approx(2000 * 0.5 / 1_000_000)


@pytest.mark.parametrize(("size", "transactional", "units"), [
    (0, False, 1), (1, False, 1), (1024, False, 1), (1025, False, 2), (1161, True, 4), (300, True, 2),
])
def test_write_request_units(size, transactional, units):
    assert write_request_units(size, transactional=transactional) == units


@pytest.mark.parametrize(("size", "consistent", "transactional", "units"), [
    (0, False, False, 0.5), (4096, True, False, 1), (4097, True, False, 2), (5000, False, False, 1.0),
    (100, True, True, 2),
])
def test_read_request_units(size, consistent, transactional, units):
    assert read_request_units(size, consistent=consistent, transactional=transactional) == units


def test_item_size_counts_names_and_values():
    item = {
        "pk": {"S": "ab"},                     # 2 + 2
        "n": {"N": "123"},                     # 1 + (2 bytes for 3 digits + 1)
        "b": {"BOOL": True},                   # 1 + 1
        "m": {"M": {"k": {"S": "v"}}},         # 1 + (3 + 1 + 1 + 1)
        "l": {"L": [{"S": "x"}]},              # 1 + (3 + 1 + 1)
        "é": {"S": "ü"},                       # 2 + 2 (UTF-8 bytes)
    }
    assert dynamodb_item_size(item) == 4 + 4 + 2 + 7 + 6 + 4
    assert dynamodb_item_size(None) == 0
    assert dynamodb_item_size({"n": {"N": "1200.00"}}) == 1 + 2  # zeros trimmed: "12"


@pytest.mark.parametrize(("payload", "requests"), [(0, 1), (1292, 1), (65536, 1), (65537, 2), (262144, 4)])
def test_sqs_bills_each_64_kb_chunk(payload, requests):
    assert sqs_billable_requests(payload) == requests


@pytest.mark.parametrize(("ms", "billed"), [(0.2, 1), (100.0, 100), (100.01, 101)])
def test_lambda_bills_whole_milliseconds(ms, billed):
    assert billed_duration_ms(ms) == billed


def test_gb_seconds():
    assert gb_seconds(1000, 1024) == 1.0
    assert gb_seconds(1500.4, 512) == pytest.approx(1.501 * 0.5)  # 1,501 ms billed


def test_the_price_file_covers_every_price_the_arithmetic_uses():
    prices = load_prices()
    assert prices["region"] == "us-east-1" and prices["as_of"]
    assert PRICES["prices"].keys() <= prices["prices"].keys()
    for entry in prices["prices"].values():
        assert entry["source"] and entry["usd"] > 0 and entry["per"] > 0
    assert cost_per_thousand(usage(), prices).total > 0


IMPORTTIME = "\n".join([
    "import time: self [us] | cumulative | imported package",
    "import time:       100 |        100 |       botocore.compat",
    "import time:       200 |        300 |     botocore",
    "import time:        50 |        350 |   aws_xray_sdk",
    "import time:        40 |         40 |       pydantic.main",
    "import time:        10 |         50 |     postpurchase.config",
    "import time:         5 |         55 |   postpurchase.orders",
    "import time:         5 |        410 | app",
])


def test_heaviest_dependencies_from_importtime():
    # botocore.compat is imported by botocore itself: counted once, inside botocore; our own
    # package and the handler module are not dependencies.
    assert heaviest_packages(IMPORTTIME) == [("aws_xray_sdk", 350, 50), ("botocore", 300, 300),
                                             ("pydantic", 40, 40)]


def test_handler_imports_are_the_direct_children_of_app():
    assert handler_imports(IMPORTTIME) == [("aws_xray_sdk", 350, 50), ("postpurchase.orders", 55, 5)]


def test_the_bench_resolves_every_functions_environment_from_the_template():
    """A resource added to template.yaml must be known to the bench too (it broke once)."""
    from infra.bench import function_specs

    specs = function_specs()
    assert {spec.directory.name for spec in specs} >= {"api", "return_events"}
