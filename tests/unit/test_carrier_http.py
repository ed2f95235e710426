"""HttpClient: retries with backoff + full jitter, Retry-After, rate limiting, timeouts, errors.

A scripted opener stands in for the network (no sleeping, no sockets), except the two timeout
tests, which need a real socket on 127.0.0.1 to prove the read timeout is enforced.
"""
from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
import urllib.error
from datetime import datetime, timezone
from email.message import Message
from typing import Any

import pytest

from postpurchase.errors import RetryLater
from postpurchase.tracking.carriers.http import (
    CarrierRequestError,
    HttpClient,
    RetryPolicy,
    Timeouts,
    TokenBucket,
    shared_bucket,
)

BASE = "https://api.carrier.test/v2"


class FakeResponse:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self._body = body

    def read(self) -> bytes:
        return self._body

    def __enter__(self) -> "FakeResponse":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


class ScriptedOpener:
    """Answers each open() with the next scripted outcome; records every request."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[dict[str, Any]] = []

    def open(self, request, timeout=None):
        self.requests.append({"method": request.get_method(), "url": request.full_url, "timeout": timeout,
                              "headers": {k.lower(): v for k, v in request.header_items()},
                              "data": request.data})
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        status, headers, body = outcome
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        if 200 <= status < 300:
            return FakeResponse(status, body)
        message = Message()
        for key, value in (headers or {}).items():
            message[key] = value
        raise urllib.error.HTTPError(request.full_url, status, "error", message, io.BytesIO(body))


def ok(body: Any = None, status: int = 200):
    return (status, {}, {"ok": True} if body is None else body)


def fail(status: int, headers: dict[str, str] | None = None, body: Any = b""):
    return (status, headers or {}, body)


def client(opener: ScriptedOpener, *, sleeps: list[float] | None = None, jitter: float = 0.5,
           retry: RetryPolicy = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0),
           **kwargs: Any) -> HttpClient:
    return HttpClient(BASE, provider="test", opener=opener, retry=retry,
                      sleep=(sleeps.append if sleeps is not None else lambda s: None),
                      random=lambda: jitter, **kwargs)


# --- happy path -------------------------------------------------------------------------------

def test_json_in_json_out():
    opener = ScriptedOpener(ok({"id": "trk_1"}, status=201))
    result = client(opener).post("/trackers", {"tracker": {"tracking_code": "EZ1"}})
    assert result == {"id": "trk_1"}
    sent = opener.requests[0]
    assert sent["method"] == "POST" and sent["url"] == f"{BASE}/trackers"
    assert json.loads(sent["data"]) == {"tracker": {"tracking_code": "EZ1"}}
    assert sent["headers"]["content-type"] == "application/json"
    assert sent["headers"]["accept"] == "application/json"


def test_query_parameters_are_encoded_and_none_dropped():
    opener = ScriptedOpener(ok())
    client(opener).get("/trackers", {"tracking_code": "EZ 1/2", "carrier": None, "page_size": 5})
    assert opener.requests[0]["url"] == f"{BASE}/trackers?tracking_code=EZ+1%2F2&page_size=5"
    assert opener.requests[0]["data"] is None


def test_basic_auth():
    opener = ScriptedOpener(ok())
    client(opener, basic_auth=("EZAK_secret", "")).get("/trackers/trk_1")
    expected = "Basic " + base64.b64encode(b"EZAK_secret:").decode()
    assert opener.requests[0]["headers"]["authorization"] == expected


def test_header_auth():
    opener = ScriptedOpener(ok())
    client(opener, headers={"as-api-key": "asat_secret"}).get("/trackings/abc")
    assert opener.requests[0]["headers"]["as-api-key"] == "asat_secret"


def test_empty_body_is_none():
    assert client(ScriptedOpener((204, {}, b""))).get("/x") is None


def test_connect_timeout_is_passed_to_the_opener():
    opener = ScriptedOpener(ok())
    client(opener, timeouts=Timeouts(connect=2.5, read=9.0)).get("/x")
    assert opener.requests[0]["timeout"] == 2.5


# --- retries ----------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_status_is_retried(status):
    sleeps: list[float] = []
    opener = ScriptedOpener(fail(status), ok({"done": 1}))
    assert client(opener, sleeps=sleeps).get("/x") == {"done": 1}
    assert len(opener.requests) == 2 and len(sleeps) == 1


def test_backoff_is_exponential_with_full_jitter():
    sleeps: list[float] = []
    opener = ScriptedOpener(fail(503), fail(503), fail(503), ok())
    client(opener, sleeps=sleeps, jitter=1.0).get("/x")
    assert sleeps == [0.5, 1.0, 2.0]  # the caps: base * 2**n
    sleeps.clear()
    opener = ScriptedOpener(fail(503), fail(503), fail(503), ok())
    client(opener, sleeps=sleeps, jitter=0.25).get("/x")
    assert sleeps == [0.125, 0.25, 0.5]  # full jitter: random() * cap


def test_backoff_is_capped():
    sleeps: list[float] = []
    opener = ScriptedOpener(*[fail(500)] * 5, ok())
    client(opener, sleeps=sleeps, jitter=1.0, retry=RetryPolicy(max_attempts=6, base_delay=1, max_delay=3)).get("/x")
    assert sleeps == [1, 2, 3, 3, 3]


def test_retry_after_seconds_is_honoured():
    sleeps: list[float] = []
    opener = ScriptedOpener(fail(429, {"Retry-After": "3"}), ok())
    client(opener, sleeps=sleeps).get("/x")
    assert sleeps == [3.0]


def test_retry_after_http_date_is_honoured():
    sleeps: list[float] = []
    now = datetime(2026, 11, 20, 10, 0, 0, tzinfo=timezone.utc)
    opener = ScriptedOpener(fail(503, {"Retry-After": "Fri, 20 Nov 2026 10:00:07 GMT"}), ok())
    client(opener, sleeps=sleeps, wall_clock=lambda: now).get("/x")
    assert sleeps == [7.0]


def test_unparseable_retry_after_falls_back_to_backoff():
    sleeps: list[float] = []
    opener = ScriptedOpener(fail(429, {"Retry-After": "soon"}), ok())
    client(opener, sleeps=sleeps, jitter=1.0).get("/x")
    assert sleeps == [0.5]


def test_a_long_retry_after_is_left_to_the_queue():
    sleeps: list[float] = []
    opener = ScriptedOpener(fail(429, {"Retry-After": "600"}), ok())
    with pytest.raises(RetryLater):
        client(opener, sleeps=sleeps).get("/x")
    assert sleeps == [] and len(opener.requests) == 1


def test_exhausted_retries_raise_retry_later():
    sleeps: list[float] = []
    opener = ScriptedOpener(*[fail(503)] * 4)
    with pytest.raises(RetryLater, match="503"):
        client(opener, sleeps=sleeps).get("/x")
    assert len(opener.requests) == 4 and len(sleeps) == 3


@pytest.mark.parametrize("error", [
    urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
    urllib.error.URLError(socket.gaierror(-2, "Name or service not known")),
    TimeoutError("timed out"),
    ConnectionResetError(104, "Connection reset by peer"),
])
def test_connection_errors_are_retried(error):
    opener = ScriptedOpener(error, ok({"done": 1}))
    assert client(opener).get("/x") == {"done": 1}
    assert len(opener.requests) == 2


def test_persistent_connection_errors_raise_retry_later():
    opener = ScriptedOpener(*[TimeoutError("timed out")] * 4)
    with pytest.raises(RetryLater, match="TimeoutError"):
        client(opener).get("/x")


def test_a_non_json_success_is_transient():
    opener = ScriptedOpener((200, {}, b"<html>maintenance</html>"), ok({"done": 1}))
    assert client(opener).get("/x") == {"done": 1}


# --- client errors ----------------------------------------------------------------------------

@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_raise_without_retry(status):
    sleeps: list[float] = []
    body = {"error": {"code": "NOT_FOUND", "message": "The requested resource could not be found."}}
    opener = ScriptedOpener(fail(status, body=json.dumps(body).encode()))
    with pytest.raises(CarrierRequestError) as caught:
        client(opener, sleeps=sleeps).get("/trackers/trk_missing")
    assert caught.value.status == status and caught.value.body == body
    assert len(opener.requests) == 1 and sleeps == []


def test_client_error_with_text_body():
    opener = ScriptedOpener(fail(400, body=b"bad request"))
    with pytest.raises(CarrierRequestError) as caught:
        client(opener).get("/x")
    assert caught.value.body == "bad request"


def test_errors_never_carry_credentials():
    opener = ScriptedOpener(fail(401, body=b""), *[fail(503)] * 4)
    http = client(opener, basic_auth=("EZAK_topsecret", ""), headers={"as-api-key": "asat_topsecret"})
    with pytest.raises(CarrierRequestError) as rejected:
        http.get("/x")
    with pytest.raises(RetryLater) as later:
        http.get("/x")
    for error in (rejected.value, later.value):
        assert "topsecret" not in str(error) and "topsecret" not in repr(error.args)


# --- rate limiting ----------------------------------------------------------------------------

class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_token_bucket_allows_a_burst_then_paces():
    fake = FakeTime()
    bucket = TokenBucket(2, capacity=2, clock=fake.clock, sleep=fake.sleep)
    let_through = []
    for _ in range(5):
        bucket.acquire()
        let_through.append(fake.now)
    assert let_through == [0.0, 0.0, 0.5, 1.0, 1.5]


def test_token_bucket_refills_while_idle():
    fake = FakeTime()
    bucket = TokenBucket(1, capacity=3, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        bucket.acquire()
    fake.now += 10  # idle: refills, but only up to capacity
    waits = [bucket.acquire() for _ in range(4)]
    assert waits == [0.0, 0.0, 0.0, 1.0]


def test_token_bucket_rejects_a_non_positive_rate():
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_every_attempt_takes_a_token():
    fake = FakeTime()
    bucket = TokenBucket(1, capacity=1, clock=fake.clock, sleep=fake.sleep)
    opener = ScriptedOpener(fail(503), ok())
    client(opener, rate_limiter=bucket).get("/x")
    assert fake.sleeps == [1.0]  # the retry waited for the second token


def test_rate_limit_is_shared_per_provider():
    assert shared_bucket("test-provider", 3) is shared_bucket("test-provider", 3)
    assert shared_bucket("test-provider", 3) is not shared_bucket("other-provider", 3)
    first = HttpClient(BASE, provider="test-shared", requests_per_second=4, opener=ScriptedOpener())
    second = HttpClient(BASE, provider="test-shared", requests_per_second=4, opener=ScriptedOpener())
    assert first._limiter is second._limiter


# --- real sockets: connect and read timeouts --------------------------------------------------

@pytest.fixture
def silent_server():
    """Accepts connections and never answers: only a read timeout gets a client out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_read_timeout_is_enforced(silent_server):
    http = HttpClient(silent_server, provider="test", timeouts=Timeouts(connect=2.0, read=0.2),
                      retry=RetryPolicy(max_attempts=2), sleep=lambda s: None)
    started = time.monotonic()
    with pytest.raises(RetryLater, match="connection error"):
        http.get("/slow")
    assert time.monotonic() - started < 1.8  # 2 attempts x 0.2 s, far below the connect budget


