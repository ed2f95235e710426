"""EasyPost and AfterShip clients against a local fake API serving recorded responses.

The fake server listens on 127.0.0.1 (random port, own thread) and answers each
(method, path) from a script of recorded responses, so the clients' real HTTP stack (urllib,
auth headers, retries, JSON) runs end to end. Nothing reaches the internet. Webhook parsing is
checked against the recorded webhook bodies, signed here independently of the code under test.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import unicodedata
from collections import defaultdict, deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from postpurchase.errors import InvalidSignature, MalformedJson, RetryLater
from postpurchase.tracking.carriers.aftership import AfterShipClient
from postpurchase.tracking.carriers.aftership import parse_webhook as aftership_webhook
from postpurchase.tracking.carriers.base import CarrierClient
from postpurchase.tracking.carriers.easypost import EasyPostClient
from postpurchase.tracking.carriers.easypost import parse_webhook as easypost_webhook
from postpurchase.tracking.carriers.http import CarrierRequestError, RetryPolicy, TokenBucket
from postpurchase.tracking.model import TrackingStatus as S

FIXTURES = Path(__file__).resolve().parents[2] / "events" / "carriers"
EASYPOST_KEY = "EZAK_test_0123456789abcdef"
AFTERSHIP_KEY = "asat_test_0123456789abcdef"
TRK = "trk_7b2f4e1a9c3d4b8e8f0a1c2d3e4f5a6b"
USPS_NUMBER = "9400111206213859143125"
AS_ID = "9d4c1e7a2b5f4a3c8e6d0b1a2c3d4e5f"
UPS_NUMBER = "1Z999AA10123456784"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- the fake API -------------------------------------------------------------------------------

class FakeApi:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], deque] = defaultdict(deque)
        self.requests: list[dict[str, Any]] = []
        self.url = ""

    def script(self, method: str, path: str, *responses: tuple[int, bytes] | tuple[int, bytes, dict]) -> None:
        self.routes[(method, path)].extend(responses)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        self.requests.append({"method": handler.command, "path": parts.path, "query": parse_qs(parts.query),
                              "headers": {k.lower(): v for k, v in handler.headers.items()}, "body": body})
        queue = self.routes.get((handler.command, parts.path))
        if not queue:
            status, payload, headers = 404, b'{"error": {"code": "NOT_SCRIPTED"}}', {}
        else:
            status, payload, *rest = queue.popleft()
            headers = rest[0] if rest else {}
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def sent(self, method: str, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]


@pytest.fixture
def api(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)  # a proxy must not see (or break) local calls
    fake = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.handle(self)

        do_POST = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def waits() -> Recorder:
    return Recorder()


def _options(waits: Recorder) -> dict[str, Any]:
    return {"sleep": waits.sleep, "random": lambda: 0.5, "retry": RetryPolicy(max_attempts=3, base_delay=0.2),
            "rate_limiter": TokenBucket(100, capacity=100, sleep=waits.sleep)}


@pytest.fixture
def easypost(api, waits) -> EasyPostClient:
    return EasyPostClient(EASYPOST_KEY, base_url=f"{api.url}/v2", **_options(waits))


@pytest.fixture
def aftership(api, waits) -> AfterShipClient:
    return AfterShipClient(AFTERSHIP_KEY, base_url=f"{api.url}/tracking/2024-04", **_options(waits))


# --- EasyPost -----------------------------------------------------------------------------------

def test_clients_are_carrier_clients(easypost, aftership):
    assert isinstance(easypost, CarrierClient) and isinstance(aftership, CarrierClient)


def test_easypost_register(api, easypost):
    api.script("POST", "/v2/trackers", (201, fixture("easypost/tracker_created.json")))
    update = easypost.register("usps", USPS_NUMBER)
    sent = api.sent("POST", "/v2/trackers")[0]
    assert json.loads(sent["body"]) == {"tracker": {"tracking_code": USPS_NUMBER, "carrier": "USPS"}}
    assert sent["headers"]["authorization"] == "Basic " + base64.b64encode(f"{EASYPOST_KEY}:".encode()).decode()
    assert sent["headers"]["content-type"] == "application/json"
    assert update.provider == "easypost" and update.provider_tracker_id == TRK
    assert update.carrier == "usps" and update.tracking_number == USPS_NUMBER
    assert (update.status, update.sub_status) == (S.INFO_RECEIVED, "label_created")
    assert update.tracking_url.startswith("https://track.easypost.com/")
    assert update.estimated_delivery == datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert [e.description for e in update.events] == ["Shipping Label Created, USPS Awaiting Item"]
    assert update.source == "poll"


def test_easypost_fetch_by_id(api, easypost):
    api.script("GET", f"/v2/trackers/{TRK}", (200, fixture("easypost/tracker_in_transit.json")))
    update = easypost.fetch("usps", USPS_NUMBER, TRK)
    assert (update.status, update.sub_status) == (S.IN_TRANSIT, "arrived_at_facility")
    times = [e.occurred_at for e in update.events]
    assert len(times) == 5 and times == sorted(times)
    first, *_, last = update.events
    assert first.status is S.INFO_RECEIVED and first.location == "ATLANTA, GA, US"
    assert last.description == "Arrived at USPS Regional Destination Facility"
    assert last.location == "BROOKLYN NY DISTRIBUTION CENTER, US"
    assert last.occurred_at == datetime(2026, 11, 18, 14, 12, tzinfo=timezone.utc)
    assert all(e.carrier_event_id is None for e in update.events)  # EasyPost has no per-scan id
    assert len({e.identity() for e in update.events}) == 5


def test_easypost_fetch_delivered(api, easypost):
    api.script("GET", f"/v2/trackers/{TRK}", (200, fixture("easypost/tracker_delivered.json")))
    update = easypost.fetch("usps", USPS_NUMBER, TRK)
    assert update.status is S.DELIVERED and update.signed_by == "J SMITH"
    assert [e.status for e in update.events][-2:] == [S.OUT_FOR_DELIVERY, S.DELIVERED]


def test_easypost_fetch_by_tracking_code(api, easypost):
    api.script("GET", "/v2/trackers", (200, fixture("easypost/trackers_list.json")))
    update = easypost.fetch("usps", USPS_NUMBER, None)
    assert update.provider_tracker_id == TRK and update.status is S.IN_TRANSIT
    query = api.sent("GET", "/v2/trackers")[0]["query"]
    assert query["tracking_code"] == [USPS_NUMBER] and query["carrier"] == ["USPS"]


def test_easypost_fetch_by_tracking_code_when_none_exists(api, easypost):
    api.script("GET", "/v2/trackers", (200, b'{"trackers": [], "has_more": false}'))
    with pytest.raises(CarrierRequestError) as caught:
        easypost.fetch("usps", USPS_NUMBER, None)
    assert caught.value.status == 404


def test_easypost_not_found_is_not_retried(api, easypost, waits):
    api.script("GET", "/v2/trackers/trk_missing", (404, fixture("easypost/error_not_found.json")))
    with pytest.raises(CarrierRequestError) as caught:
        easypost.fetch("usps", USPS_NUMBER, "trk_missing")
    assert caught.value.status == 404 and caught.value.body["error"]["code"] == "NOT_FOUND"
    assert len(api.sent("GET", "/v2/trackers/trk_missing")) == 1 and waits.sleeps == []


def test_easypost_outage_ends_in_retry_later(api, easypost, waits):
    api.script("GET", f"/v2/trackers/{TRK}", *[(503, b'{"error": {"code": "SERVICE_UNAVAILABLE"}}')] * 3)
    with pytest.raises(RetryLater):
        easypost.fetch("usps", USPS_NUMBER, TRK)
    assert len(api.sent("GET", f"/v2/trackers/{TRK}")) == 3 and waits.sleeps == [0.1, 0.2]


# --- retries, both clients ----------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["easypost", "aftership"])
def test_429_then_200(api, waits, easypost, aftership, provider):
    client, path, body = _fetch_target(provider, easypost, aftership)
    api.script("GET", path, (429, b'{"error": "rate limited"}', {"Retry-After": "2"}), (200, body))
    update = client.fetch(*_fetch_args(provider))
    assert update.status is S.IN_TRANSIT
    assert len(api.sent("GET", path)) == 2
    assert waits.sleeps == [2.0]  # Retry-After, not backoff


@pytest.mark.parametrize("provider", ["easypost", "aftership"])
def test_503_then_200(api, waits, easypost, aftership, provider):
    client, path, body = _fetch_target(provider, easypost, aftership)
    api.script("GET", path, (503, b"<html>upstream unavailable</html>"), (200, body))
    update = client.fetch(*_fetch_args(provider))
    assert update.status is S.IN_TRANSIT
    assert len(api.sent("GET", path)) == 2
    assert waits.sleeps == [0.1]  # full jitter: random() 0.5 * base 0.2


def _fetch_target(provider: str, easypost: EasyPostClient, aftership: AfterShipClient):
    if provider == "easypost":
        return easypost, f"/v2/trackers/{TRK}", fixture("easypost/tracker_in_transit.json")
    return aftership, f"/tracking/2024-04/trackings/{AS_ID}", fixture("aftership/tracking_in_transit.json")


def _fetch_args(provider: str) -> tuple[str, str, str]:
    return ("usps", USPS_NUMBER, TRK) if provider == "easypost" else ("ups", UPS_NUMBER, AS_ID)


# --- AfterShip ----------------------------------------------------------------------------------

def test_aftership_register(api, aftership):
    api.script("POST", "/tracking/2024-04/trackings", (201, fixture("aftership/tracking_created.json")))
    update = aftership.register("UPS", UPS_NUMBER)
    sent = api.sent("POST", "/tracking/2024-04/trackings")[0]
    assert json.loads(sent["body"]) == {"tracking": {"tracking_number": UPS_NUMBER, "slug": "ups"}}
    assert sent["headers"]["as-api-key"] == AFTERSHIP_KEY
    assert "authorization" not in sent["headers"]
    assert update.provider == "aftership" and update.provider_tracker_id == AS_ID
    assert update.carrier == "ups" and update.status is S.PENDING and update.events == []
    assert update.tracking_url == f"https://www.ups.com/track?tracknum={UPS_NUMBER}"  # no courier link yet


def test_aftership_register_twice_reads_the_existing_tracking(api, aftership):
    api.script("POST", "/tracking/2024-04/trackings", (400, fixture("aftership/tracking_already_exists.json")))
    api.script("GET", f"/tracking/2024-04/trackings/{AS_ID}", (200, fixture("aftership/tracking_in_transit.json")))
    update = aftership.register("ups", UPS_NUMBER)
    assert update.status is S.IN_TRANSIT and update.provider_tracker_id == AS_ID


def test_aftership_fetch_by_id(api, aftership):
    api.script("GET", f"/tracking/2024-04/trackings/{AS_ID}", (200, fixture("aftership/tracking_in_transit.json")))
    update = aftership.fetch("ups", UPS_NUMBER, AS_ID)
    assert (update.status, update.sub_status) == (S.IN_TRANSIT, "arrived_at_facility")
    assert update.estimated_delivery == datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert update.tracking_url == "https://www.ups.com/track?loc=en_US&tracknum=1Z999AA10123456784"
    statuses = [(e.status, e.sub_status) for e in update.events]
    assert statuses == [(S.INFO_RECEIVED, None), (S.IN_TRANSIT, "picked_up"), (S.IN_TRANSIT, "departed_facility"),
                        (S.IN_TRANSIT, "arrived_at_facility"), (S.IN_TRANSIT, "arrived_at_facility")]
    assert update.events[1].location == "Atlanta, GA, USA"
    assert update.events[1].occurred_at == datetime(2026, 11, 16, 21, 40, tzinfo=timezone.utc)
    assert update.events[1].carrier_code == "P"


def test_aftership_fetch_by_slug_and_number(api, aftership):
    path = f"/tracking/2024-04/trackings/ups/{UPS_NUMBER}"
    api.script("GET", path, (200, fixture("aftership/tracking_in_transit.json")))
    assert aftership.fetch("UPS", UPS_NUMBER, None).provider_tracker_id == AS_ID


def test_aftership_client_error(api, aftership):
    body = b'{"meta": {"code": 4005, "message": "The value of tracking_number is invalid.", "type": "BadRequest"}}'
    api.script("POST", "/tracking/2024-04/trackings", (400, body))
    with pytest.raises(CarrierRequestError) as caught:
        aftership.register("ups", "nope")
    assert caught.value.body["meta"]["code"] == 4005


# --- EasyPost webhooks --------------------------------------------------------------------------

EP_SECRET = "whsec-easypost-0123456789"


def easypost_signature(body: bytes, secret: str) -> str:
    """Reference signer, written from EasyPost's description rather than imported."""
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def test_easypost_webhook_valid():
    body = fixture("easypost/webhook_tracker_updated.json")
    update = easypost_webhook({"X-Hmac-Signature": easypost_signature(body, EP_SECRET)}, body, EP_SECRET)
    assert update is not None and update.source == "webhook"
    assert update.status is S.DELIVERED and update.provider_tracker_id == TRK and update.signed_by == "J SMITH"
    assert update == EasyPostClient.parse_webhook({"x-hmac-signature": easypost_signature(body, EP_SECRET)},
                                                  body, EP_SECRET)


