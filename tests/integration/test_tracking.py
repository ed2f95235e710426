"""Shipment tracking end to end, in process: the API, the tracking worker and poller, moto.

A shipment posted to the API is registered with the merchant's provider (demo-store: the
deterministic sandbox carrier, whose parcels move relative to their registration time), put
on the sharded poll index and followed by the poller on the simulated clock until it ends;
each status change schedules one notice check and each notice kind is emailed at most once.
Provider webhooks (EasyPost, AfterShip) feed the same shipments: recorded payloads from
events/carriers/ with their scans moved after the shipment's creation.

NOTICE_DEBOUNCE_SECONDS is 0 here (the `trk` fixture) so a notice check runs in the same
drain; test_notice_check_waits_for_the_debounce covers the real delay on the queue.
"""
from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any, Iterable

import pytest

from infra.aws_requests import count_aws_requests
from infra.local.runtime import REPO_ROOT, load_function_module

MERCHANT = "demo-store"
CARRIER_EVENTS = REPO_ROOT / "events" / "carriers"
EASYPOST_SECRET = "demo-easypost-secret"
AFTERSHIP_SECRET = "demo-aftership-secret"


# ------------------------------------------------------------------------------ helpers


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def notice_header(message: EmailMessage) -> str:
    # Long values are folded onto a continuation line; unfolded, they keep the folding space.
    return str(message["X-Postpurchase-Message"]).strip()


def easypost_event(tracking_code: str, status: str,
                   details: Iterable[tuple[datetime | str, str, str | None, str]], *,
                   description: str = "tracker.updated", tracker_id: str = "trk_integration0001",
                   est_delivery: datetime | None = None) -> dict[str, Any]:
    """events/carriers/easypost/webhook_tracker_updated.json for another code, status and scans
    ((time, status, status_detail, message) each; all at one place, Brooklyn). A datetime is sent
    in UTC ("Z"); a string as given (EasyPost also sends carrier-local times with an offset)."""
    event = json.loads((CARRIER_EVENTS / "easypost" / "webhook_tracker_updated.json").read_text(encoding="utf-8"))
    event["description"] = description
    tracker = event["result"]
    template = tracker["tracking_details"][-1]
    tracker.update(id=tracker_id, tracking_code=tracking_code, status=status, status_detail=None, signed_by=None,
                   est_delivery_date=iso(est_delivery) if est_delivery else None)
    tracker["tracking_details"] = [dict(template, datetime=at if isinstance(at, str) else iso(at),
                                        status=scan_status, status_detail=detail,
                                        message=message, carrier_code=None)
                                   for at, scan_status, detail, message in details]
    return event


def aftership_event(tracking_number: str, tag: str, checkpoints: Iterable[tuple[datetime, str, str]]) -> dict[str, Any]:
    """events/carriers/aftership/webhook_tracking_update.json for another number, tag and
    checkpoints ((time, tag, message) each)."""
    payload = json.loads((CARRIER_EVENTS / "aftership" / "webhook_tracking_update.json").read_text(encoding="utf-8"))
    tracking = payload["msg"]
    template = tracking["checkpoints"][1]
    tracking.update(tracking_number=tracking_number, title=tracking_number, tag=tag, subtag=f"{tag}_001",
                    signed_by=None)
    tracking["checkpoints"] = [dict(template, checkpoint_time=iso(at), tag=cp_tag, subtag=f"{cp_tag}_001",
                                    message=message, raw_tag=None)
                               for at, cp_tag, message in checkpoints]
    return payload


@dataclass
class Tracking:
    """The `aws` fixture plus the poller, and what the tracking worker did: the outcome of each
    use case and each notice it requested (shipment id, kind, when)."""

    aws: Any
    poller: Any
    outcomes: list[tuple[str, str]] = field(default_factory=list)
    notices: list[tuple[str, str, datetime]] = field(default_factory=list)
    published: int = 0  # messages the product put on any queue
    _clients: dict[str, Any] = field(default_factory=dict)

    # --- setting up ------------------------------------------------------------------------

    def order(self, order_id: str, placed_at: datetime | None = None) -> None:
        response = self.aws.post_order(self.aws.api_order(order_id, placed_at or self.aws.clock.now()))
        assert response.status_code == 202, response.json_body
        self.aws.pump.drain()

    def ship(self, order_id: str, tracking_number: str, carrier: str = "usps", **fields: Any) -> str:
        """POST /v1/orders/{id}/shipments, then every queue drained; the shipment id."""
        response = self.aws.post_shipment(order_id, {"carrier": carrier, "tracking_number": tracking_number,
                                                     **fields})
        assert response.status_code == 201, response.json_body
        self.aws.pump.drain()
        return response.json_body["shipment_id"]

    def store_shipments(self, numbers: Iterable[int], next_poll_at: datetime) -> list[tuple[str, str]]:
        """Shipment items written straight to the table, on the poll index at `next_poll_at`."""
        from postpurchase.orders.models import Shipment
        from postpurchase.storage import keys
        from postpurchase.storage.table import ShipmentRecord
        from postpurchase.storage.tracking import poll_shard

        stored = []
        now = self.aws.clock.now()
        with ShipmentRecord.batch_write() as batch:
            for n in numbers:
                order_id, shipment_id, code = f"P-{n}", f"s-{n}", f"SBX-OK-{n:05d}"
                shipment = Shipment(shipment_id=shipment_id, carrier="usps", tracking_number=code, created_at=now)
                batch.save(ShipmentRecord(
                    keys.order_pk(MERCHANT, order_id), keys.shipment_sk(shipment_id), merchant_id=MERCHANT,
                    order_id=order_id, shipment_id=shipment_id, document=shipment.model_dump_json(), carrier="usps",
                    tracking_number=code, recorded_at=now, updated_at=now, tracking_revision=1,
                    gsi2pk=keys.poll_shard_pk(poll_shard(MERCHANT, order_id, shipment_id)),
                    gsi2sk=f"{next_poll_at.isoformat()}|{MERCHANT}|{order_id}|{shipment_id}"))
                stored.append((order_id, shipment_id))
        return stored

    # --- driving ---------------------------------------------------------------------------

    def sweep(self) -> dict:
        """One poller run (the 5-minute schedule), then every queue drained."""
        result = self.aws.invoke(self.poller, {})
        self.aws.pump.drain()
        return result

    def follow(self, shipments: list[tuple[str, str]], until: datetime) -> int:
        """Moves the clock from one due poll to the next (at most a few minutes late, like the
        5-minute schedule) and hands each due shipment's PollShipment to the tracking worker, as
        the poller would (the poller itself: test_parcel_is_followed_to_delivery and the poller
        tests); what that queues (notice checks, emails, retries) is drained. Until `until` or no
        shipment is left on the poll index; returns the number of polls."""
        from postpurchase.tracking.messages import PollShipment

        polls = 0
        while self.aws.clock.now() < until:
            dues = {shipment: due for shipment in shipments if (due := self._due(*shipment)) is not None}
            if not dues:
                break
            earliest = min(datetime.fromisoformat(due) for due in dues.values())
            now = min(max(earliest + timedelta(minutes=1), self.aws.clock.now() + timedelta(minutes=5)), until)
            self.aws.clock.set(now)
            bodies = [PollShipment(merchant_id=MERCHANT, order_id=order_id, shipment_id=shipment_id,
                                   due=due).model_dump_json()
                      for (order_id, shipment_id), due in dues.items() if datetime.fromisoformat(due) <= now]
            if not bodies:
                continue
            polls += len(bodies)
            published = self.published
            event = self.aws.sqs_event(bodies, "TrackingQueue")
            failed = set(self.aws.deliver(self.aws.tracking_worker, event))
            for record in event["Records"]:
                if record["messageId"] in failed:
                    self.aws.send("TrackingQueue", record["body"])  # back on the queue, as SQS would
            if failed or self.published != published:
                self.aws.pump.drain()
        return polls

    def post_easypost(self, event: dict | bytes, merchant_id: str = MERCHANT, *, secret: str = EASYPOST_SECRET,
                      signature: str | None = None, omit_signature: bool = False):
        from postpurchase.tracking.carriers.easypost import sign

        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        headers = {"Content-Type": "application/json"}
        if not omit_signature:
            headers["X-Hmac-Signature"] = signature if signature is not None else sign(body, secret)
        return self.aws.client.post(f"/webhooks/easypost/{merchant_id}", headers=headers, body=body)

    def post_aftership(self, payload: dict | bytes, merchant_id: str = MERCHANT, *,
                       secret: str = AFTERSHIP_SECRET, signature: str | None = None, omit_signature: bool = False):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if not omit_signature:
            headers["aftership-hmac-sha256"] = signature if signature is not None else self.aws.sign(body, secret)
        return self.aws.client.post(f"/webhooks/aftership/{merchant_id}", headers=headers, body=body)

    # --- reading ---------------------------------------------------------------------------

    def item(self, order_id: str, shipment_id: str) -> dict[str, Any]:
        return self.aws.item(f"M#{MERCHANT}#O#{order_id}", f"SHIP#{shipment_id}")

    def load(self, order_id: str, shipment_id: str):
        from postpurchase.storage.tracking import DynamoTrackingStore

        return DynamoTrackingStore().load(MERCHANT, order_id, shipment_id)

    def next_due(self, order_id: str, shipment_id: str) -> datetime | None:
        due = self._due(order_id, shipment_id)
        return datetime.fromisoformat(due) if due else None

    def _due(self, order_id: str, shipment_id: str) -> str | None:
        """The shipment's next poll time as the poll index holds it (gsi2sk's first part)."""
        item = self._client("dynamodb").get_item(
            TableName=self.aws.refs["Table"], ConsistentRead=True, ProjectionExpression="gsi2sk",
            Key={"pk": {"S": f"M#{MERCHANT}#O#{order_id}"}, "sk": {"S": f"SHIP#{shipment_id}"}}).get("Item", {})
        return item["gsi2sk"]["S"].split("|")[0] if "gsi2sk" in item else None

    def kinds(self, shipment_id: str) -> list[str]:
        """The notices the worker requested for this shipment, in order."""
        return [kind for sid, kind, _ in self.notices if sid == shipment_id]

    def notice_emails(self) -> list[EmailMessage]:
        return [message for message in self.aws.sent_emails()
                if notice_header(message).startswith(f"{MERCHANT}/shipment_")]

    def queue_attributes(self, queue_id: str) -> dict[str, str]:
        return self._client("sqs").get_queue_attributes(QueueUrl=self.aws.refs[queue_id],
                                                        AttributeNames=["All"])["Attributes"]

    def _client(self, service: str):
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(service, region_name="us-east-1")
        return self._clients[service]


