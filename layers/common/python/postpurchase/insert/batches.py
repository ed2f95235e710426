"""A day's packing inserts as one PDF: `POST /v1/inserts/batches` records the batch and enqueues
it (202, nothing rendered in the request); functions/insert_batches renders every order placed
that day, one page each, to S3; `GET /v1/inserts/batches/{batch_id}` answers its status and,
when ready, a presigned URL of the PDF.

The day is the merchant's: a calendar date in the zone the request names (UTC unless given).
Orders are found on the keys-only gsi4 by UTC day (keys.orders_day_pk), so a zone's day reads
one or two partitions, one Query per page of 1000 keys each.

Idempotent on the batch id: a redelivered message of a batch already ready does nothing, and a
retried render writes the same object key again.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Iterable, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import NotFound
from ..observability import logger
from .content import InsertContent, PaperSize

# Pages of one batch at most: a page takes about 0.2 s of one CPU to lay out and shape (measured:
# 102 mixed-script A6 pages in 21.7 s), so 1000 pages stay well inside the function's 900 s
# Timeout. The rest of a bigger day is left out and logged; ask again per zone-half of the day.
MAX_BATCH_ORDERS = 1000
# The insert-batch queue's maxReceiveCount (template.yaml): the receive that fails for the last
# time marks the batch failed before the message goes to the DLQ.
LAST_RECEIVE = 5
BATCH_TTL = timedelta(days=7)  # the batch record and its PDF (the bucket's lifecycle rule) then go


class BatchIn(BaseModel):
    """`POST /v1/inserts/batches` body."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    size: PaperSize = "a6"
    timezone: str = Field(default="UTC", max_length=64)

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone such as Europe/Istanbul") from None
        return value


class InsertBatchMessage(BaseModel):
    """The insert-batches queue's message: which batch to render."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = "insert_batch"
    merchant_id: str = Field(min_length=1, max_length=200)
    batch_id: str = Field(min_length=1, max_length=64)


class StoredBatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    merchant_id: str
    batch_id: str
    request: BatchIn
    status: str  # queued | ready | empty | failed
    order_count: int = 0
    skipped: int = 0
    object_key: str | None = None
    created_at: datetime
    completed_at: datetime | None = None


class BatchStore(Protocol):
    def create(self, batch: StoredBatch, expires_at: datetime) -> None: ...
    def get(self, merchant_id: str, batch_id: str) -> StoredBatch | None: ...
    def complete(self, merchant_id: str, batch_id: str, *, status: str, order_count: int, skipped: int,
                 object_key: str | None, now: datetime) -> None: ...
    def order_ids(self, merchant_id: str, day: str, start: datetime, end: datetime) -> list[str]: ...


class BatchFiles(Protocol):
    def put_pdf(self, key: str, body: bytes) -> None: ...
    def download_url(self, key: str, filename: str) -> tuple[str, int]: ...


def day_window(day: date, zone_name: str) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of a calendar day in a zone (23 to 25 hours around DST)."""
    zone = ZoneInfo(zone_name)
    start = datetime.combine(day, time(0), zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
    return start, end


def utc_days(start: datetime, end: datetime) -> list[str]:
    """The UTC dates ("yyyy-mm-dd") the window [start, end) touches: the gsi4 partitions to read."""
    days, current = [], start.date()
    while datetime.combine(current, time(0), timezone.utc) < end:
        days.append(current.isoformat())
        current += timedelta(days=1)
    return days


def object_key(merchant_id: str, batch_id: str) -> str:
    return f"inserts/{merchant_id}/{batch_id}.pdf"


def create_batch(merchant_id: str, body: BatchIn, store: BatchStore, enqueue: Callable[[InsertBatchMessage], None],
                 now: datetime) -> dict[str, Any]:
    """Record the batch (queued), then enqueue it: the render runs in functions/insert_batches."""
    batch = StoredBatch(merchant_id=merchant_id, batch_id=uuid.uuid4().hex, request=body, status="queued",
                        created_at=now)
    store.create(batch, now + BATCH_TTL)
    enqueue(InsertBatchMessage(merchant_id=merchant_id, batch_id=batch.batch_id))
    return _document(batch, None)


def batch_document(merchant_id: str, batch_id: str, store: BatchStore, files: BatchFiles) -> dict[str, Any]:
    batch = store.get(merchant_id, batch_id)
    if batch is None:  # another merchant's batch answers exactly like a missing one
        raise NotFound(f"batch {batch_id} not found", field="batch_id")
    download = None
    if batch.status == "ready" and batch.object_key:
        download = files.download_url(batch.object_key, f"inserts-{batch.request.date}-{batch.request.size}.pdf")
    return _document(batch, download)


def _document(batch: StoredBatch, download: tuple[str, int] | None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "batch_id": batch.batch_id, "status": batch.status, "date": batch.request.date.isoformat(),
        "size": batch.request.size, "timezone": batch.request.timezone, "order_count": batch.order_count,
        "skipped": batch.skipped, "created_at": batch.created_at.isoformat(),
        "completed_at": batch.completed_at.isoformat() if batch.completed_at else None}
    if download:
        document["url"], document["url_expires_in"] = download
    return document


def render_batch(message: InsertBatchMessage, store: BatchStore, files: BatchFiles,
                 content_of: Callable[[str, str, datetime], InsertContent],
                 render: Callable[[Iterable[InsertContent], str], bytes], now: datetime, *,
                 last_attempt: bool = False) -> str:
    """Render the batch's orders, one page each, in the order they were placed; "duplicate" when
    the batch is already done, "unknown" for no such batch (expired: nothing to do). An error
    is raised again (the message is retried); on the ``last_attempt`` the batch is marked failed
    first, so the merchant is not left polling a batch that sits in the DLQ."""
    batch = store.get(message.merchant_id, message.batch_id)
    if batch is None:
        return "unknown"
    if batch.status in ("ready", "empty"):  # failed: a message redriven from the DLQ tries again
        return "duplicate"
    try:
        return _render(message, batch, store, files, content_of, render, now)
    except Exception:
        if last_attempt:
            store.complete(message.merchant_id, message.batch_id, status="failed", order_count=0, skipped=0,
                           object_key=None, now=now)
        raise


def _render(message: InsertBatchMessage, batch: StoredBatch, store: BatchStore, files: BatchFiles,
            content_of: Callable[[str, str, datetime], InsertContent],
            render: Callable[[Iterable[InsertContent], str], bytes], now: datetime) -> str:
    request = batch.request
    start, end = day_window(request.date, request.timezone)
    order_ids: list[str] = []
    for day in utc_days(start, end):
        order_ids.extend(store.order_ids(message.merchant_id, day, start, end))
    if len(order_ids) > MAX_BATCH_ORDERS:
        logger.warning("insert batch cut", extra={"orders": len(order_ids), "max": MAX_BATCH_ORDERS})
        order_ids = order_ids[:MAX_BATCH_ORDERS]
    contents: list[InsertContent] = []
    skipped = 0
    for order_id in order_ids:
        try:
            contents.append(content_of(message.merchant_id, order_id, now))
        except NotFound:  # erased or gone since: the others still print
            skipped += 1
    if not contents:
        store.complete(message.merchant_id, message.batch_id, status="empty", order_count=0, skipped=skipped,
                       object_key=None, now=now)
        return "empty"
    key = object_key(message.merchant_id, message.batch_id)
    files.put_pdf(key, render(contents, request.size))
    store.complete(message.merchant_id, message.batch_id, status="ready", order_count=len(contents),
                   skipped=skipped, object_key=key, now=now)
    return "ready"

