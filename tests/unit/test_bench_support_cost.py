"""The support section's cost arithmetic (infra/bench_support.py and the S3 lines of
infra/bench.cost_per_thousand), with hand-computed numbers. Pure and fast."""
from __future__ import annotations

import pytest

from infra.bench import OrderUsage, cost_per_thousand, load_prices
from infra.bench_support import inbound_mail_lines

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
    "s3_put_request": {"usd": 0.005, "per": 1000},
    "s3_get_request": {"usd": 0.0004, "per": 1000},
    "ses_inbound_email": {"usd": 0.10, "per": 1000},
    "ses_inbound_chunk": {"usd": 0.09, "per": 1000},
}}


def mail_usage(requests: dict | None = None) -> OrderUsage:
    return OrderUsage(requests={("S3", "GetObject"): 1, ("S3", "PutObject"): 2, ("S3", "DeleteObject"): 1,
                                ("DynamoDB", "GetItem"): 3, **(requests or {})},
                      invocations={"Inbound": 1}, durations_ms={"Inbound": 100.0}, memory_mb={"Inbound": 1024})


def test_s3_requests_are_priced_by_tier_and_deletes_are_free():
    lines = {line.item: line for line in cost_per_thousand(mail_usage(), PRICES).lines if line.service == "S3"}
    assert lines["GET requests"].quantity == 1000 and lines["GET requests"].usd == pytest.approx(0.0004)
    assert lines["PUT/COPY/POST/LIST requests"].quantity == 2000
    assert lines["PUT/COPY/POST/LIST requests"].usd == pytest.approx(0.01)
    assert len(lines) == 2  # DeleteObject costs nothing


def test_an_s3_operation_the_bench_does_not_know_is_an_error():
    with pytest.raises(ValueError, match="S3 RestoreObject"):
        cost_per_thousand(mail_usage({("S3", "RestoreObject"): 1}), PRICES)


@pytest.mark.parametrize("size,chunks", [(1, 1), (256 * 1024, 1), (256 * 1024 + 1, 2), (1_000_000, 4)])
def test_receiving_mail_costs_per_email_per_chunk_and_the_put_ses_makes(size, chunks):
    lines = {line.item: line for line in inbound_mail_lines(size, PRICES)}
    assert lines["inbound emails received"].usd == pytest.approx(0.10)
    assert lines["inbound mail chunks (256 KB)"].quantity == 1000 * chunks
    assert lines["inbound mail chunks (256 KB)"].usd == pytest.approx(0.09 * chunks)
    assert lines["PutObject of the raw mail (SES's S3 action)"].usd == pytest.approx(0.005)


def test_the_price_file_has_the_support_prices():
    prices = load_prices()
    assert {"s3_put_request", "s3_get_request", "ses_inbound_email", "ses_inbound_chunk"} <= prices["prices"].keys()
    assert sum(line.usd for line in inbound_mail_lines(50_000, prices)) > 0