def test_easypost_webhook_tampered():
    body = fixture("easypost/webhook_tracker_updated.json")
    signature = easypost_signature(body, EP_SECRET)
    tampered = body.replace(b'"delivered"', b'"return_to_sender"', 1)
    with pytest.raises(InvalidSignature):
        easypost_webhook({"X-Hmac-Signature": signature}, tampered, EP_SECRET)


def test_easypost_webhook_wrong_secret():
    body = fixture("easypost/webhook_tracker_updated.json")
    with pytest.raises(InvalidSignature):
        easypost_webhook({"X-Hmac-Signature": easypost_signature(body, "another-secret")}, body, EP_SECRET)


@pytest.mark.parametrize("headers", [{}, None, {"X-Hmac-Signature": ""}, {"Content-Type": "application/json"}])
def test_easypost_webhook_missing_header(headers):
    body = fixture("easypost/webhook_tracker_updated.json")
    with pytest.raises(InvalidSignature):
        easypost_webhook(headers, body, EP_SECRET)


@pytest.mark.parametrize("signature", ["deadbeef", "hmac-sha256-hex=", "sha256=abc", "hmac-sha256-hex=zz\u00e9"])
def test_easypost_webhook_garbage_signature(signature):
    body = fixture("easypost/webhook_tracker_updated.json")
    with pytest.raises(InvalidSignature):
        easypost_webhook({"X-Hmac-Signature": signature}, body, EP_SECRET)


