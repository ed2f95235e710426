"""AWS faults and crashes, injected through botocore's event system on every client built.

botocore.session.Session.create_client is wrapped so that each client (boto3's, PynamoDB's,
Powertools') gets two handlers:

* before-send: for a chosen fraction of calls, answer with the error AWS would send
  (status, headers, body); botocore parses and retries it exactly as a real one;
* after-call: counts the writes a handler invocation made, and raises InjectedCrash after
  the k-th when a crash is armed (the process "dies" right after AWS applied that write).

Selection is deterministic for a seed. Only the thread that arms a crash sees it.
"""
from __future__ import annotations

import json
import random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from botocore.awsrequest import AWSResponse

# A mutating call: what a crash can happen "after".
WRITES = {
    "dynamodb": {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"},
    "sqs": {"SendMessage", "SendMessageBatch"},
    "eventbridge": {"PutEvents"},
    "sesv2": {"SendEmail"},
}


class InjectedCrash(BaseException):
    """The invocation died here. A BaseException, so no `except Exception` in the product
    swallows it: like a Lambda killed by its timeout or an OOM, the whole batch fails."""


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any):
        yield self._body


def _dynamodb_error(code: str, message: str, **extra: Any) -> tuple[int, dict, bytes]:
    body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **extra}
    return 400, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(body).encode()


def _rest_json_error(status: int, code: str, message: str) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, \
        json.dumps({"message": message}).encode()


# The errors we inject, as AWS sends them.
ERRORS: dict[str, Callable[[], tuple[int, dict, bytes]]] = {
    "ProvisionedThroughputExceededException": lambda: _dynamodb_error(
        "ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table "
        "was exceeded."),
    "TransactionConflict": lambda: _dynamodb_error(
        "TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons for specific "
        "reasons [TransactionConflict]",
        CancellationReasons=[{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]),
    "TooManyRequestsException": lambda: _rest_json_error(429, "TooManyRequestsException", "Maximum sending rate "
                                                                                           "exceeded."),
    "MessageRejected": lambda: _rest_json_error(400, "MessageRejected", "Email address is not verified."),
}


@dataclass
class Rule:
    service: str
    operations: set[str] | None  # None: every operation of the service
    error: str
    rate: float
    when: Callable[[Any], bool] = lambda request: True  # e.g. only requests naming one recipient


@dataclass
class Faults:
    seed: int = 7
    rules: list[Rule] = field(default_factory=list)
    enabled: bool = True
    injected: Counter = field(default_factory=Counter)  # error -> count
    crashes: int = 0
    _local: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    # --- crashes -----------------------------------------------------------------------------

    def arm_crash(self, after_write: int) -> None:
        self._local.crash_at = after_write
        self._local.writes = 0

    def disarm(self) -> int:
        """Stop counting; returns how many writes the invocation made."""
        writes = getattr(self._local, "writes", 0)
        self._local.crash_at = None
        self._local.writes = 0
        return writes

    def _after_call(self, event_name: str, http_response: Any = None, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        if operation not in WRITES.get(service, ()) or http_response is None or http_response.status_code >= 300:
            return
        crash_at = getattr(self._local, "crash_at", None)
        self._local.writes = getattr(self._local, "writes", 0) + 1
        if crash_at is not None and self._local.writes == crash_at:
            self._local.crash_at = None
            self.crashes += 1
            raise InjectedCrash(f"crash after write {crash_at} ({service}.{operation})")

    # --- error answers -----------------------------------------------------------------------

    def _before_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        if not self.enabled or getattr(self._local, "quiet", False):
            return None
        _, service, operation = event_name.split(".", 2)
        for rule in self.rules:
            if rule.service != service or (rule.operations is not None and operation not in rule.operations):
                continue
            if not rule.when(request):
                continue
            with self._lock:
                hit = self._rng.random() < rule.rate
            if hit:
                self.injected[rule.error] += 1
                status, headers, body = ERRORS[rule.error]()
                headers = {**headers, "x-amzn-RequestId": uuid.uuid4().hex, "Content-Length": str(len(body))}
                return AWSResponse(request.url, status, headers, _Raw(body))
        return None

    # --- installation ------------------------------------------------------------------------

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send", self._before_send, unique_id=f"chaos-send-{id(self)}")
        client.meta.events.register("after-call", self._after_call, unique_id=f"chaos-call-{id(self)}")


_installed: list[Callable[[Any], None]] = []
_original_create_client = None


def install(*attachers: Callable[[Any], None]) -> None:
    """Every botocore client created from now on gets these attachers' handlers."""
    global _original_create_client
    import botocore.session

    _installed[:] = attachers
    if _original_create_client is None:
        _original_create_client = botocore.session.Session.create_client

        def create_client(self, *args: Any, **kwargs: Any) -> Any:
            client = _original_create_client(self, *args, **kwargs)
            for attach in _installed:
                attach(client)
            return client

        botocore.session.Session.create_client = create_client


def uninstall() -> None:
    _installed.clear()


def fast_backoff(scale: float = 0.02) -> None:
    """botocore's retry backoff, scaled down: time is simulated, so its seconds of real sleep
    between retries only slow the run (the number and order of retries is unchanged)."""
    from botocore.retries import standard

    if getattr(standard.ExponentialBackoff, "_chaos_scaled", False):
        return
    original = standard.ExponentialBackoff.delay_amount

    def delay_amount(self, context):
        return original(self, context) * scale

    standard.ExponentialBackoff.delay_amount = delay_amount
    standard.ExponentialBackoff._chaos_scaled = True
