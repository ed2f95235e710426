"""The per-merchant token bucket on the authenticated API routes, through Chalice against moto."""
from __future__ import annotations

from datetime import timedelta

import pytest

from infra.aws_requests import count_aws_requests

RATE, BURST = 1, 3


@pytest.fixture
def limited(aws, monkeypatch):
    """The API with a small bucket per merchant: 1 request a second, bursts of 3."""
    from postpurchase import config, services

    monkeypatch.setenv("MERCHANT_API_RATE_PER_SECOND", str(RATE))
    monkeypatch.setenv("MERCHANT_API_BURST", str(BURST))
    config.reset()
    services.merchant_rate_limiter.cache_clear()
    yield aws
    config.reset()
    services.merchant_rate_limiter.cache_clear()


def assert_rate_limited(response) -> dict:
    assert response.status_code == 429, (response.status_code, response.body[:300])
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json_body
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == "rate_limited"
    assert error["limit"] == "merchant_api"
    assert (error["rate_per_second"], error["burst"], error["retry_after_seconds"]) == (RATE, BURST, 1)
    assert "1 requests a second, bursts of 3" in error["message"]
    return error


def test_merchant_a_is_throttled_while_merchant_b_is_not(limited, other_store):
    aws = limited
    answers_a = [aws.get_order("NOPE-1").status_code for _ in range(BURST)]  # 404s still spend a token

    refused = aws.get_order("NOPE-1")
    answers_b = [aws.get_order("NOPE-1", api_key=other_store).status_code for _ in range(BURST)]

    assert answers_a == [404] * BURST
    assert_rate_limited(refused)
    assert answers_b == [404] * BURST  # another merchant's bucket is its own
    assert aws.get_order("NOPE-1", api_key=other_store).status_code == 429


def test_tokens_come_back_at_the_configured_rate(limited):
    aws = limited
    for _ in range(BURST):
        assert aws.post_order(aws.api_order("R-1")).status_code == 202
    assert_rate_limited(aws.post_order(aws.api_order("R-1")))

    aws.clock.advance(timedelta(seconds=1))

    assert aws.post_order(aws.api_order("R-1")).status_code == 202
    assert aws.post_order(aws.api_order("R-1")).status_code == 429


def test_every_authenticated_route_spends_from_the_same_bucket(limited):
    aws = limited
    assert aws.client.get("/v1/settings/loyalty", headers=aws.auth()).status_code == 200
    assert aws.client.get("/v1/catalog", headers=aws.auth()).status_code == 200
    assert aws.client.get("/v1/returns/policy", headers=aws.auth()).status_code in (200, 404)

    assert_rate_limited(aws.client.get("/v1/feedback", headers=aws.auth()))
    # Calls without a merchant key (the storefront's public reads) are not counted here.
    assert aws.client.get("/v1/returns/policy?merchant=demo-store").status_code in (200, 404)


def test_unauthenticated_calls_spend_nothing(limited):
    aws = limited
    for _ in range(BURST + 2):
        assert aws.get_order("NOPE-1", api_key="not-a-key").status_code == 401

    assert aws.get_order("NOPE-1").status_code == 404


def test_the_bucket_costs_one_write_and_no_read_per_call(limited):
    aws = limited
    assert aws.post_order(aws.api_order("C-1")).status_code == 202
    aws.pump.drain()
    assert aws.get_order("C-1").status_code == 200  # warm-up: the API-key cache is hot now
    aws.clock.advance(timedelta(seconds=10))

    with count_aws_requests() as allowed:
        assert aws.get_order("C-1").status_code == 200
    for _ in range(BURST - 1):
        assert aws.get_order("C-1").status_code == 200
    with count_aws_requests() as refused:
        assert aws.get_order("C-1").status_code == 429

    dynamodb = {op: n for (service, op), n in allowed.items() if service == "DynamoDB"}
    assert dynamodb == {"Query": 1, "UpdateItem": 1}
    assert dict(refused) == {("DynamoDB", "UpdateItem"): 1}  # the failed condition is the only request


def test_another_container_moving_the_bucket_is_seen_from_the_failed_condition(limited):
    """Two containers share one bucket: the second's stale view costs no extra request."""
    from postpurchase.security.rate_limit import TokenBucket
    from postpurchase.storage.rate_buckets import DynamoRateBuckets

    bucket = TokenBucket(RATE, BURST)
    first, second = DynamoRateBuckets(bucket), DynamoRateBuckets(bucket)
    now = limited.clock.now()
    assert first.take("demo-store", now).allowed and second.take("demo-store", now).allowed  # stale: uncounted
    assert first.take("demo-store", now).allowed

    with count_aws_requests() as requests:
        decisions = [second.take("demo-store", now).allowed for _ in range(2)]

    assert decisions == [True, False]  # the bucket held 3: the first container spent 2, this one 1
    assert dict(requests) == {("DynamoDB", "UpdateItem"): 2}
    item = limited.item("M#demo-store#RATE", "BUCKET#merchant_api")
    assert item["type"] == "rate_bucket" and "expires_at" in item


def test_a_zero_rate_turns_the_limit_off(aws, monkeypatch):
    from postpurchase import config, services

    monkeypatch.setenv("MERCHANT_API_RATE_PER_SECOND", "0")
    config.reset()
    services.merchant_rate_limiter.cache_clear()

    assert all(aws.get_order("NOPE-1").status_code == 404 for _ in range(50))
    assert aws.item("M#demo-store#RATE", "BUCKET#merchant_api") is None