@pytest.fixture
def trk(aws, monkeypatch) -> Tracking:
    from postpurchase import config
    from postpurchase.adapters.queues import SqsPublisher
    from postpurchase.tracking import service
    from postpurchase.tracking.effects import QueueEffects

    monkeypatch.setenv("NOTICE_DEBOUNCE_SECONDS", "0")
    config.reset()
    tracking = Tracking(aws=aws, poller=load_function_module("functions/tracking_poller", "fn_tracking_poller"))

    for name in ("start_tracking", "poll", "receive_update", "check_notice"):
        def recorded(*args, _use_case=getattr(service, name), _name=name, **kwargs):
            outcome = _use_case(*args, **kwargs)
            tracking.outcomes.append((_name, outcome))
            return outcome

        monkeypatch.setattr(service, name, recorded)

    request_notice = QueueEffects.request_notice

    def recorded_notice(self, tracked, kind, now):
        request_notice(self, tracked, kind, now)
        tracking.notices.append((tracked.shipment.shipment_id, kind.value, now))

    monkeypatch.setattr(QueueEffects, "request_notice", recorded_notice)

    publish = SqsPublisher.publish

    def counted_publish(self, *args, **kwargs):
        tracking.published += 1
        return publish(self, *args, **kwargs)

    monkeypatch.setattr(SqsPublisher, "publish", counted_publish)
    return tracking


# ------------------------------------------------------------------------------ start


def test_new_shipment_is_registered_and_scheduled(trk: Tracking):
    aws = trk.aws
    trk.order("T-1")
    shipment_id = trk.ship("T-1", "SBX-OK-0001")

    assert ("start_tracking", "tracking_started") in trk.outcomes
    item = trk.item("T-1", shipment_id)
    assert item["status"] == "info_received"
    assert item["provider"] == "sandbox"
    assert item["provider_tracker_id"] == f"sbx_{int(aws.now.timestamp())}"
    assert int(item["tracking_revision"]) == 2  # registered, then the shipped notice recorded
    # On the poll index: shard key and "<next poll>|merchant|order|shipment".
    tracked = trk.load("T-1", shipment_id)
    from postpurchase.storage.tracking import poll_shard

    assert item["gsi2pk"] == f"POLL#{poll_shard(MERCHANT, 'T-1', shipment_id)}"
    due, merchant_id, order_id, sid = item["gsi2sk"].split("|")
    assert (merchant_id, order_id, sid) == (MERCHANT, "T-1", shipment_id)
    assert datetime.fromisoformat(due) == tracked.tracking.next_poll_at
    # Never scanned yet: the pre-transit cadence (6 h, plus at most 10 % jitter).
    assert timedelta(hours=6) <= tracked.tracking.next_poll_at - aws.now < timedelta(hours=6, minutes=36)
    # The label scan is stored as a timeline event under the shipment.
    [event] = [i for i in aws.items_of_type("tracking_event") if i["shipment_id"] == shipment_id]
    assert event["pk"] == f"M#{MERCHANT}#O#T-1" and event["sk"].startswith(f"SHIP#{shipment_id}#EV#")
    assert [e.status.value for e in tracked.timeline] == ["info_received"]
    assert tracked.timeline[0].occurred_at == aws.now
    # The first notice: shipped, once.
    assert trk.kinds(shipment_id) == ["shipped"]
    assert tracked.tracking.notices_sent == {"shipped"}
    for queue_id in ("TrackingQueue", "TrackingDLQ", "OrderEventsDLQ"):
        assert aws.queue_depth(queue_id) == 0, queue_id


