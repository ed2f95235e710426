"""`make load`: concurrent storefronts placing orders against the local runtime over HTTP.

LOAD_CLIENTS storefronts (default 16), each on its own keep-alive connection, place orders for
LOAD_SECONDS (default 30) through the API and signed Shopify and WooCommerce webhooks, in
turn; every order is new (ids unique to the run). Then the queues drain and every order must
have exactly one confirmation email in the outbox. Prints throughput, p50/p99 latency, errors
and emails per order; exits non-zero on any error, missing or duplicate email.

The local runtime is started in a subprocess (`python -m infra.local.serve` on a free port of
127.0.0.1), or LOAD_URL targets a running `make local` (then LOAD_OUTBOX, default ./outbox,
is where its emails land). Loopback only: this is not a load test of AWS.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import itertools
import json
import math
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlsplit

from infra.local.seed import DemoCredentials, demo_credentials

REPO = Path(__file__).resolve().parents[1]
STOREFRONTS = REPO / "events" / "storefronts"
KINDS = ("api", "shopify", "woocommerce")
# A bound on every loop, whatever LOAD_SECONDS says.
MAX_REQUESTS_PER_CLIENT = 5000


# --- storefront requests ---------------------------------------------------------------------

@dataclass(frozen=True)
class StorefrontRequest:
    kind: str
    order_id: str
    path: str
    headers: dict[str, str]
    body: bytes


def _json(relative: str) -> dict[str, Any]:
    return json.loads((STOREFRONTS / relative).read_text(encoding="utf-8"))


def _encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _hmac(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Storefronts:
    """Builds the i-th order of a run: API, Shopify, WooCommerce in turn, every id new.

    Shopify and WooCommerce order ids are numbers; one counter over all three kinds keeps the
    ids distinct within the demo merchant."""

    def __init__(self, credentials: DemoCredentials, run: int | None = None) -> None:
        self.credentials = credentials
        self.run = run if run is not None else 10**8 + secrets.randbelow(9 * 10**8)  # 9 digits
        self._api = _json("api/order.json")
        self._shopify = _json("shopify/orders_create.json")
        self._woocommerce = _json("woocommerce/order_created.json")

    def order_number(self, index: int) -> int:
        return self.run * 10**7 + index

    def request(self, index: int, now: datetime | None = None) -> StorefrontRequest:
        now = now or datetime.now(timezone.utc)  # an order placed days ago would not be confirmed
        number = self.order_number(index)
        kind = KINDS[index % len(KINDS)]
        merchant = self.credentials.merchant_id
        if kind == "api":
            order_id = f"load-{number}"
            body = _encode({**self._api, "order_id": order_id, "placed_at": now.isoformat()})
            headers = {"Authorization": f"Bearer {self.credentials.api_key}"}
            path = "/v1/orders"
        elif kind == "shopify":
            order_id = str(number)
            stamp = now.isoformat()
            body = _encode({**self._shopify, "id": number, "admin_graphql_api_id": f"gid://shopify/Order/{number}",
                            "created_at": stamp, "processed_at": stamp, "updated_at": stamp})
            headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": f"load-wh-{number}",
                       "X-Shopify-Shop-Domain": self.credentials.shopify_shop_domain,
                       "X-Shopify-Hmac-Sha256": _hmac(body, self.credentials.shopify_secret)}
            path = f"/webhooks/shopify/{merchant}"
        else:
            order_id = str(number)
            gmt = now.strftime("%Y-%m-%dT%H:%M:%S")
            body = _encode({**self._woocommerce, "id": number, "date_created_gmt": gmt, "date_modified_gmt": gmt})
            headers = {"X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Delivery-ID": f"load-dl-{number}",
                       "X-WC-Webhook-Signature": _hmac(body, self.credentials.woocommerce_secret)}
            path = f"/webhooks/woocommerce/{merchant}"
        return StorefrontRequest(kind, order_id, path, {"Content-Type": "application/json", **headers}, body)


def confirmation_key(merchant_id: str, order_id: str) -> str:
    return f"{merchant_id}/order_confirmation#{order_id}"


def confirmations(outbox: Path, keys: set[str]) -> Counter:
    """How many emails in the outbox carry each of these ledger keys (headers only)."""
    parser = BytesHeaderParser()
    found: Counter = Counter()
    for path in outbox.glob("*.eml"):
        with path.open("rb") as handle:
            key = parser.parse(handle)["X-Postpurchase-Message"]
        if key in keys:
            found[key] += 1
    return found


# --- statistics ------------------------------------------------------------------------------

def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank p-th percentile (0 < p <= 100) of the values."""
    if not values:
        raise ValueError("no values")
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    order_ids: list[str] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    reconnects: int = 0

    def merge(self, other: "Outcome") -> None:
        self.latencies_ms += other.latencies_ms
        self.statuses += other.statuses
        self.errors += other.errors
        self.order_ids += other.order_ids
        self.kinds += other.kinds
        self.reconnects += other.reconnects

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    def error_count(self) -> int:
        return sum(self.errors.values()) + sum(n for status, n in self.statuses.items() if not 200 <= status < 300)