def test_easypost_webhook_unconfigured_secret_rejects_everything():
    body = fixture("easypost/webhook_tracker_updated.json")
    with pytest.raises(InvalidSignature):
        easypost_webhook({"X-Hmac-Signature": easypost_signature(body, "")}, body, "")


@pytest.mark.parametrize("secret, normalised", [
    ("\ufb01le-secret", "file-secret"),  # the "fi" ligature
    ("secret-\uff11\uff12\uff13", "secret-123"),  # full-width digits
])
def test_easypost_webhook_secret_is_nfkd_normalised(secret, normalised):
    body = fixture("easypost/webhook_tracker_updated.json")
    assert unicodedata.normalize("NFKD", secret) == normalised
    signed_with_normal_form = easypost_signature(body, normalised)
    # the compatibility form and its NFKD form sign identically, in both directions
    assert easypost_webhook({"X-Hmac-Signature": signed_with_normal_form}, body, secret) is not None
    assert easypost_webhook({"X-Hmac-Signature": easypost_signature(body, secret)}, body, normalised) is not None
    # and that is because of the normalisation: the raw UTF-8 key would sign differently
    raw_key = "hmac-sha256-hex=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert raw_key != signed_with_normal_form
    with pytest.raises(InvalidSignature):
        easypost_webhook({"X-Hmac-Signature": raw_key}, body, secret)