def test_redelivered_track_shipment_does_not_register_again(trk: Tracking):
    aws = trk.aws
    trk.order("T-1")
    shipment_id = trk.ship("T-1", "SBX-OK-0001")
    before = trk.item("T-1", shipment_id)
    aws.clock.advance(timedelta(minutes=3))

    body = {"type": "TrackShipment", "merchant_id": MERCHANT, "order_id": "T-1", "shipment_id": shipment_id}
    assert aws.deliver(aws.tracking_worker, aws.sqs_event([body], "TrackingQueue")) == []

    assert trk.outcomes[-1] == ("start_tracking", "already_tracking")
    assert trk.item("T-1", shipment_id) == before


# ------------------------------------------------------------------------------ following a parcel


def test_parcel_is_followed_to_delivery(trk: Tracking):
    aws = trk.aws
    trk.order("T-1")
    shipment_id = trk.ship("T-1", "SBX-OK-0001")
    statuses = ["info_received"]
    enqueued, after_delivery = [], 0
    for _ in range(40):  # up to five days, a sweep every three hours
        aws.clock.advance(timedelta(hours=3))
        enqueued.append(trk.sweep()["enqueued"])
        status = trk.item("T-1", shipment_id)["status"]
        if status != statuses[-1]:
            statuses.append(status)
        elif status == "delivered":
            after_delivery += 1
            if after_delivery == 2:
                break

    assert statuses == ["info_received", "in_transit", "out_for_delivery", "delivered"]
    item = trk.item("T-1", shipment_id)
    tracked = trk.load("T-1", shipment_id)
    delivered_event = tracked.timeline[-1]
    assert delivered_event.status.value == "delivered"
    assert tracked.tracking.delivered_at == delivered_event.occurred_at
    # The order records its first delivery.
    order = aws.item(f"M#{MERCHANT}#O#T-1", "ORDER")
    assert parse_utc(order["delivered_at"]) == delivered_event.occurred_at
    # Polling stopped: off the poll index, and later sweeps find nothing.
    assert "gsi2pk" not in item and "gsi2sk" not in item
    assert tracked.tracking.next_poll_at is None
    assert enqueued[-2:] == [0, 0] and sum(enqueued) >= 10

    response = aws.client.get("/v1/orders/T-1/tracking", headers=aws.auth())
    assert response.status_code == 200
    [parcel] = response.json_body["shipments"]
    assert parcel["shipment_id"] == shipment_id
    assert parcel["status"] == "delivered"
    assert parcel["delivered_at"] == delivered_event.occurred_at.isoformat()
    assert parcel["eta"] is None  # no estimate once delivered
    assert parcel["tracking_url"] == "https://tools.usps.com/go/TrackConfirmAction?tLabels=SBX-OK-0001"
    timeline = parcel["timeline"]
    assert [entry["time"] for entry in timeline] == sorted(entry["time"] for entry in timeline)
    assert [entry["time"] for entry in timeline] == [e.occurred_at.isoformat() for e in tracked.timeline]
    assert len(timeline) >= 8
    assert timeline[0]["status"] == "info_received" and timeline[0]["time"] == aws.now.isoformat()
    assert timeline[-1]["status"] == "delivered"
    assert [e["status"] for e in timeline].count("out_for_delivery") == 1
    assert all(entry["place"] and entry["description"] for entry in timeline)
    assert timeline[-1]["description"] == "Delivered, left at front door"
    # Every scan stored once, whatever the number of polls that saw it.
    events = [i for i in aws.items_of_type("tracking_event") if i["shipment_id"] == shipment_id]
    assert len(events) == len(timeline)
    # One notice per status worth telling, each emailed once.
    assert trk.kinds(shipment_id) == ["shipped", "out_for_delivery", "delivered"]
    assert [notice_header(m) for m in trk.notice_emails()] == [
        f"{MERCHANT}/shipment_{kind}#{shipment_id}" for kind in ("shipped", "out_for_delivery", "delivered")]


def test_redelivered_poll_is_not_due_and_does_not_ask_the_carrier(trk: Tracking, monkeypatch):
    from postpurchase.tracking.carriers.sandbox import SandboxCarrier

    aws = trk.aws
    trk.order("T-1")
    shipment_id = trk.ship("T-1", "SBX-OK-0001")
    fetches = []
    original = SandboxCarrier.fetch

    def counting_fetch(self, carrier, tracking_number, provider_tracker_id):
        fetches.append(tracking_number)
        return original(self, carrier, tracking_number, provider_tracker_id)

    monkeypatch.setattr(SandboxCarrier, "fetch", counting_fetch)
    aws.clock.set(trk.next_due("T-1", shipment_id) + timedelta(minutes=1))
    assert aws.invoke(trk.poller, {})["enqueued"] == 1
    [body] = aws.take("TrackingQueue")

    # SQS delivers at least once: the same PollShipment twice.
    assert aws.deliver(aws.tracking_worker, aws.sqs_event([body], "TrackingQueue")) == []
    assert aws.deliver(aws.tracking_worker, aws.sqs_event([body], "TrackingQueue")) == []

    polls = [outcome for use_case, outcome in trk.outcomes if use_case == "poll"]
    assert polls[0] in ("updated", "unchanged") and polls[1:] == ["not_due"]
    assert fetches == ["SBX-OK-0001"]
    assert trk.next_due("T-1", shipment_id) > aws.clock.now()


@pytest.mark.parametrize("answer, calls, retry_after", [
    # JSON, but not a tracker: asking again at once would not help.
    ((200, {}, b'{"object": "Tracker", "id": "trk_1", "tracking_code": null}'), 1, None),
    ((200, {}, b"<html>maintenance</html>"), 2, None),  # transient: retried within the call
    ((429, {"Retry-After": "7200"}, b""), 1, timedelta(hours=2)),  # not waited for in the Lambda
])
def test_a_carrier_answering_garbage_or_429_is_a_failed_poll_not_a_failed_message(trk: Tracking, monkeypatch,
                                                                                    answer, calls, retry_after):
    """The worker with a real EasyPostClient over HttpClient: garbage and a long 429 fail the poll
    (counted, rescheduled no sooner than Retry-After), never the SQS record (which would be
    redelivered against the same carrier at once and end in the DLQ)."""
    import io
    import urllib.error
    from email.message import Message

    from postpurchase import services
    from postpurchase.tracking.carriers.easypost import EasyPostClient
    from postpurchase.tracking.carriers.http import HttpClient, RetryPolicy

    class Opener:
        calls = 0

        def open(self, request, timeout=None):
            Opener.calls += 1
            status, headers, body = answer
            if status != 200:
                message = Message()
                for key, value in headers.items():
                    message[key] = value
                raise urllib.error.HTTPError(request.full_url, status, "error", message, io.BytesIO(body))
            response = io.BytesIO(body)
            response.status = status
            return response

    aws = trk.aws
    trk.order("T-1")
    shipment_id = trk.ship("T-1", "SBX-OK-0001")
    http = HttpClient("https://api.easypost.test/v2", provider="easypost", opener=Opener(), sleep=lambda s: None,
                      retry=RetryPolicy(max_attempts=2))
    monkeypatch.setattr(services, "carrier_client", lambda merchant_id, **_: EasyPostClient("key", http=http))
    now = trk.next_due("T-1", shipment_id) + timedelta(minutes=1)
    aws.clock.set(now)
    assert aws.invoke(trk.poller, {})["enqueued"] == 1
    [body] = aws.take("TrackingQueue")

    assert aws.deliver(aws.tracking_worker, aws.sqs_event([body], "TrackingQueue")) == []  # no failed record
    assert [o for use_case, o in trk.outcomes if use_case == "poll"] == ["poll_failed"]
    assert Opener.calls == calls
    tracked = trk.load("T-1", shipment_id)
    assert tracked.tracking.poll_failures == 1
    assert trk.next_due("T-1", shipment_id) >= now + (retry_after or timedelta(minutes=15))
    assert aws.queue_depth("TrackingDLQ") == 0