def summary(outcome: Outcome, seconds: float) -> dict[str, Any]:
    latencies = outcome.latencies_ms
    return {
        "requests": outcome.requests,
        "throughput_rps": outcome.requests / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(latencies, 50) if latencies else None,
        "p99_ms": percentile(latencies, 99) if latencies else None,
        "max_ms": max(latencies) if latencies else None,
        "errors": outcome.error_count(),
    }


# --- the storefronts -------------------------------------------------------------------------

class Client:
    """One storefront on one keep-alive connection (a new one after a failure)."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._connection: http.client.HTTPConnection | None = None

    def send(self, request: StorefrontRequest) -> tuple[int, bytes]:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self._connection.request("POST", request.path, body=request.body, headers=request.headers)
            response = self._connection.getresponse()
            return response.status, response.read()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def run_client(client: Client, storefronts: Storefronts, indexes: "itertools.count[int]", deadline: float,
               max_requests: int) -> Outcome:
    outcome = Outcome()
    try:
        for _ in range(max_requests):
            if time.monotonic() >= deadline:
                break
            request = storefronts.request(next(indexes))
            started = time.perf_counter()
            try:
                status, _ = client.send(request)
            except (OSError, http.client.HTTPException) as error:
                outcome.errors[type(error).__name__] += 1
                outcome.reconnects += 1
                continue
            outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
            outcome.statuses[status] += 1
            if 200 <= status < 300:
                outcome.order_ids.append(request.order_id)
                outcome.kinds[request.kind] += 1
    finally:
        client.close()
    return outcome


def place_orders(base_url: str, storefronts: Storefronts, clients: int, seconds: float,
                 max_requests_per_client: int = MAX_REQUESTS_PER_CLIENT) -> tuple[Outcome, float]:
    """`clients` storefronts in parallel for `seconds` (or their request bound); the merged
    outcome and the wall time it took."""
    address = urlsplit(base_url)
    indexes = itertools.count()  # next() on it is atomic in CPython: no two clients share an id
    start = threading.Barrier(clients + 1)
    results: list[Outcome] = [Outcome() for _ in range(clients)]
    deadline_box: list[float] = []

    def work(slot: int) -> None:
        start.wait()
        results[slot] = run_client(Client(address.hostname, address.port or 80), storefronts, indexes,
                                   deadline_box[0], max_requests_per_client)

    threads = [threading.Thread(target=work, args=(slot,), name=f"storefront-{slot}", daemon=True)
               for slot in range(clients)]
    for thread in threads:
        thread.start()
    deadline_box.append(time.monotonic() + seconds)
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join(seconds + 120)  # a request times out after 30 s; a stuck thread is reported below
    elapsed = time.perf_counter() - began
    merged = Outcome()
    for thread, result in zip(threads, results):
        if thread.is_alive():
            merged.errors["client did not finish"] += 1
        merged.merge(result)
    return merged, elapsed


def await_confirmations(outbox: Path, merchant_id: str, order_ids: Sequence[str], timeout: float,
                        settle: float = 3.0, stall: float | None = None) -> Counter:
    """Wait until every order has a confirmation, then `settle` seconds more, so a late
    duplicate is counted too. Gives up after `timeout`, or after `stall` seconds without a
    new confirmation (the queue pump drains at its own pace, a backlog takes a while)."""
    keys = {confirmation_key(merchant_id, order_id) for order_id in order_ids}
    deadline = time.monotonic() + timeout
    found = confirmations(outbox, keys)
    progress_by = time.monotonic() + (stall or timeout)
    while len(found) < len(keys) and time.monotonic() < min(deadline, progress_by):
        time.sleep(1.0 if stall else 0.5)
        before, found = len(found), confirmations(outbox, keys)
        if len(found) > before:
            progress_by = time.monotonic() + (stall or timeout)
    time.sleep(settle)
    return confirmations(outbox, keys)


# --- the runtime -----------------------------------------------------------------------------

def wait_until_serving(base_url: str, process: subprocess.Popen | None, timeout: float = 120.0) -> None:
    address = urlsplit(base_url)
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the local runtime exited with {process.returncode}")
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
        try:
            connection.request("GET", "/openapi.json")
            response = connection.getresponse()
            response.read()  # closing with the body unread would reset the connection
            if response.status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            connection.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"the local runtime did not answer on {base_url} within {timeout:.0f} s")
        time.sleep(0.3)


def start_runtime(workdir: Path) -> tuple[subprocess.Popen, str, Path, Path]:
    from infra.local.runtime import free_port

    port = free_port()
    outbox = workdir / "outbox"
    log_path = workdir / "local.log"
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), OUTBOX_DIR=str(outbox),
               PYTHONPATH=f"{REPO / 'layers' / 'common' / 'python'}{os.pathsep}{REPO}")
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "infra.local.serve"], cwd=REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}", outbox, log_path


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def main() -> int:
    clients = int(os.environ.get("LOAD_CLIENTS", "16"))
    seconds = float(os.environ.get("LOAD_SECONDS", "30"))
    # Draining ends when every order is confirmed, or nothing new arrived for LOAD_STALL_SECONDS.
    drain_seconds = float(os.environ.get("LOAD_DRAIN_SECONDS", "1200"))
    stall_seconds = float(os.environ.get("LOAD_STALL_SECONDS", "60"))
    url = os.environ.get("LOAD_URL")
    if clients < 1 or seconds <= 0:
        print("LOAD_CLIENTS must be at least 1 and LOAD_SECONDS above 0", file=sys.stderr)
        return 2
    if url and urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        print(f"LOAD_URL must be on loopback (127.0.0.1), not {url}", file=sys.stderr)
        return 2
    credentials = demo_credentials()
    storefronts = Storefronts(credentials)
    with tempfile.TemporaryDirectory(prefix="postpurchase-load-") as scratch:
        process = None
        if url:
            base_url, outbox, log_path = url.rstrip("/"), Path(os.environ.get("LOAD_OUTBOX", REPO / "outbox")), None
        else:
            process, base_url, outbox, log_path = start_runtime(Path(scratch))
        try:
            print(f"load: {clients} storefronts for {seconds:.0f} s against {base_url} "
                  f"({'LOAD_URL' if url else 'local runtime started for the run'})", flush=True)
            wait_until_serving(base_url, process)
            outcome, elapsed = place_orders(base_url, storefronts, clients, seconds)
            stats = summary(outcome, elapsed)
            print(f"placed: {stats['requests']} requests in {elapsed:.1f} s = {stats['throughput_rps']:.1f} req/s; "
                  f"latency p50 {stats['p50_ms'] or 0:.0f} ms, p99 {stats['p99_ms'] or 0:.0f} ms, "
                  f"max {stats['max_ms'] or 0:.0f} ms", flush=True)
            print(f"accepted: {dict(outcome.kinds)}; statuses {dict(sorted(outcome.statuses.items()))}; "
                  f"errors {stats['errors']} {dict(outcome.errors) or ''}", flush=True)
            drain_began = time.perf_counter()
            found = await_confirmations(outbox, credentials.merchant_id, outcome.order_ids, drain_seconds,
                                        stall=stall_seconds)
            drained = time.perf_counter() - drain_began
        finally:
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        orders = len(outcome.order_ids)
        missing = orders - len(found)
        duplicates = sum(n - 1 for n in found.values() if n > 1)
        print(f"emails: {sum(found.values())} confirmations for {orders} orders "
              f"(missing {missing}, duplicates {duplicates}); the queues took {drained:.0f} s more "
              f"to confirm them all (3 s of it settling)")
        print(f"machine: {machine()}")
        failed = stats["errors"] > 0 or missing > 0 or duplicates > 0 or orders == 0
        if failed and log_path is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-30:]
            print("local runtime log (last lines):\n  " + "\n  ".join(tail), file=sys.stderr)
        print("load: FAILED" if failed else "load: ok")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
