"""A small JSON-over-HTTP client for carrier APIs, on the standard library only.

Why not a third-party client: the Lambda layer stays dependency-free, and urllib does what the
carrier APIs need once four policies are added on top:

* timeouts: separate connect and read budgets, so a slow TLS handshake and a slow body are
  bounded independently (urllib alone has one socket timeout);
* retries: 429, 5xx and connection failures are retried with exponential backoff and full
  jitter (random between 0 and the cap, so a fleet of Lambdas does not retry in lock-step);
  `Retry-After` wins when the server sends it;
* a client-side token bucket per provider, so we stay under the provider's rate limit instead
  of discovering it through 429s;
* a clear error split: RetryLater (transient: let SQS redeliver the message later) versus
  CarrierRequestError (the provider rejected the request; retrying will not help);
* a deadline: with one, no attempt, backoff or Retry-After wait runs past it (a Lambda with ten
  polls in a batch must not be killed by its timeout in the middle of a carrier's outage); the
  RetryLater then carries the provider's Retry-After, so the caller reschedules no sooner.

Sleep, randomness and clocks are injectable so tests never really wait.
"""
from __future__ import annotations

import base64
import functools
import http.client
import json
import random as _random
import threading
import time as _time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from postpurchase.errors import RetryLater

Sleep = Callable[[float], None]
Clock = Callable[[], float]

_MAX_ERROR_BODY = 2000
# An attempt is only started with at least this much time left before the deadline.
_MIN_ATTEMPT_SECONDS = 0.5