# ------------------------------------------------------------------------------ notices


SCENARIOS = {
    # tracking number: (the notices in the order they are requested, days followed, final status)
    # SBX-OK: test_parcel_is_followed_to_delivery; SBX-STALL: test_stalled_parcel_gets_a_delayed_notice...
    "SBX-DELAY-0001": (["shipped", "exception", "delayed", "out_for_delivery", "delivered"], 6, "delivered"),
    "SBX-FAIL-0001": (["shipped", "out_for_delivery", "attempt_failed", "delivered"], 6, "delivered"),
    "SBX-PICKUP-0001": (["shipped", "ready_for_pickup"], 3, "available_for_pickup"),
    "SBX-RTS-0001": (["shipped", "out_for_delivery", "exception", "returned_to_sender"], 7, "returned"),
}


@pytest.mark.parametrize("tracking_number", list(SCENARIOS))
def test_each_notice_kind_is_sent_once_per_shipment(trk: Tracking, tracking_number: str):
    expected, days, final = SCENARIOS[tracking_number]
    aws = trk.aws
    trk.order("N-1")
    shipment_id = trk.ship("N-1", tracking_number)

    trk.follow([("N-1", shipment_id)], until=aws.now + timedelta(days=days))

    tracked = trk.load("N-1", shipment_id)
    assert tracked.tracking.status.value == final
    # A parcel waiting at a pickup point may still be collected or returned: it stays polled.
    assert (trk.next_due("N-1", shipment_id) is None) == (final in ("delivered", "returned"))
    assert trk.kinds(shipment_id) == expected
    assert tracked.tracking.notices_sent == set(expected)
    for queue_id in ("TrackingQueue", "TrackingDLQ", "OutboundEmailQueue", "OutboundEmailDLQ"):
        assert aws.queue_depth(queue_id) == 0, queue_id
    # One email per kind, each identified as <merchant>/shipment_<kind>#<shipment id>.
    emails = trk.notice_emails()
    assert Counter(notice_header(m) for m in emails) == Counter(
        f"{MERCHANT}/shipment_{kind}#{shipment_id}" for kind in expected)
    assert {str(m["To"]) for m in emails} == {"ayse.yilmaz@example.com"}


def test_stalled_parcel_gets_a_delayed_notice_after_the_stall_period(trk: Tracking):
    from postpurchase.tracking.schedule import STALL_AFTER

    aws = trk.aws
    trk.order("S-1")
    shipment_id = trk.ship("S-1", "SBX-STALL-0001")

    trk.follow([("S-1", shipment_id)], until=aws.now + timedelta(days=5, hours=12))

    assert trk.kinds(shipment_id) == ["shipped", "delayed"]
    [(_, _, requested_at)] = [entry for entry in trk.notices if entry[1] == "delayed"]
    tracked = trk.load("S-1", shipment_id)
    last_scan = tracked.timeline[-1].occurred_at
    assert tracked.tracking.status.value == "in_transit"
    assert tracked.tracking.last_event_at == last_scan
    # Not before the stall period, and at the first poll after it (in transit: every 4 h + jitter).
    assert STALL_AFTER <= requested_at - last_scan <= STALL_AFTER + timedelta(hours=4, minutes=30)
    assert trk.next_due("S-1", shipment_id) is not None  # polling goes on: the parcel may still move

    # It moves again after five silent days: no second delayed notice, the rest as usual.
    trk.follow([("S-1", shipment_id)], until=aws.now + timedelta(days=9))

    assert trk.kinds(shipment_id) == ["shipped", "delayed", "out_for_delivery", "delivered"]
    assert Counter(notice_header(m) for m in trk.notice_emails()) == Counter(
        f"{MERCHANT}/shipment_{kind}#{shipment_id}" for kind in ("shipped", "delayed", "out_for_delivery",
                                                                  "delivered"))


def test_never_scanned_label_expires_and_polling_stops(trk: Tracking):
    aws = trk.aws
    trk.order("X-1")
    shipment_id = trk.ship("X-1", "SBX-EXPIRE-0001")

    polls = trk.follow([("X-1", shipment_id)], until=aws.now + timedelta(days=40))

    tracked = trk.load("X-1", shipment_id)
    assert tracked.tracking.status.value == "expired"
    assert tracked.tracking.status_changed_at <= aws.now + timedelta(days=31)
    assert "gsi2sk" not in trk.item("X-1", shipment_id)
    # Backing off while nobody scans it: 6 h, then 12 h, then daily.
    assert polls <= 36
    # A label nobody scanned for three days counts as stalled (delayed); expiry itself is not a notice.
    assert trk.kinds(shipment_id) == ["shipped", "delayed"]


def test_notice_check_waits_for_the_debounce(trk: Tracking, monkeypatch):
    from postpurchase import config

    aws = trk.aws
    monkeypatch.delenv("NOTICE_DEBOUNCE_SECONDS")  # the template's default: 120 s
    config.reset()
    trk.order("D-1")
    shipment_id = trk.ship("D-1", "SBX-OK-0001")

    attributes = trk.queue_attributes("TrackingQueue")
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"  # the NoticeCheck, held back
    assert trk.kinds(shipment_id) == []

    monkeypatch.setenv("NOTICE_DEBOUNCE_SECONDS", "1")
    config.reset()
    trk.order("D-2")
    second = trk.ship("D-2", "SBX-OK-0002")
    assert trk.kinds(second) == []
    time.sleep(1.2)  # moto holds a delayed message in real time
    trk.aws.pump.drain()
    assert trk.kinds(second) == ["shipped"]
    assert trk.kinds(shipment_id) == []  # still 2 minutes away


# ------------------------------------------------------------------------------ poison messages


def test_poison_messages_are_reported_and_end_in_the_dlq(trk: Tracking):
    aws = trk.aws
    good = {"type": "NoticeCheck", "merchant_id": MERCHANT, "order_id": "nope", "shipment_id": "s-nope"}
    bodies = ["this is not json", {"type": "Teleport", "merchant_id": MERCHANT}, good]
    event = aws.sqs_event(bodies, "TrackingQueue")

    failed = aws.deliver(aws.tracking_worker, event)

    assert failed == [record["messageId"] for record in event["Records"][:2]]
    assert trk.outcomes == [("check_notice", "unknown_shipment")]

    for body in bodies:
        aws.send("TrackingQueue", body)
    aws.pump.drain()
    assert aws.queue_depth("TrackingQueue") == 0
    dead = aws.take("TrackingDLQ")
    assert sorted(dead) == sorted(["this is not json", '{"type": "Teleport", "merchant_id": "demo-store"}'])
    # Five receives each (maxReceiveCount), the good one once.
    assert trk.outcomes.count(("check_notice", "unknown_shipment")) == 2
    assert aws.pump.stats.failed == 10