def test_connection_refused_is_retried_then_retry_later():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens here now
    http = HttpClient(f"http://127.0.0.1:{port}", provider="test", retry=RetryPolicy(max_attempts=3),
                      sleep=lambda s: None)
    with pytest.raises(RetryLater, match="connection error"):
        http.get("/x")


# --- deadline ---------------------------------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_a_retry_after_past_the_deadline_is_not_slept_and_is_passed_on():
    clock = FakeClock()
    opener = ScriptedOpener(fail(429, {"Retry-After": "20"}), ok())
    http = HttpClient(BASE, provider="test", opener=opener, sleep=clock.sleep, monotonic=clock,
                      deadline=clock.t + 10)
    with pytest.raises(RetryLater) as raised:
        http.get("/x")
    assert raised.value.retry_after == 20.0  # the caller must not come back sooner
    assert len(opener.requests) == 1 and clock.t == 100.0  # not hammered, not slept


def test_a_long_retry_after_is_passed_on():
    opener = ScriptedOpener(fail(429, {"Retry-After": "600"}), ok())
    with pytest.raises(RetryLater) as raised:
        client(opener).get("/x")
    assert raised.value.retry_after == 600.0


def test_backoff_stops_at_the_deadline():
    clock = FakeClock()
    opener = ScriptedOpener(*[fail(503)] * 10)
    http = HttpClient(BASE, provider="test", opener=opener, sleep=clock.sleep, monotonic=clock, random=lambda: 1.0,
                      retry=RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=8.0), deadline=clock.t + 5)
    with pytest.raises(RetryLater, match="503"):
        http.get("/x")
    # 1 s then 2 s of backoff fit in 5 s; the 4 s after the third attempt would not.
    assert len(opener.requests) == 3 and clock.t == 103.0


def test_no_attempt_without_time_left():
    clock = FakeClock()
    opener = ScriptedOpener(ok())
    http = HttpClient(BASE, provider="test", opener=opener, monotonic=clock, deadline=clock.t)
    with pytest.raises(RetryLater, match="deadline"):
        http.get("/x")
    assert opener.requests == []


def test_the_connect_budget_shrinks_to_the_deadline():
    clock = FakeClock()
    opener = ScriptedOpener(ok())
    HttpClient(BASE, provider="test", opener=opener, monotonic=clock, deadline=clock.t + 2,
               timeouts=Timeouts(connect=5.0, read=15.0)).get("/x")
    assert opener.requests[0]["timeout"] == 2.0


def test_the_read_budget_shrinks_to_the_deadline(silent_server):
    http = HttpClient(silent_server, provider="test", timeouts=Timeouts(connect=2.0, read=30.0),
                      retry=RetryPolicy(max_attempts=5), sleep=lambda s: None, deadline=time.monotonic() + 0.8)
    started = time.monotonic()
    with pytest.raises(RetryLater):
        http.get("/slow")
    assert time.monotonic() - started < 2.0  # not 30 s: the deadline cut the read short
