"""A day's packing inserts through the real handlers against moto: `POST /v1/inserts/batches`
answers 202 and only enqueues; functions/insert_batches renders the day's orders (the merchant's
own, in its zone's day) into one PDF in S3; `GET /v1/inserts/batches/{id}` answers the status and
a presigned URL. Duplicates render nothing twice, a poison message goes back to the queue."""
from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone
from urllib.parse import unquote, urlparse

import pytest

poppler = pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="poppler-utils missing: run make browser")
QUEUE = "InsertBatchQueue"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def post_batch(aws, body: dict, api_key: str | None = None):
    return aws.client.post("/v1/inserts/batches", headers=aws.auth(api_key), body=aws.encode(body))


def get_batch(aws, batch_id: str, api_key: str | None = None):
    return aws.client.get(f"/v1/inserts/batches/{batch_id}", headers=aws.auth(api_key))


def error_of(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.body[:300])
    error = response.json_body["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error
    return error


def download(aws, url: str) -> bytes:
    """The presigned URL's object (in-process moto answers boto3, not plain HTTP)."""
    import boto3

    parsed = urlparse(url)
    assert "X-Amz-Signature=" in parsed.query and "X-Amz-Expires=900" in parsed.query
    bucket = aws.refs["InsertsBucket"]
    path = unquote(parsed.path).lstrip("/")
    key = path[len(bucket) + 1:] if path.startswith(f"{bucket}/") else path
    return boto3.client("s3", region_name="us-east-1").get_object(Bucket=bucket, Key=key)["Body"].read()


def pages(pdf: bytes, tmp_path) -> tuple[int, str]:
    path = tmp_path / "batch.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return int(info.split("Pages:")[1].split()[0]), text


@pytest.fixture
def day(aws, other_store):
    """demo-store: three orders on 2026-11-20 UTC (one late in the evening, which is the 21st in
    Istanbul), one the day before; other-store: one on the 20th."""
    for order_id, placed in (("D-1", "2026-11-20T06:00:00Z"), ("D-2", "2026-11-20T09:30:00Z"),
                             ("D-3", "2026-11-20T22:30:00Z"), ("BEFORE", "2026-11-19T12:00:00Z")):
        assert aws.post_order(aws.api_order(order_id, placed_at=at(placed))).status_code == 202
    assert aws.post_order(aws.api_order("THEIRS", placed_at=at("2026-11-20T08:00:00Z")),
                          api_key=other_store).status_code == 202
    aws.pump.drain()
    return other_store


@poppler
def test_a_days_inserts_render_to_one_pdf_outside_the_request(aws, day, tmp_path):
    created = post_batch(aws, {"date": "2026-11-20", "size": "a6"})
    assert created.status_code == 202, created.body
    batch = created.json_body
    assert (batch["status"], batch["date"], batch["size"], batch["timezone"]) == ("queued", "2026-11-20", "a6", "UTC")
    assert "url" not in batch
    # Nothing rendered in the request: the batch waits on its queue.
    assert aws.queue_depth(QUEUE) == 1
    assert get_batch(aws, batch["batch_id"]).json_body["status"] == "queued"

    aws.pump.drain()
    ready = get_batch(aws, batch["batch_id"])
    assert ready.status_code == 200
    document = ready.json_body
    assert (document["status"], document["order_count"], document["skipped"]) == ("ready", 3, 0)
    assert document["url_expires_in"] == 900
    count, text = pages(download(aws, document["url"]), tmp_path)
    # One page per order of the day, in the order they were placed; not the day before, not theirs.
    assert count == 3
    assert [n for n in ("D-1", "D-2", "D-3") if f"#{n}" in text or n in text] == ["D-1", "D-2", "D-3"]
    assert text.index("D-1") < text.index("D-2") < text.index("D-3")
    assert "BEFORE" not in text and "THEIRS" not in text
    assert "Teşekkürler, Ayşe!" in text  # each insert in its customer's language (tr-TR)


@poppler
def test_the_day_is_the_merchants_zones_day(aws, day, tmp_path):
    """22:30 UTC on the 20th is 01:30 on the 21st in Istanbul (UTC+3)."""
    batch = post_batch(aws, {"date": "2026-11-21", "size": "a4", "timezone": "Europe/Istanbul"}).json_body
    aws.pump.drain()
    document = get_batch(aws, batch["batch_id"]).json_body
    assert (document["status"], document["order_count"], document["size"]) == ("ready", 1, "a4")
    count, text = pages(download(aws, document["url"]), tmp_path)
    assert count == 1 and "D-3" in text and "D-2" not in text


def test_a_day_without_orders_is_empty_without_a_url(aws, day):
    batch = post_batch(aws, {"date": "2026-11-25"}).json_body
    aws.pump.drain()
    document = get_batch(aws, batch["batch_id"]).json_body
    assert (document["status"], document["order_count"]) == ("empty", 0)
    assert "url" not in document


def test_a_duplicate_message_renders_nothing_again(aws, day, monkeypatch):
    from postpurchase import services

    batch_id = post_batch(aws, {"date": "2026-11-20"}).json_body["batch_id"]
    [body] = aws.take(QUEUE)
    files = services.insert_files()
    puts: list[str] = []
    real_put = files.put_pdf
    monkeypatch.setattr(files, "put_pdf", lambda key, pdf: (puts.append(key), real_put(key, pdf)))
    # Two copies in one batch (SQS delivers at least once), then a third later.
    assert aws.deliver(_module(aws), aws.sqs_event([body, body], QUEUE)) == []
    assert puts == [f"inserts/demo-store/{batch_id}.pdf"]  # the second copy found the batch ready
    first = get_batch(aws, batch_id).json_body
    assert aws.deliver(_module(aws), aws.sqs_event([body], QUEUE)) == []
    again = get_batch(aws, batch_id).json_body
    assert len(puts) == 1
    assert (again["status"], again["order_count"], again["completed_at"]) == (
        "ready", 3, first["completed_at"])

def test_a_poison_message_goes_back_to_the_queue_and_an_unknown_batch_is_dropped(aws, day):
    event = aws.sqs_event(["not json", {"type": "insert_batch", "merchant_id": "demo-store"},
                           {"type": "insert_batch", "merchant_id": "demo-store", "batch_id": "no-such-batch"}], QUEUE)
    failed = aws.deliver(_module(aws), event)
    ids = [record["messageId"] for record in event["Records"]]
    assert failed == ids[:2]  # partial failure: the unknown batch was acknowledged (nothing to do)


def test_bad_bodies_are_400_naming_the_field(aws, day):
    for body, field in (({}, "date"), ({"date": "20-11-2026"}, "date"), ({"date": "2026-11-20", "size": "a5"}, "size"),
                        ({"date": "2026-11-20", "timezone": "Mars/Olympus"}, "timezone"),
                        ({"date": "2026-11-20", "pages": 3}, "pages")):
        error_of(post_batch(aws, body), 400, "validation_error", field)
    assert aws.queue_depth(QUEUE) == 0


def test_batches_are_the_merchants_own(aws, day):
    batch_id = post_batch(aws, {"date": "2026-11-20"}).json_body["batch_id"]
    unknown = error_of(get_batch(aws, "no-such-batch"), 404, "not_found", "batch_id")
    theirs = error_of(get_batch(aws, batch_id, api_key=day), 404, "not_found", "batch_id")
    assert theirs["message"].replace(batch_id, "X") == unknown["message"].replace("no-such-batch", "X")
    # other-store's batch of the same day holds other-store's order only.
    their_batch = post_batch(aws, {"date": "2026-11-20"}, api_key=day).json_body["batch_id"]
    aws.pump.drain()
    assert get_batch(aws, their_batch, api_key=day).json_body["order_count"] == 1
    assert get_batch(aws, batch_id).json_body["order_count"] == 3


def test_without_a_key_401(aws):
    for headers in ({"Content-Type": "application/json"},
                    {"Content-Type": "application/json", "Authorization": "Bearer not-a-key"}):
        error_of(aws.client.post("/v1/inserts/batches", headers=headers, body=b'{"date": "2026-11-20"}'), 401,
                 "unauthorized")
        error_of(aws.client.get("/v1/inserts/batches/x", headers=headers), 401, "unauthorized")


def _module(aws):
    from infra.local.runtime import load_function_module

    return load_function_module("functions/insert_batches", "fn_insert_batches")


def test_a_batch_that_keeps_failing_is_marked_failed_when_it_goes_to_the_dlq(aws, day, monkeypatch):
    from infra.template import queues
    from postpurchase import services
    from postpurchase.errors import RetryLater
    from postpurchase.insert.batches import LAST_RECEIVE

    [queue] = [q for q in queues(aws.template) if q.logical_id == QUEUE]
    assert queue.max_receive_count == LAST_RECEIVE  # the last receive is known to the consumer
    files = services.insert_files()
    real_put, s3_down = files.put_pdf, [True]

    def broken(key, pdf):
        if s3_down[0]:
            raise RetryLater("S3 is down")
        real_put(key, pdf)

    monkeypatch.setattr(files, "put_pdf", broken)
    batch_id = post_batch(aws, {"date": "2026-11-20"}).json_body["batch_id"]
    aws.pump.drain()
    assert get_batch(aws, batch_id).json_body["status"] == "failed"
    assert aws.queue_depth("InsertBatchDLQ") == 1 and aws.queue_depth(QUEUE) == 0
    # Redriven from the DLQ once S3 is back: rendered.
    s3_down[0] = False
    for body in aws.take("InsertBatchDLQ"):
        aws.send(QUEUE, body)
    aws.pump.drain()
    assert get_batch(aws, batch_id).json_body["status"] == "ready"


# --- the merchant's settings are read once per batch, not once per order -----------------------

REFERRALS = {"referrer_reward": {"discount_type": "amount", "value": "10", "valid_days": 60},
             "friend_reward": {"discount_type": "percent", "value": "15"}, "monthly_cap": 5}
LOYALTY = {"points_per_unit": "1", "review_bonus": 20, "birthday_bonus": 100, "expiry_months": 12,
           "notice_days": 14, "min_redemption": 10, "point_value": "0.05", "code_valid_days": 60}


@pytest.fixture
def requests_made(monkeypatch):
    """Every AWS request from here on as (operation, params), counted at botocore's API call as
    the bench counts them (infra/aws_requests.py)."""
    from botocore.client import BaseClient

    made: list[tuple[str, dict]] = []
    below = BaseClient._make_api_call

    def recorded(client, operation, params):
        made.append((operation, params))
        return below(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    return made


def _reads_of(made: list[tuple[str, dict]], sk: str) -> int:
    return sum(1 for operation, params in made
               if operation == "GetItem" and params.get("Key", {}).get("sk", {}).get("S") == sk)


@poppler
def test_a_batch_reads_the_merchants_settings_once_for_all_its_orders(aws, day, tmp_path, requests_made):
    from postpurchase.storage import keys, loyalty, merchants
    from postpurchase.storage.referrals import DynamoReferralStore

    for path, body in (("/v1/settings/referrals", REFERRALS), ("/v1/settings/loyalty", LOYALTY)):
        assert aws.client.put(path, headers=aws.auth(), body=aws.encode(body)).status_code == 200
    batch_id = post_batch(aws, {"date": "2026-11-20"}).json_body["batch_id"]
    merchants.clear_caches()  # a fresh container: nothing cached
    loyalty.clear_cache()
    requests_made.clear()
    aws.pump.drain()
    document = get_batch(aws, batch_id).json_body
    assert (document["status"], document["order_count"]) == ("ready", 3)
    # Three orders, each merchant-wide item read once (it was twice per order for the referral
    # settings, and the loyalty settings once per order whenever their cache had expired).
    assert _reads_of(requests_made, keys.REFERRAL_SETTINGS_SK) == 1, requests_made
    assert _reads_of(requests_made, keys.LOYALTY_SETTINGS_SK) == 1
    assert _reads_of(requests_made, keys.SETTINGS_SK) == 1  # the merchant (branding)
    # Per order only what is the order's or its customer's: the order partition, the referral
    # code, the points ledger.
    order_queries = [params for operation, params in requests_made if operation == "Query"
                     and params.get("IndexName") is None]
    assert len(order_queries) == 2 * 3, [p.get("KeyConditionExpression") for p in order_queries]
    # The programmes still print on every page.
    from postpurchase import services

    customer_id = services.order_store().get_order("demo-store", "D-1").customer.customer_id()
    code = DynamoReferralStore().code_of("demo-store", customer_id)
    assert code
    count, text = pages(download(aws, document["url"]), tmp_path)
    assert count == 3 and text.count(code) == 3, text
    assert text.count("Puan bakiyeniz:") == 3  # the loyalty balance line (tr-TR), from the settings read once