# ------------------------------------------------------------------------------ the poller at scale


def test_poller_cost_depends_on_shards_not_on_stored_shipments(trk: Tracking):
    from postpurchase.storage.tracking import poll_shard, poll_shards

    aws = trk.aws
    due_at, later = aws.now - timedelta(minutes=1), aws.now + timedelta(hours=5)
    due = trk.store_shipments(range(0, 2000, 15), due_at)  # 134 due
    trk.store_shipments((n for n in range(2000) if n % 15), later)  # 1,866 not due

    with count_aws_requests() as requests:
        result = aws.invoke(trk.poller, {})

    per_shard = Counter(poll_shard(MERCHANT, order_id, shipment_id) for order_id, shipment_id in due)
    batches = sum(math.ceil(count / 10) for count in per_shard.values())
    assert result == {"enqueued": len(due), "shards": poll_shards(), "full_shards": 0}
    assert dict(requests) == {("DynamoDB", "Query"): poll_shards(), ("SQS", "SendMessageBatch"): batches}
    assert len(due) / 10 <= batches <= len(due) / 10 + poll_shards()
    assert aws.queue_depth("TrackingQueue") == len(due)

    trk.store_shipments(range(2000, 4000), later)  # twice as many stored, none of them due
    with count_aws_requests() as again:
        assert aws.invoke(trk.poller, {})["enqueued"] == len(due)
    assert again == requests


def test_poller_takes_at_most_the_sweep_limit_per_shard(trk: Tracking, monkeypatch):
    from postpurchase import config
    from postpurchase.storage.tracking import poll_shard

    aws = trk.aws
    monkeypatch.setenv("POLL_SWEEP_LIMIT", "3")
    config.reset()
    due = trk.store_shipments(range(200), aws.now - timedelta(minutes=1))
    per_shard = Counter(poll_shard(MERCHANT, order_id, shipment_id) for order_id, shipment_id in due)

    result = aws.invoke(trk.poller, {})

    assert result["enqueued"] == sum(min(count, 3) for count in per_shard.values())
    assert result["full_shards"] == sum(1 for count in per_shard.values() if count >= 3)


# ------------------------------------------------------------------------------ GET tracking


def test_tracking_document_is_one_query(trk: Tracking):
    aws = trk.aws
    trk.order("G-1")
    trk.ship("G-1", "SBX-OK-0001")
    assert aws.client.get("/v1/orders/G-1/tracking", headers=aws.auth()).status_code == 200  # warm caches

    with count_aws_requests() as requests:
        response = aws.client.get("/v1/orders/G-1/tracking", headers=aws.auth())

    assert response.status_code == 200
    assert dict(requests) == {("DynamoDB", "Query"): 1}


def test_tracking_document_is_404_for_unknown_and_foreign_orders(trk: Tracking, other_store):
    aws = trk.aws
    trk.order("G-1")
    trk.ship("G-1", "SBX-OK-0001")

    unknown = aws.client.get("/v1/orders/no-such-order/tracking", headers=aws.auth())
    foreign = aws.client.get("/v1/orders/G-1/tracking", headers=aws.auth(other_store))

    for response in (unknown, foreign):
        assert response.status_code == 404
        assert response.json_body["error"]["code"] == "not_found"
    assert aws.client.get("/v1/orders/G-1/tracking").status_code == 401


def test_tracking_document_of_an_order_without_shipments(trk: Tracking):
    trk.order("G-0")
    response = trk.aws.client.get("/v1/orders/G-0/tracking", headers=trk.aws.auth())
    assert response.status_code == 200
    assert response.json_body == {"order_id": "G-0", "shipments": []}


def test_tracking_document_lists_every_parcel(trk: Tracking):
    aws = trk.aws
    trk.order("G-2")
    first = trk.ship("G-2", "SBX-OK-0001", items=[{"sku": "MUG-1", "quantity": 1}])
    aws.clock.advance(timedelta(minutes=10))
    second = trk.ship("G-2", "SBX-PICKUP-0001", carrier="ups", items=[{"sku": "MUG-1", "quantity": 1}])
    aws.clock.advance(timedelta(hours=7))
    trk.sweep()

    response = aws.client.get("/v1/orders/G-2/tracking", headers=aws.auth())

    assert response.status_code == 200
    parcels = response.json_body["shipments"]
    assert [p["shipment_id"] for p in parcels] == [first, second]  # oldest first
    assert [p["tracking_number"] for p in parcels] == ["SBX-OK-0001", "SBX-PICKUP-0001"]
    assert parcels[1]["tracking_url"] == "https://www.ups.com/track?tracknum=SBX-PICKUP-0001"
    for parcel in parcels:
        tracked = trk.load("G-2", parcel["shipment_id"])
        assert parcel["status"] == tracked.tracking.status.value
        assert [e["time"] for e in parcel["timeline"]] == [e.occurred_at.isoformat() for e in tracked.timeline]
        assert parcel["items"] == [{"sku": "MUG-1", "quantity": 1}]
        assert parcel["last_checked_at"] is not None
    # Still on its way: an estimate is shown.
    in_transit = [p for p in parcels if p["status"] in ("in_transit", "info_received")]
    assert in_transit and all(p["eta"] and p["eta"]["kind"] == "estimate" and p["eta"]["estimate"]
                              for p in in_transit)


# ------------------------------------------------------------------------------ concurrency


def test_racing_saves_lose_nothing(trk: Tracking):
    from postpurchase.errors import RetryLater
    from postpurchase.storage.tracking import DynamoTrackingStore
    from postpurchase.tracking import timeline
    from postpurchase.tracking.model import TrackingEvent, TrackingUpdate

    aws = trk.aws
    trk.order("C-1")
    shipment_id = trk.ship("C-1", "SBX-OK-0001")
    store = DynamoTrackingStore()
    now = aws.clock.advance(timedelta(hours=8))

    def answer(hours: int, status: str, text: str, source: str) -> TrackingUpdate:
        event = TrackingEvent(occurred_at=aws.now + timedelta(hours=hours), status=status, description=text,
                              location="Memphis, TN, US", carrier_code=text)
        return TrackingUpdate(carrier="usps", tracking_number="SBX-OK-0001", provider="sandbox", status=status,
                              events=[event], source=source)

    def apply(tracked, update):
        return timeline.apply(tracked.tracking, update, tracked.timeline, now,
                              shipment_created_at=tracked.shipment.created_at)

    webhook = answer(5, "in_transit", "arrived", "webhook")
    poll = answer(6, "in_transit", "departed", "poll")
    first, second = store.load(MERCHANT, "C-1", shipment_id), store.load(MERCHANT, "C-1", shipment_id)
    applied = apply(first, webhook)
    store.save(first, applied.state, applied.added_events, now)
    applied = apply(second, poll)
    with pytest.raises(RetryLater):
        store.save(second, applied.state, applied.added_events, now)  # read before the first save

    fresh = store.load(MERCHANT, "C-1", shipment_id)  # the retry: load again, merge again
    assert fresh.revision == first.revision + 1
    applied = apply(fresh, poll)
    store.save(fresh, applied.state, applied.added_events, now)

    final = store.load(MERCHANT, "C-1", shipment_id)
    assert final.revision == first.revision + 2
    assert [e.description for e in final.timeline] == [
        "Shipping label created, carrier awaiting item", "arrived", "departed"]
    assert final.tracking.status.value == "in_transit"
    assert final.tracking.last_event_at == aws.now + timedelta(hours=6)
    assert final.tracking.webhook_active  # the webhook's state was merged into, not overwritten
    assert final.tracking.notices_sent == {"shipped"}


