"""A day's packing-insert batch, pure: the day's window in a zone, the UTC partitions it reads,
and the render's idempotency and partial skips with in-memory fakes (no AWS, no PDF library)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from pydantic import ValidationError

from postpurchase.errors import NotFound
from postpurchase.insert.batches import (BatchIn, InsertBatchMessage, StoredBatch, batch_document, create_batch,
                                         day_window, render_batch, utc_days)

NOW = datetime(2026, 11, 21, 7, 0, tzinfo=timezone.utc)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def test_a_day_in_a_zone_is_its_local_midnights():
    assert day_window(date(2026, 11, 21), "Europe/Istanbul") == (utc(2026, 11, 20, 21), utc(2026, 11, 21, 21))
    assert day_window(date(2026, 11, 21), "UTC") == (utc(2026, 11, 21), utc(2026, 11, 22))
    # A DST day is 23 hours long (New York, 2026-03-08).
    start, end = day_window(date(2026, 3, 8), "America/New_York")
    assert (end - start).total_seconds() == 23 * 3600


def test_the_window_reads_one_or_two_utc_partitions():
    assert utc_days(*day_window(date(2026, 11, 21), "UTC")) == ["2026-11-21"]
    assert utc_days(*day_window(date(2026, 11, 21), "Europe/Istanbul")) == ["2026-11-20", "2026-11-21"]
    assert utc_days(*day_window(date(2026, 11, 21), "America/Los_Angeles")) == ["2026-11-21", "2026-11-22"]


def test_the_body_is_checked():
    assert BatchIn.model_validate({"date": "2026-11-21", "size": " A4 "}).size == "a4"
    for bad, field in (({"date": "2026-13-01"}, "date"), ({"date": "2026-11-21", "size": "a5"}, "size"),
                       ({"date": "2026-11-21", "timezone": "Nowhere/Land"}, "timezone"),
                       ({"date": "2026-11-21", "timezone": "../../etc/passwd"}, "timezone"),
                       ({"date": "2026-11-21", "extra": 1}, "extra")):
        with pytest.raises(ValidationError) as refused:
            BatchIn.model_validate(bad)
        assert refused.value.errors()[0]["loc"][0] == field


class FakeStore:
    def __init__(self, orders: dict[str, list[tuple[str, datetime]]]) -> None:
        self.batches: dict[tuple[str, str], StoredBatch] = {}
        self.orders = orders  # utc day -> [(order id, placed at)]
        self.reads: list[str] = []

    def create(self, batch, expires_at):
        assert (batch.merchant_id, batch.batch_id) not in self.batches
        self.batches[(batch.merchant_id, batch.batch_id)] = batch

    def get(self, merchant_id, batch_id):
        return self.batches.get((merchant_id, batch_id))

    def complete(self, merchant_id, batch_id, *, status, order_count, skipped, object_key, now):
        batch = self.batches[(merchant_id, batch_id)]
        self.batches[(merchant_id, batch_id)] = batch.model_copy(update=dict(
            status=status, order_count=order_count, skipped=skipped, object_key=object_key, completed_at=now))

    def order_ids(self, merchant_id, day, start, end):
        self.reads.append(day)
        return [order_id for order_id, placed in self.orders.get(day, []) if start <= placed < end]


class FakeFiles:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_pdf(self, key, body):
        self.objects[key] = body

    def download_url(self, key, filename):
        return f"https://s3.example/{key}?sig", 900


def queued(store: FakeStore, body: dict) -> InsertBatchMessage:
    sent: list[InsertBatchMessage] = []
    document = create_batch("m-1", BatchIn.model_validate(body), store, sent.append, NOW)
    assert document["status"] == "queued" and "url" not in document
    [message] = sent
    assert message.batch_id == document["batch_id"]
    return message


def content_of(merchant_id, order_id, now):
    if order_id == "GONE":
        raise NotFound("order GONE not found", field="order_id")
    return order_id  # stands for the InsertContent


def test_the_render_takes_the_zones_day_and_is_idempotent():
    store = FakeStore({"2026-11-20": [("EARLY", utc(2026, 11, 20, 20)), ("A", utc(2026, 11, 20, 22)),
                                      ("GONE", utc(2026, 11, 20, 23))],
                       "2026-11-21": [("B", utc(2026, 11, 21, 8)), ("LATE", utc(2026, 11, 21, 21))]})
    files, rendered = FakeFiles(), []

    def render(contents, size):
        rendered.append((list(contents), size))
        return b"%PDF-fake"

    message = queued(store, {"date": "2026-11-21", "timezone": "Europe/Istanbul", "size": "letter"})
    assert render_batch(message, store, files, content_of, render, NOW) == "ready"
    # Istanbul's 21st: 21:00 UTC on the 20th up to 21:00 UTC on the 21st, in placing order; an
    # order gone since is skipped, the others print.
    assert rendered == [(["A", "B"], "letter")]
    assert store.reads == ["2026-11-20", "2026-11-21"]
    document = batch_document("m-1", message.batch_id, store, files)
    assert (document["status"], document["order_count"], document["skipped"]) == ("ready", 2, 1)
    assert document["url"] == f"https://s3.example/inserts/m-1/{message.batch_id}.pdf?sig"
    assert files.objects == {f"inserts/m-1/{message.batch_id}.pdf": b"%PDF-fake"}
    # Delivered again: nothing read, nothing rendered.
    assert render_batch(message, store, files, content_of, render, NOW) == "duplicate"
    assert len(rendered) == 1 and len(store.reads) == 2


def test_an_empty_day_and_an_unknown_batch():
    store, files = FakeStore({}), FakeFiles()
    message = queued(store, {"date": "2026-11-21"})
    never = lambda contents, size: pytest.fail("nothing to render")  # noqa: E731
    assert render_batch(message, store, files, content_of, never, NOW) == "empty"
    assert batch_document("m-1", message.batch_id, store, files)["status"] == "empty"
    assert "url" not in batch_document("m-1", message.batch_id, store, files)
    gone = InsertBatchMessage(merchant_id="m-1", batch_id="nope")
    assert render_batch(gone, store, files, content_of, never, NOW) == "unknown"
    with pytest.raises(NotFound) as missing:
        batch_document("m-2", message.batch_id, store, files)  # another merchant's id
    assert missing.value.field == "batch_id"


def test_the_last_failing_attempt_marks_the_batch_failed_and_a_redrive_renders_it():
    store, files = FakeStore({"2026-11-21": [("A", utc(2026, 11, 21, 8))]}), FakeFiles()
    message = queued(store, {"date": "2026-11-21"})

    def broken(contents, size):
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        render_batch(message, store, files, content_of, broken, NOW)
    assert store.get("m-1", message.batch_id).status == "queued"  # retried: not failed yet
    with pytest.raises(RuntimeError):
        render_batch(message, store, files, content_of, broken, NOW, last_attempt=True)
    assert store.get("m-1", message.batch_id).status == "failed"
    assert render_batch(message, store, files, content_of, lambda c, s: b"%PDF-", NOW) == "ready"