def test_easypost_webhook_other_events_are_ignored():
    body = json.dumps({"object": "Event", "description": "batch.updated", "result": {"object": "Batch"}}).encode()
    assert easypost_webhook({"X-Hmac-Signature": easypost_signature(body, EP_SECRET)}, body, EP_SECRET) is None


def test_easypost_webhook_tracker_created_is_accepted():
    event = json.loads(fixture("easypost/webhook_tracker_updated.json"))
    event["description"] = "tracker.created"
    body = json.dumps(event).encode()
    update = easypost_webhook({"X-Hmac-Signature": easypost_signature(body, EP_SECRET)}, body, EP_SECRET)
    assert update is not None and update.tracking_number == USPS_NUMBER


def test_easypost_webhook_signed_garbage_is_malformed():
    body = b"{not json"
    with pytest.raises(MalformedJson):
        easypost_webhook({"X-Hmac-Signature": easypost_signature(body, EP_SECRET)}, body, EP_SECRET)


# --- AfterShip webhooks -------------------------------------------------------------------------

AS_SECRET = "aftership-webhook-secret-0123"


def aftership_signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_aftership_webhook_valid():
    body = fixture("aftership/webhook_tracking_update.json")
    update = aftership_webhook({"aftership-hmac-sha256": aftership_signature(body, AS_SECRET)}, body, AS_SECRET)
    assert update is not None and update.source == "webhook"
    assert (update.status, update.sub_status) == (S.RETURNING_TO_SENDER, "returning_to_sender")
    assert update.carrier == "ups" and update.provider_tracker_id == AS_ID
    assert [e.status for e in update.events][-3:] == [S.OUT_FOR_DELIVERY, S.EXCEPTION, S.RETURNING_TO_SENDER]
    assert update.events[-2].sub_status == "incorrect_address"