def test_worker_retries_a_lost_race_and_merges_again(trk: Tracking, monkeypatch):
    from postpurchase.errors import RetryLater
    from postpurchase.storage.tracking import DynamoTrackingStore

    aws = trk.aws
    trk.order("C-2")
    shipment_id = trk.ship("C-2", "SBX-OK-0001")
    stale = trk.load("C-2", shipment_id)
    t0 = aws.now
    aws.clock.advance(timedelta(hours=30))
    assert trk.post_easypost(easypost_event("SBX-OK-0001", "in_transit", [
        (t0 + timedelta(hours=3), "in_transit", "arrived_at_facility", "Arrived at facility")])).status_code == 200
    aws.pump.drain()

    original_load, original_save = DynamoTrackingStore.load, DynamoTrackingStore.save
    loads, saves = [], []

    def racing_load(self, merchant_id, order_id, sid):
        loads.append(sid)
        if len(loads) == 1:
            return stale  # read before the first webhook was saved
        return original_load(self, merchant_id, order_id, sid)

    def recorded_save(self, current, *args, **kwargs):
        try:
            original_save(self, current, *args, **kwargs)
        except RetryLater:
            saves.append((current.revision, "retry_later"))
            raise
        saves.append((current.revision, "saved"))

    monkeypatch.setattr(DynamoTrackingStore, "load", racing_load)
    monkeypatch.setattr(DynamoTrackingStore, "save", recorded_save)
    assert trk.post_easypost(easypost_event("SBX-OK-0001", "out_for_delivery", [
        (t0 + timedelta(hours=29), "out_for_delivery", "out_for_delivery", "Out for delivery")])).status_code == 200
    aws.pump.drain()

    # The stale save lost (revision check), the redelivered message merged onto the fresh state.
    revision = stale.revision
    assert saves[:2] == [(revision, "retry_later"), (revision + 1, "saved")]
    assert [o for o in trk.outcomes if o[0] == "receive_update"] == [("receive_update", "updated")] * 2
    tracked = trk.load("C-2", shipment_id)
    assert [e.description for e in tracked.timeline] == [
        "Shipping label created, carrier awaiting item", "Arrived at facility", "Out for delivery"]
    assert tracked.tracking.status.value == "out_for_delivery"
    assert trk.kinds(shipment_id) == ["shipped", "out_for_delivery"]
    assert aws.queue_depth("TrackingDLQ") == 0


# ------------------------------------------------------------------------------ provider webhooks


def shipped(trk: Tracking, order_id: str = "W-1", tracking_number: str = "9400111206213859143125") -> str:
    """An order with one parcel, registered (label scan at `now`, shipped notice sent)."""
    trk.order(order_id)
    shipment_id = trk.ship(order_id, tracking_number)
    assert trk.kinds(shipment_id) == ["shipped"]
    return shipment_id


def timeline_of(trk: Tracking, order_id: str, shipment_id: str) -> list[tuple[str, str, str]]:
    return [(e.occurred_at.isoformat(), e.status.value, e.description)
            for e in trk.load(order_id, shipment_id).timeline]


def test_easypost_webhook_updates_the_shipment(trk: Tracking):
    aws = trk.aws
    shipment_id = shipped(trk)
    t0 = aws.now
    aws.clock.advance(timedelta(hours=6))
    event = easypost_event("9400111206213859143125", "in_transit", [
        (t0 + timedelta(hours=2), "in_transit", "arrived_at_facility", "Arrived at USPS Regional Facility")],
        est_delivery=t0 + timedelta(days=3), tracker_id="trk_0001")

    response = trk.post_easypost(event)

    assert response.status_code == 200
    assert response.json_body == {"received": True, "tracking_number": "9400111206213859143125"}
    assert aws.queue_depth("TrackingQueue") == 1
    aws.pump.drain()
    assert [o for o in trk.outcomes if o[0] == "receive_update"] == [("receive_update", "updated")]
    tracked = trk.load("W-1", shipment_id)
    assert tracked.tracking.status.value == "in_transit"
    assert tracked.tracking.webhook_active  # polling becomes a safety net
    assert tracked.tracking.current_eta == t0 + timedelta(days=3)
    assert trk.next_due("W-1", shipment_id) - aws.clock.now() >= timedelta(hours=12)
    assert timeline_of(trk, "W-1", shipment_id)[-1] == (
        (t0 + timedelta(hours=2)).isoformat(), "in_transit", "Arrived at USPS Regional Facility")
    assert trk.kinds(shipment_id) == ["shipped"]  # in transit after shipped: nothing new to say


def test_aftership_webhook_updates_the_shipment(trk: Tracking):
    aws = trk.aws
    shipment_id = shipped(trk, tracking_number="1Z999AA10123456784")
    t0 = aws.now
    aws.clock.advance(timedelta(hours=30))
    payload = aftership_event("1Z999AA10123456784", "OutForDelivery", [
        (t0 + timedelta(hours=3), "InTransit", "Departure Scan"),
        (t0 + timedelta(hours=29), "OutForDelivery", "Out For Delivery Today")])

    response = trk.post_aftership(payload)

    assert response.status_code == 200
    aws.pump.drain()
    tracked = trk.load("W-1", shipment_id)
    assert tracked.tracking.status.value == "out_for_delivery"
    assert [e.description for e in tracked.timeline][1:] == ["Departure Scan", "Out For Delivery Today"]
    assert trk.kinds(shipment_id) == ["shipped", "out_for_delivery"]


