"""One small shop's week, played against the local runtime, and the final state it leaves."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from infra.demo import RETURN_POLICY, api_order
from infra.demo_year import LOYALTY

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
WHO = ["ayse", "budi", "dmitri"]
CUSTOMER_IDS = {"ayse": "c-ayse", "budi": "c-budi", "dmitri": "c-dmitri"}
POISON = '{"type": "OrderPlaced", "garbage": true}'
DLQS = ["OrderEventsDLQ", "OutboundEmailDLQ", "TrackingDLQ", "ReturnEventsDLQ", "CampaignDLQ", "SesFeedbackDLQ"]


@dataclass
class Story:
    runtime: Any
    base_url: str
    clock: Any
    orders: int = 3
    track_days: int = 3
    endpoint_down: timedelta = timedelta(0)
    statuses: Counter = field(default_factory=Counter)  # API answers by status code
    bad_answers: list = field(default_factory=list)
    failed_ticks: int = 0  # 5xx other than a clean 503, or 503 not in our shape

    def http(self, method: str, path: str, body: dict | None = None, retries: int = 3) -> tuple[int, dict]:
        """A storefront's call: a 503 is retried (as it says), anything else is final."""
        for _ in range(retries + 1):
            status, answer = self._once(method, path, body)
            self.statuses[status] += 1
            if status >= 500 and not (status == 503 and "error" in answer and "code" in answer["error"]):
                self.bad_answers.append((method, path, status, answer))
            if status != 503:
                return status, answer
        return status, answer

    def _once(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {self.runtime.credentials.api_key}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raw = error.read() or b"{}"
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, {"raw": raw.decode(errors="replace")[:200]}

    def settle(self) -> None:
        self.runtime.settle()

    def wait(self, total: timedelta, step: timedelta = timedelta(minutes=10), tick: bool = False) -> None:
        steps = max(1, int(total / step))
        for _ in range(steps):
            self.clock.advance(step)
            if tick:
                self.tick()
            self.settle()

    def tick(self) -> None:
        """Each scheduled function once; one that fails (throttled) is simply run again by
        its next schedule, as EventBridge would."""
        for spec, _ in self.runtime.schedules:
            try:
                self.runtime.tick(only=spec.function_id)
            except Exception:
                self.failed_ticks += 1

    def order_ids(self) -> list[str]:
        return [f"C-{n + 1:03d}" for n in range(self.orders)]

    def play(self, endpoint) -> None:
        import boto3

        self.http("PUT", "/v1/returns/policy", RETURN_POLICY)
        self.http("PUT", "/v1/settings/loyalty", LOYALTY)
        self.http("PUT", "/v1/settings/webhooks", {"returns_url": endpoint.url})
        for n, order_id in enumerate(self.order_ids()):
            body = api_order(order_id, WHO[n % 3], self.clock.now(), {"MUG-1": 1 + n % 2, "TEE-2": 1})
            self.http("POST", "/v1/orders", body)
            self.http("POST", "/v1/orders", body)  # the storefront's own retry
            self.wait(timedelta(minutes=10))
        # A poison message the story plants: it alone may end in a DLQ.
        boto3.client("sqs", region_name="us-east-1").send_message(
            QueueUrl=self.runtime.names["OrderEventsQueue"], MessageBody=POISON)
        self.settle()
        for n, order_id in enumerate(self.order_ids()):
            story = ("OK", "DELAY", "FAIL")[n % 3]
            self.http("POST", f"/v1/orders/{order_id}/shipments",
                      {"carrier": "dhl", "tracking_number": f"SBX-{story}-{order_id}"})
        self.settle()
        self.wait(timedelta(days=self.track_days), step=timedelta(hours=4), tick=True)

        first = self.order_ids()[0]
        status, rma = self.http("POST", f"/v1/orders/{first}/returns",
                                {"items": [{"sku": "MUG-1", "quantity": 1}], "reason": "changed_mind",
                                 "resolution": "refund"})
        steps = f"/v1/orders/{first}/returns/{rma.get('rma_id')}/transitions"
        self.http("POST", steps, {"action": "issue_label", "carrier": "dhl", "tracking_number": "SBX-LABEL-1",
                                  "label_url": "https://labels.example/SBX-LABEL-1.pdf"})
        self.http("POST", steps, {"action": "receive"})
        self.http("POST", steps, {"action": "inspect", "lines": [{"sku": "MUG-1", "accepted_quantity": 1}]})
        endpoint.down_until = self.clock.now() + self.endpoint_down
        self.http("POST", steps, {"action": "resolve", "resolution": {"kind": "refund", "amount": "12.50"}})
        self.settle()
        # Time for every retry and visibility timeout to run out.
        self.wait(timedelta(hours=3))

    def final_poll(self) -> None:
        """Once the faults are over, every parcel is polled once more (the same in every run).

        A poll that failed near the end was rescheduled with backoff, or no sooner than the
        carrier's Retry-After, so at the story's last minute a faulted run may not have asked
        again yet: that is the product honouring the carrier, not a loss. "After the faults"
        means after this one poll: then every run must know the same scans."""
        import boto3

        from postpurchase.tracking.messages import PollShipment

        sqs = boto3.client("sqs", region_name="us-east-1")
        merchant_id = self.runtime.credentials.merchant_id
        for order_id in self.order_ids():
            status, tracking = self._once("GET", f"/v1/orders/{order_id}/tracking", None)
            for shipment in tracking.get("shipments", []) if status == 200 else []:
                # Any due time passes the worker's "polled since?" check; a finished parcel is not polled.
                body = PollShipment(merchant_id=merchant_id, order_id=order_id,
                                    shipment_id=shipment["shipment_id"], due="9999-12-31T00:00:00+00:00")
                sqs.send_message(QueueUrl=self.runtime.names["TrackingQueue"], MessageBody=body.model_dump_json())
        self.settle()

    def snapshot(self, endpoint) -> dict[str, Any]:
        import boto3

        orders, timelines = {}, {}
        for order_id in self.order_ids():
            status, order = self._once("GET", f"/v1/orders/{order_id}", None)
            orders[order_id] = _stable(order) if status == 200 else None
            status, tracking = self._once("GET", f"/v1/orders/{order_id}/tracking", None)
            timelines[order_id] = [
                (s.get("tracking_number"), s.get("status"),
                 # The sandbox dates a parcel's first scans from the moment tracking started, which a
                 # retried ShipmentCreated moves by its visibility timeout (2 min): scans are
                 # compared by status, place and text, in order, not by time.
                 [(e["status"], e.get("place"), e.get("description")) for e in s.get("timeline", [])])
                for s in tracking.get("shipments", [])] if status == 200 else None
        loyalty = {}
        for who, customer_id in CUSTOMER_IDS.items():
            status, account = self._once("GET", f"/v1/customers/{customer_id}/loyalty", None)
            loyalty[who] = (account.get("balance"), account.get("lifetime_points"), account.get("tier")) \
                if status == 200 else status
        sqs = boto3.client("sqs", region_name="us-east-1")
        dlq: list[tuple[str, str]] = []
        for name in DLQS:
            if name not in self.runtime.names:
                continue
            while True:
                got = sqs.receive_message(QueueUrl=self.runtime.names[name], MaxNumberOfMessages=10,
                                          VisibilityTimeout=600).get("Messages", [])
                if not got:
                    break
                dlq += [(name, m["Body"]) for m in got]
        # RMA ids are random per run: compare them by their place in the story.
        rmas: dict[str, str] = {}

        def same(text: str) -> str:
            return re.sub(r"R-[A-Z0-9]{6,}", lambda m: rmas.setdefault(m.group(0), f"R-{len(rmas) + 1}"), text or "")

        emails = Counter((e.recipient, same(e.message_key)) for e in self.runtime.outbox.emails)
        webhooks = Counter(same(d.headers.get("x-postpurchase-delivery")) for d in endpoint.deliveries
                           if d.status == 200)
        return {"orders": orders, "timelines": timelines, "loyalty": loyalty, "emails": emails,
                "webhooks": webhooks, "dlq": dlq}


_VOLATILE = ("_at", "token", "url", "link", "provider_message_id", "shipment_id", "rma_id", "expires")


def _stable(value: Any) -> Any:
    """The business content of a document: times of our own writes and random ids left out."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in sorted(value.items()) if not any(k.endswith(s) for s in _VOLATILE)}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value