class CarrierRequestError(Exception):
    """The provider refused the request (4xx other than 429): retrying the same call is useless."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body  # parsed JSON when the provider sent JSON, else (truncated) text


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 15.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4  # total tries, first one included
    base_delay: float = 0.5  # seconds; attempt n waits up to base * 2**n
    max_delay: float = 8.0  # cap of one backoff
    # A longer Retry-After is not slept through: a Lambda would burn its timeout waiting, so
    # we raise RetryLater and let the queue's visibility timeout do the waiting instead.
    max_retry_after: float = 30.0


class TokenBucket:
    """Client-side rate limiter: `rate` requests/second with bursts of up to `capacity`.

    Callers reserve a token even when the bucket is empty (it goes negative), so concurrent
    callers queue up fairly instead of all waking at once.
    """

    def __init__(self, rate: float, capacity: float | None = None, *, clock: Clock = _time.monotonic,
                 sleep: Sleep = _time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else max(1.0, rate))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping if needed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait


# One bucket per provider per process: every client instance in a warm Lambda shares the limit.
_BUCKETS: dict[str, TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def shared_bucket(provider: str, rate: float) -> TokenBucket:
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(provider)
        if bucket is None or bucket.rate != float(rate):
            bucket = _BUCKETS[provider] = TokenBucket(rate)
        return bucket


# --- connect/read timeouts for urllib ---------------------------------------------------------

class _HTTPConnection(http.client.HTTPConnection):
    """Connects within `timeout` (the connect budget), then reads within `read_timeout`."""

    def __init__(self, *args: Any, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self._read_timeout)


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()  # TCP + TLS handshake, both within the connect budget
        self.sock.settimeout(self._read_timeout)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self._read_timeout = read_timeout

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_HTTPConnection, read_timeout=self._read_timeout), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self._read_timeout = read_timeout

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        kwargs: dict[str, Any] = {"context": self._context}
        if getattr(self, "_check_hostname", None) is not None:  # Python < 3.12 only
            kwargs["check_hostname"] = self._check_hostname
        return self.do_open(functools.partial(_HTTPSConnection, read_timeout=self._read_timeout), req, **kwargs)


def build_opener(read_timeout: float) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_HTTPHandler(read_timeout), _HTTPSHandler(read_timeout))


# --- the client -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Transient:
    """A failed attempt worth retrying."""

    reason: str
    retry_after: float | None = None


class HttpClient:
    """JSON request/response against one base URL, with timeouts, retries and rate limiting."""

    def __init__(
        self,
        base_url: str,
        *,
        provider: str = "carrier",
        headers: Mapping[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        requests_per_second: float | None = None,
        rate_limiter: TokenBucket | None = None,
        sleep: Sleep = _time.sleep,
        random: Callable[[], float] = _random.random,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        opener: urllib.request.OpenerDirector | None = None,
        deadline: float | None = None,
        monotonic: Clock = _time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.provider = provider
        self.timeouts = timeouts
        self.retry = retry
        self._headers = {"Accept": "application/json", "User-Agent": "postpurchase-tracking/1.0"}
        self._headers.update(headers or {})
        if basic_auth is not None:
            user, password = basic_auth
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        if rate_limiter is None and requests_per_second:
            rate_limiter = shared_bucket(provider, requests_per_second)
        self._limiter = rate_limiter
        self._sleep = sleep
        self._random = random
        self._wall_clock = wall_clock
        self._own_opener = opener is None
        self._opener = opener or build_opener(timeouts.read)
        # A monotonic() instant no request outlives (None: only the attempts' own budgets).
        self.deadline = deadline
        self._monotonic = monotonic

    # Convenience verbs.
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json_body=body)

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        """Send, retrying transient failures; the decoded JSON body (None when empty).

        Raises CarrierRequestError for a 4xx other than 429, RetryLater once retries are spent
        or the deadline leaves no room for another attempt (with the provider's Retry-After).
        """
        url = self._url(path, params)
        data = None if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
        all_headers = dict(self._headers)
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        last: _Transient | None = None
        for attempt in range(max(1, self.retry.max_attempts)):
            if attempt:
                delay = self._delay(attempt - 1, last)
                if not self._fits(delay):
                    break  # waiting (say, a Retry-After) would run past the deadline: later, then
                self._sleep(delay)
            if self._limiter is not None:
                self._limiter.acquire()
            remaining = self._remaining()
            if remaining is not None and remaining < _MIN_ATTEMPT_SECONDS:
                last = last or _Transient("no time left before the deadline")
                break
            outcome = self._attempt(method, url, data, all_headers, remaining)
            if not isinstance(outcome, _Transient):
                return outcome
            last = outcome
            if outcome.retry_after is not None and outcome.retry_after > self.retry.max_retry_after:
                break  # the provider asked for a long pause: hand the wait to the queue
        raise RetryLater(f"{self.provider} {method} {path}: {last.reason if last else 'failed'}",
                         retry_after=last.retry_after if last else None)

    # Internals.
    def _url(self, path: str, params: Mapping[str, Any] | None) -> str:
        url = f"{self.base_url}/{path.lstrip('/')}"
        if params:
            query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
            if query:
                url = f"{url}?{query}"
        return url

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - self._monotonic()

    def _fits(self, delay: float) -> bool:
        """Is there time to wait `delay` and then make an attempt before the deadline?"""
        remaining = self._remaining()
        return remaining is None or delay + _MIN_ATTEMPT_SECONDS <= remaining

    def _delay(self, retry_index: int, last: _Transient | None) -> float:
        if last is not None and last.retry_after is not None:
            return max(0.0, last.retry_after)
        cap = min(self.retry.max_delay, self.retry.base_delay * (2 ** retry_index))
        return self._random() * cap  # full jitter

    def _attempt(self, method: str, url: str, data: bytes | None, headers: dict[str, str],
                 remaining: float | None = None) -> Any:
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        connect, opener = self.timeouts.connect, self._opener
        if remaining is not None:
            # Both budgets shrink to what is left before the deadline.
            connect = min(connect, remaining)
            if remaining < self.timeouts.read and self._own_opener:
                opener = build_opener(remaining)
        try:
            with opener.open(request, timeout=connect) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            return self._http_error(error)
        except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, resets are OSErrors
            # Refused, reset, DNS, connect/read timeout, truncated body: all worth another try.
            return _Transient(f"connection error: {type(error).__name__}: {getattr(error, 'reason', error)}")
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            # A 2xx with a non-JSON body is a proxy or maintenance page, not an answer.
            return _Transient(f"HTTP {status} with a non-JSON body")

    def _http_error(self, error: urllib.error.HTTPError) -> _Transient:
        try:
            raw = error.read() or b""
        except (OSError, http.client.HTTPException):
            raw = b""
        finally:
            error.close()
        status = error.code
        if status == 429 or 500 <= status <= 599:
            return _Transient(f"HTTP {status}", self._retry_after(error.headers.get("Retry-After")))
        body = _decode_body(raw)
        raise CarrierRequestError(status, f"{self.provider} rejected the request", body)

    def _retry_after(self, value: str | None) -> float | None:
        """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
        if not value or not value.strip():
            return None
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, (when - self._wall_clock()).total_seconds())


def _decode_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw[:_MAX_ERROR_BODY].decode("utf-8", "replace")