def test_a_burst_of_scans_makes_one_notice(trk: Tracking):
    aws = trk.aws
    shipment_id = shipped(trk)
    t0 = aws.now
    aws.clock.advance(timedelta(hours=27))
    event = easypost_event("9400111206213859143125", "delivered", [
        (t0 + timedelta(hours=2), "in_transit", "arrived_at_facility", "Arrived at USPS Regional Facility"),
        (t0 + timedelta(hours=22), "out_for_delivery", "out_for_delivery", "Out for Delivery"),
        (t0 + timedelta(hours=26), "delivered", "arrived_at_destination", "Delivered, Front Door/Porch")])

    assert trk.post_easypost(event).status_code == 200
    aws.pump.drain()

    tracked = trk.load("W-1", shipment_id)
    assert tracked.tracking.status.value == "delivered"
    assert tracked.tracking.delivered_at == t0 + timedelta(hours=26)
    assert [e.status.value for e in tracked.timeline] == ["info_received", "in_transit", "out_for_delivery",
                                                          "delivered"]
    assert trk.kinds(shipment_id) == ["shipped", "delivered"]  # not out_for_delivery, not in transit
    assert [o for o in trk.outcomes if o[0] == "check_notice"][-1] == ("check_notice", "notice_requested")
    assert "gsi2sk" not in trk.item("W-1", shipment_id)
    assert parse_utc(aws.item(f"M#{MERCHANT}#O#W-1", "ORDER")["delivered_at"]) == t0 + timedelta(hours=26)
    assert [notice_header(m) for m in trk.notice_emails()] == [
        f"{MERCHANT}/shipment_shipped#{shipment_id}", f"{MERCHANT}/shipment_delivered#{shipment_id}"]


def test_a_duplicate_webhook_changes_nothing(trk: Tracking):
    aws = trk.aws
    shipment_id = shipped(trk)
    t0 = aws.now
    aws.clock.advance(timedelta(hours=23))
    event = easypost_event("9400111206213859143125", "out_for_delivery", [
        (t0 + timedelta(hours=2), "in_transit", "arrived_at_facility", "Arrived at USPS Regional Facility"),
        (t0 + timedelta(hours=22), "out_for_delivery", "out_for_delivery", "Out for Delivery")])

    assert trk.post_easypost(event).status_code == 200
    aws.pump.drain()
    first = timeline_of(trk, "W-1", shipment_id)
    events_stored = len(aws.items_of_type("tracking_event"))
    aws.clock.advance(timedelta(minutes=2))
    assert trk.post_easypost(event).status_code == 200  # EasyPost retries a delivery
    assert trk.post_easypost(event).status_code == 200
    aws.pump.drain()

    assert timeline_of(trk, "W-1", shipment_id) == first
    assert len(first) == 3 and len(aws.items_of_type("tracking_event")) == events_stored
    assert [o for o in trk.outcomes if o[0] == "receive_update"] == [
        ("receive_update", "updated"), ("receive_update", "unchanged"), ("receive_update", "unchanged")]
    assert trk.kinds(shipment_id) == ["shipped", "out_for_delivery"]
    assert Counter(notice_header(m) for m in trk.notice_emails()) == Counter({
        f"{MERCHANT}/shipment_shipped#{shipment_id}": 1, f"{MERCHANT}/shipment_out_for_delivery#{shipment_id}": 1})


def test_an_older_webhook_after_a_newer_one_does_not_move_the_status_back(trk: Tracking):
    aws = trk.aws
    shipment_id = shipped(trk)
    t0 = aws.now
    aws.clock.advance(timedelta(hours=30))
    newer = easypost_event("9400111206213859143125", "delivered", [
        (t0 + timedelta(hours=26), "delivered", "arrived_at_destination", "Delivered, Front Door/Porch")])
    older = easypost_event("9400111206213859143125", "in_transit", [
        (t0 + timedelta(hours=5), "in_transit", "arrived_at_facility", "Arrived at USPS Regional Facility")])

    assert trk.post_easypost(newer).status_code == 200
    aws.pump.drain()
    assert trk.post_easypost(older).status_code == 200
    aws.pump.drain()

    tracked = trk.load("W-1", shipment_id)
    assert tracked.tracking.status.value == "delivered"
    assert tracked.tracking.delivered_at == t0 + timedelta(hours=26)
    assert timeline_of(trk, "W-1", shipment_id) == [
        (t0.isoformat(), "info_received", "Shipping label created, carrier awaiting item"),
        ((t0 + timedelta(hours=5)).isoformat(), "in_transit", "Arrived at USPS Regional Facility"),
        ((t0 + timedelta(hours=26)).isoformat(), "delivered", "Delivered, Front Door/Porch")]
    document = aws.client.get("/v1/orders/W-1/tracking", headers=aws.auth()).json_body
    assert [e["status"] for e in document["shipments"][0]["timeline"]] == ["info_received", "in_transit", "delivered"]
    assert trk.kinds(shipment_id) == ["shipped", "delivered"]


def test_timeline_is_in_time_order_whatever_the_offsets(trk: Tracking):
    aws = trk.aws
    shipment_id = shipped(trk)
    aws.clock.advance(timedelta(hours=16))
    event = easypost_event("9400111206213859143125", "in_transit", [
        ("2026-11-20T22:00:00Z", "in_transit", "arrived_at_facility", "Arrived at USPS Regional Facility"),
        ("2026-11-20T19:00:00-05:00", "in_transit", "departed_facility", "Departed USPS Regional Facility")])

    assert trk.post_easypost(event).status_code == 200
    aws.pump.drain()

    document = aws.client.get("/v1/orders/W-1/tracking", headers=aws.auth()).json_body
    assert [e["description"] for e in document["shipments"][0]["timeline"]] == [
        "Shipping label created, carrier awaiting item", "Arrived at USPS Regional Facility",
        "Departed USPS Regional Facility"]


def test_a_recycled_tracking_number_updates_only_the_newest_shipment(trk: Tracking):
    aws = trk.aws
    code = "9400111206213859143125"
    old_id = shipped(trk, "R-1", code)
    old_before = trk.item("R-1", old_id)
    aws.clock.advance(timedelta(days=60))
    new_created = aws.clock.now()
    trk.order("R-2")
    new_id = trk.ship("R-2", code)
    aws.clock.advance(timedelta(hours=6))
    event = easypost_event(code, "in_transit", [
        (new_created - timedelta(days=31), "delivered", "arrived_at_destination", "Delivered (the earlier parcel)"),
        (new_created - timedelta(days=29), "in_transit", "arrived_at_facility", "Accepted at origin"),
        (new_created + timedelta(hours=2), "in_transit", "arrived_at_facility", "Arrived at USPS Regional Facility")])

    assert trk.post_easypost(event).status_code == 200
    aws.pump.drain()

    assert trk.item("R-1", old_id) == old_before  # the earlier parcel is untouched
    newer = trk.load("R-2", new_id)
    assert newer.tracking.status.value == "in_transit"
    assert [e.description for e in newer.timeline] == [
        "Accepted at origin", "Shipping label created, carrier awaiting item", "Arrived at USPS Regional Facility"]
    assert newer.tracking.delivered_at is None
    assert "delivered_at" not in aws.item(f"M#{MERCHANT}#O#R-2", "ORDER")


def test_a_webhook_about_only_the_earlier_parcel_changes_nothing(trk: Tracking):
    aws = trk.aws
    code = "9400111206213859143125"
    shipped(trk, "R-1", code)
    aws.clock.advance(timedelta(days=60))
    trk.order("R-2")
    new_id = trk.ship("R-2", code)
    before = trk.item("R-2", new_id)
    event = easypost_event(code, "delivered", [
        (aws.now + timedelta(days=1), "delivered", "arrived_at_destination", "Delivered (the earlier parcel)")])

    assert trk.post_easypost(event).status_code == 200
    aws.pump.drain()

    after = trk.item("R-2", new_id)
    assert after["status"] == before["status"] == "info_received"
    assert [e.description for e in trk.load("R-2", new_id).timeline] == [
        "Shipping label created, carrier awaiting item"]