def test_aftership_webhook_header_is_case_insensitive():
    body = fixture("aftership/webhook_tracking_update.json")
    headers = {"Aftership-Hmac-Sha256": aftership_signature(body, AS_SECRET)}
    assert AfterShipClient.parse_webhook(headers, body, AS_SECRET) is not None


def test_aftership_webhook_tampered():
    body = fixture("aftership/webhook_tracking_update.json")
    signature = aftership_signature(body, AS_SECRET)
    with pytest.raises(InvalidSignature):
        aftership_webhook({"aftership-hmac-sha256": signature}, body.replace(b"Exception_010", b"Delivered_001"),
                          AS_SECRET)


def test_aftership_webhook_wrong_secret():
    body = fixture("aftership/webhook_tracking_update.json")
    with pytest.raises(InvalidSignature):
        aftership_webhook({"aftership-hmac-sha256": aftership_signature(body, "nope")}, body, AS_SECRET)


@pytest.mark.parametrize("headers", [{}, None, {"aftership-hmac-sha256": ""}, {"x-other": "1"}])
def test_aftership_webhook_missing_header(headers):
    body = fixture("aftership/webhook_tracking_update.json")
    with pytest.raises(InvalidSignature):
        aftership_webhook(headers, body, AS_SECRET)


def test_aftership_webhook_without_a_tracking_is_ignored():
    body = b'{"event": "tracking_pending_time", "event_id": "x", "msg": {}, "ts": 1795104164}'
    assert aftership_webhook({"aftership-hmac-sha256": aftership_signature(body, AS_SECRET)}, body,
                             AS_SECRET) is None


def test_aftership_fetch_without_courier_searches_by_number(api, aftership):
    tracking = json.loads(fixture("aftership/tracking_in_transit.json"))["data"]["tracking"]
    page = {"meta": {"code": 200, "message": "OK", "type": "OK"},
            "data": {"page": 1, "limit": 100, "count": 1, "keyword": "", "slug": "", "origin": [],
                     "destination": [], "tag": "", "fields": "", "created_at_min": "", "created_at_max": "",
                     "last_updated_at": None, "return_to_sender": [], "courier_destination_country_iso3": [],
                     "trackings": [tracking]}}
    api.script("GET", "/tracking/2024-04/trackings", (200, json.dumps(page).encode()))
    update = aftership.fetch("", UPS_NUMBER, None)
    assert update.provider_tracker_id == AS_ID
    assert api.sent("GET", "/tracking/2024-04/trackings")[0]["query"] == {"tracking_numbers": [UPS_NUMBER]}


def test_easypost_webhook_with_an_odd_description_is_ignored():
    body = b'{"object": "Event", "description": ["tracker.updated"], "result": {}}'
    assert easypost_webhook({"X-Hmac-Signature": easypost_signature(body, EP_SECRET)}, body, EP_SECRET) is None