@pytest.mark.parametrize("signature", [None, "", "hmac-sha256-hex=00ff", "sha256=abc"])
def test_easypost_webhook_without_a_valid_signature_is_401(trk: Tracking, signature):
    event = easypost_event("9400111206213859143125", "in_transit", [])
    response = trk.post_easypost(event, signature=signature, omit_signature=signature is None)

    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "invalid_signature"
    assert trk.aws.queue_depth("TrackingQueue") == 0


def test_easypost_webhook_signed_with_another_secret_is_401(trk: Tracking):
    response = trk.post_easypost(easypost_event("9400111206213859143125", "in_transit", []), secret="not-the-secret")

    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "invalid_signature"
    assert trk.aws.queue_depth("TrackingQueue") == 0


@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSBzaWduYXR1cmU=", "%%%"])
def test_aftership_webhook_without_a_valid_signature_is_401(trk: Tracking, signature):
    payload = aftership_event("1Z999AA10123456784", "InTransit", [])
    response = trk.post_aftership(payload, signature=signature, omit_signature=signature is None)

    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "invalid_signature"
    assert trk.aws.queue_depth("TrackingQueue") == 0


def test_tampered_aftership_body_is_401(trk: Tracking):
    body = json.dumps(aftership_event("1Z999AA10123456784", "Delivered", [])).encode()
    signature = trk.aws.sign(body, AFTERSHIP_SECRET)
    response = trk.post_aftership(body.replace(b"Delivered", b"Exception"), signature=signature)

    assert response.status_code == 401
    assert trk.aws.queue_depth("TrackingQueue") == 0


@pytest.mark.parametrize("provider", ["easypost", "aftership"])
def test_webhook_for_an_unknown_merchant_is_404(trk: Tracking, provider):
    if provider == "easypost":
        response = trk.post_easypost(easypost_event("9400111206213859143125", "in_transit", []), "no-such-store")
    else:
        response = trk.post_aftership(aftership_event("1Z999AA10123456784", "InTransit", []), "no-such-store")

    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "not_found"
    assert trk.aws.queue_depth("TrackingQueue") == 0


@pytest.mark.parametrize("provider", ["easypost", "aftership"])
@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b""])
def test_malformed_webhook_with_a_valid_signature_is_400(trk: Tracking, provider, body):
    response = trk.post_easypost(body) if provider == "easypost" else trk.post_aftership(body)

    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "malformed_json"
    assert trk.aws.queue_depth("TrackingQueue") == 0


def test_webhook_for_an_unknown_tracking_number_is_accepted_and_dropped(trk: Tracking):
    aws = trk.aws
    shipped(trk)
    items_before = aws.table_items()
    event = easypost_event("9999999999999999999999", "delivered", [
        (aws.now, "delivered", "arrived_at_destination", "Delivered")])

    response = trk.post_easypost(event)

    assert response.status_code == 200  # acknowledged: the provider must not retry it
    aws.pump.drain()
    assert ("receive_update", "unknown_tracking_number") in trk.outcomes
    assert aws.table_items() == items_before  # nothing stored
    assert aws.queue_depth("TrackingQueue") == aws.queue_depth("TrackingDLQ") == 0


@pytest.mark.parametrize("description", ["batch.updated", "payment.created", "tracker.deleted", None])
def test_easypost_event_that_is_not_about_a_tracker_is_ignored(trk: Tracking, description):
    event = easypost_event("9400111206213859143125", "delivered", [])
    event["description"] = description
    event["result"] = {"object": "Batch", "id": "batch_1"}

    response = trk.post_easypost(event)

    assert response.status_code == 200
    assert response.json_body == {"received": True, "tracking_number": None}
    assert trk.aws.queue_depth("TrackingQueue") == 0


def test_aftership_webhook_without_a_tracking_is_ignored(trk: Tracking):
    response = trk.post_aftership({"event": "tracking_update", "event_id": "e-1", "msg": {}})

    assert response.status_code == 200
    assert trk.aws.queue_depth("TrackingQueue") == 0


def test_polling_keeps_working_after_a_webhook_from_another_provider(trk: Tracking):
    aws = trk.aws
    shipment_id = shipped(trk, tracking_number="SBX-OK-0001")
    t0 = aws.now
    aws.clock.advance(timedelta(hours=6))
    assert trk.post_easypost(easypost_event("SBX-OK-0001", "in_transit", [
        (t0 + timedelta(hours=5), "in_transit", "arrived_at_facility", "Arrived at facility")])).status_code == 200
    aws.pump.drain()

    aws.clock.set(trk.next_due("W-1", shipment_id) + timedelta(minutes=1))
    assert trk.sweep()["enqueued"] == 1

    assert aws.queue_depth("TrackingDLQ") == 0
    assert [o for o in trk.outcomes if o[0] == "poll"] == [("poll", "updated")]


# ------------------------------------------------------------------------------ side effects after a save


def test_a_failed_notice_check_publish_does_not_lose_the_notice(trk: Tracking, monkeypatch):
    from postpurchase.errors import RetryLater
    from postpurchase.tracking.effects import QueueEffects

    original = QueueEffects.schedule_notice_check
    calls = []

    def flaky(self, check):
        calls.append(check)
        if len(calls) == 1:
            raise RetryLater("SQS throttled")
        return original(self, check)

    monkeypatch.setattr(QueueEffects, "schedule_notice_check", flaky)
    trk.order("E-1")
    shipment_id = trk.ship("E-1", "SBX-OK-0001")
    trk.follow([("E-1", shipment_id)], until=trk.aws.now + timedelta(days=1))

    assert "shipped" in trk.kinds(shipment_id)


def test_a_failed_delivery_record_is_retried(trk: Tracking, monkeypatch):
    from postpurchase.errors import RetryLater
    from postpurchase.storage.orders import DynamoOrderStore

    original = DynamoOrderStore.record_delivery
    calls = []

    def flaky(self, merchant_id, order_id, delivered_at):
        calls.append(order_id)
        if len(calls) == 1:
            raise RetryLater("throttled")
        return original(self, merchant_id, order_id, delivered_at)

    monkeypatch.setattr(DynamoOrderStore, "record_delivery", flaky)
    aws = trk.aws
    shipment_id = shipped(trk, "E-2")
    t0 = aws.now
    aws.clock.advance(timedelta(hours=27))
    assert trk.post_easypost(easypost_event("9400111206213859143125", "delivered", [
        (t0 + timedelta(hours=26), "delivered", "arrived_at_destination", "Delivered")])).status_code == 200
    aws.pump.drain()

    assert len(calls) >= 1
    assert trk.item("E-2", shipment_id)["status"] == "delivered"
    assert "delivered_at" in aws.item(f"M#{MERCHANT}#O#E-2", "ORDER")


def parse_utc(value: str) -> datetime:
    """A PynamoDB UTCDateTimeAttribute string."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(timezone.utc)

