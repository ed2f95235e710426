"""`make chaos` (CHAOS_ORDERS, CHAOS_DAYS size the story): every scenario against a fault-free run.

Each scenario plays the same story on a fresh local runtime with its faults, and its final state
(orders, tracking timelines, loyalty balances, emails as (recipient, ledger key), webhook
deliveries) is compared with the fault-free run's. Exits 1 on any duplicate, loss, difference,
bad API answer or unexpected dead letter.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from infra.local.merchant_endpoint import Delivery

from .faults import Faults, Rule, fast_backoff, install
from .pump import ChaosPump, SimulatedDelays
from .story import POISON, START, Story


class Endpoint:
    """The merchant's returns webhook receiver: 503 until `down_until` (simulated time)."""

    def __init__(self) -> None:
        from postpurchase import clock

        self.deliveries: list[Delivery] = []
        self.down_until: datetime | None = None
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                down = endpoint.down_until is not None and clock.now() < endpoint.down_until
                status = 503 if down else 200
                endpoint.deliveries.append(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                    body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/returns"

    def stop(self) -> None:
        self._server.shutdown()


@dataclass
class Scenario:
    name: str
    faults: Callable[[], Faults] = Faults
    redeliver: float = 0.0
    crash: str | None = None  # "writes": after write k of order processing; "ses": after SES accepted
    endpoint_down: timedelta = timedelta(0)
    # Tracking polls go to the fake carrier API (carrier.py), which answers this fraction of calls
    # with a timeout, 429 + Retry-After, 500 or garbage; None: the in-process sandbox carrier.
    carrier_faults: float | None = None


@dataclass
class Result:
    scenario: Scenario
    state: dict[str, Any]
    pump: ChaosPump
    faults: Faults
    story: Story
    carrier: dict[str, Any] | None = None
    writes_seen: list[int] = field(default_factory=list)


def _sends_to(recipient: str) -> Callable[[Any], bool]:
    return lambda request: recipient.encode() in (request.body or b"") if isinstance(request.body, bytes) \
        else recipient in str(request.body)


def throttling() -> Faults:
    return Faults(seed=3, rules=[
        Rule("dynamodb", None, "ProvisionedThroughputExceededException", 0.15),
        Rule("dynamodb", {"TransactWriteItems"}, "TransactionConflict", 0.2),
        Rule("sesv2", {"SendEmail"}, "TooManyRequestsException", 0.3),
        # One customer's address is refused for good: those emails are recorded as failed, not lost.
        Rule("sesv2", {"SendEmail"}, "MessageRejected", 1.0, when=_sends_to("dmitri.ivanov@example.ru")),
    ])


SCENARIOS = [
    Scenario("fault-free"),
    Scenario("30% SQS redelivery", redeliver=0.3),
    Scenario("crash after write k", crash="writes"),
    Scenario("crash after SES accepted", crash="ses"),
    Scenario("AWS throttling", faults=throttling),
    Scenario("webhook down 1 h", endpoint_down=timedelta(hours=1)),
    Scenario("carrier API faults", carrier_faults=0.35),
]
CARRIER_READ_TIMEOUT = 0.5  # seconds: the fake's timeouts then cost the run half a second each


def _crash_plan(scenario: Scenario, record: list[int]) -> Callable | None:
    """Each first delivery of an order event dies after its next write k (k = 1, 2, 3, ...);
    with `ses`, each first delivery of an email dies right after SES accepted it."""
    seen: set[str] = set()
    counter = iter(range(1, 10_000))

    def plan(consumer, messages) -> int | None:
        fresh = [m for m in messages if m["Body"] not in seen]
        seen.update(m["Body"] for m in messages)
        if not fresh or m_poison(fresh):
            return None
        if scenario.crash == "writes" and consumer.function_id == "OrderEventsFunction":
            k = next(counter)
            record.append(k)
            return k
        if scenario.crash == "ses" and consumer.function_id == "EmailSenderFunction":
            return -1  # resolved per call below
        return None

    return plan


def m_poison(messages: list[dict]) -> bool:
    return any(m["Body"] == POISON for m in messages)


def run_scenario(scenario: Scenario, endpoint_url: str, orders: int, days: int, outbox: Path) -> Result:
    from infra.local.runtime import LocalRuntime, free_port
    from postpurchase import clock as clock_module
    from postpurchase.clock import SimulatedClock

    faults = scenario.faults()
    delays = SimulatedDelays()
    install(faults.attach, delays.attach)
    simulated = SimulatedClock(START)
    clock_module.use(simulated)
    port = free_port()
    carrier = None
    if scenario.carrier_faults is not None:
        from .carrier import FakeCarrier

        carrier = FakeCarrier(fault_rate=scenario.carrier_faults, read_timeout=CARRIER_READ_TIMEOUT)
        os.environ.update({"EASYPOST_BASE_URL": carrier.url, "CARRIER_READ_TIMEOUT_SECONDS": str(CARRIER_READ_TIMEOUT),
                           "CARRIER_CONNECT_TIMEOUT_SECONDS": "1"})
    # Webhook retries wait as in AWS (up to 15 min a hop), in simulated time (SimulatedDelays).
    runtime = LocalRuntime(outbox_dir=outbox, public_base_url=f"http://127.0.0.1:{port}",
                           endpoint_url=endpoint_url, webhook_retry_max_delay_seconds=900)
    faults.enabled = False  # building the resources is not under test
    runtime.start()
    runtime.serve_api("127.0.0.1", port)
    if carrier is not None:
        _use_easypost(runtime)
        carrier.enabled = True
    writes: list[int] = []
    plan = _crash_plan(scenario, writes) if scenario.crash else None
    if scenario.crash == "ses":
        plan = _ses_crash(faults, plan)
    runtime.pump = ChaosPump(runtime.pump.consumers, faults=faults, redeliver=scenario.redeliver, crash_plan=plan,
                          delays=delays)
    endpoint = Endpoint()
    story = Story(runtime, f"http://127.0.0.1:{port}", simulated, orders=orders, track_days=days,
                  endpoint_down=scenario.endpoint_down)
    faults.enabled = True
    try:
        story.play(endpoint)
        faults.enabled = False
        if carrier is not None:
            carrier.enabled = False
        story.final_poll()
        state = story.snapshot(endpoint)
    finally:
        faults.enabled = False
        endpoint.stop()
        runtime.stop()
        _reset_moto(endpoint_url)
        if carrier is not None:
            carrier.stop()
            for name in ("EASYPOST_BASE_URL", "CARRIER_READ_TIMEOUT_SECONDS", "CARRIER_CONNECT_TIMEOUT_SECONDS"):
                os.environ.pop(name, None)
    return Result(scenario, state, runtime.pump, faults, story, carrier.summary() if carrier else None, writes)


def _use_easypost(runtime: Any) -> None:
    """The demo merchant tracks with EasyPost (the fake one) instead of the in-process sandbox."""
    from dataclasses import replace

    from postpurchase import clock
    from postpurchase.storage import merchants
    from postpurchase.storage.merchants import DynamoMerchantStore, TrackingSettings, update_secrets

    store = DynamoMerchantStore()
    merchant = store.get(runtime.credentials.merchant_id)
    store.save(replace(merchant, tracking=TrackingSettings(provider="easypost")), clock.now())
    merchants.clear_caches()
    update_secrets(store.get(merchant.merchant_id), clock.now(), carrier_api_key="chaos-easypost-key")


def _ses_crash(faults: Faults, plan: Callable) -> Callable:
    """Arm a crash on the SendEmail write: the k is found by counting writes before it."""
    def ses_plan(consumer, messages):
        if plan(consumer, messages) != -1:
            return None
        faults.ses_crash_next = True
        return None

    original = faults._after_call

    def after_call(event_name: str, http_response: Any = None, **kwargs: Any) -> None:
        original(event_name, http_response=http_response, **kwargs)
        if event_name.endswith("sesv2.SendEmail") and getattr(faults, "ses_crash_next", False) \
                and http_response is not None and http_response.status_code < 300:
            from .faults import InjectedCrash

            faults.ses_crash_next = False
            faults.crashes += 1
            raise InjectedCrash("crash after SES accepted the email")

    faults._after_call = after_call
    return ses_plan


def _reset_moto(endpoint_url: str) -> None:
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint_url}/moto-api/reset", method="POST"), timeout=30)


def compare(result: Result, baseline: Result) -> dict[str, Any]:
    state, base = result.state, baseline.state
    refused = {key for key in base["emails"] if key[0] == "dmitri.ivanov@example.ru"} \
        if result.scenario.faults is throttling else set()
    duplicates = sum(n - 1 for n in state["emails"].values() if n > 1) \
        + sum(n - 1 for n in state["webhooks"].values() if n > 1)
    lost_emails = sorted(set(base["emails"]) - set(state["emails"]) - refused)
    lost_orders = sorted(o for o, doc in base["orders"].items() if doc is not None and state["orders"].get(o) is None)
    lost_webhooks = sorted(set(base["webhooks"]) - set(state["webhooks"]))
    extra_emails = sorted(set(state["emails"]) - set(base["emails"]))
    differences = [part for part in ("timelines", "loyalty") if state[part] != base[part]]
    if os.environ.get("CHAOS_VERBOSE") and "timelines" in differences:
        for order_id, shipments in base["timelines"].items():
            if state["timelines"].get(order_id) != shipments:
                print("timeline of", order_id, "\n  run:     ", state["timelines"].get(order_id),
                      "\n  baseline:", shipments)
    differences += [f"order {o}" for o in base["orders"] if state["orders"].get(o) != base["orders"][o]
                    and o not in lost_orders and not _notification_only(state["orders"].get(o), base["orders"][o])]
    unexpected_dlq = [entry for entry in state["dlq"] if entry[1] != POISON]
    dup_detail = [k for k, n in list(state["emails"].items()) + list(state["webhooks"].items()) if n > 1]
    return {"duplicates": duplicates, "dup_detail": dup_detail, "lost": len(lost_emails) + len(lost_orders) + len(lost_webhooks),
            "lost_detail": lost_emails + lost_orders + lost_webhooks, "extra": extra_emails,
            "differences": differences, "unexpected_dlq": unexpected_dlq, "refused": len(refused & set(base["emails"]))}


def _notification_only(doc: Any, base: Any) -> bool:
    """Differs only in ledger states (a crash after SES accepted leaves 'unknown', not 'sent';
    a refused address leaves 'failed'): the emails themselves are compared on their own."""
    if not isinstance(doc, dict) or not isinstance(base, dict):
        return False
    strip = lambda d: {k: v for k, v in d.items() if k != "notifications"}  # noqa: E731
    return strip(doc) == strip(base)


def main(orders: int | None = None, days: int | None = None, scenarios: list[Scenario] | None = None) -> int:
    import logging

    from moto.server import ThreadedMotoServer

    from infra.local import botocore_data, moto_speedups
    from infra.local.runtime import free_port

    moto_speedups.install()
    botocore_data.install()  # each scenario's runtime builds its clients anew (infra/local/botocore_data.py)

    orders = orders or int(os.environ.get("CHAOS_ORDERS", "9"))
    days = days or int(os.environ.get("CHAOS_DAYS", "4"))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("infra.local.pump").setLevel(logging.ERROR)
    fast_backoff()
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint_url = f"http://127.0.0.1:{port}"
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
            only = os.environ.get("CHAOS_ONLY")
            chosen = scenarios or [s for n, s in enumerate(SCENARIOS)
                                   if not only or n == 0 or s.name in only.split(",")]
            for n, scenario in enumerate(chosen):
                results.append(run_scenario(scenario, endpoint_url, orders, days, Path(tmp) / f"outbox-{n}"))
    finally:
        moto.stop()
    return report(results)


def report(results: list[Result]) -> int:
    baseline = results[0]
    header = (f"{'scenario':<26} {'faults injected':>16} {'handled':>8} {'dups':>5} {'lost':>5} {'diff':>5} "
              f"{'API 5xx':>8} {'DLQ':>4}  notes")
    print("\n" + header + "\n" + "-" * len(header))
    failed = False
    rows = []
    for result in results:
        verdict = compare(result, baseline)
        faults = result.faults
        injected = sum(faults.injected.values()) + faults.crashes + result.pump.redelivered \
            + (1 if result.scenario.endpoint_down else 0) \
            + (sum(result.carrier["faults"].values()) if result.carrier else 0)
        notes = []
        if faults.injected:
            notes.append(", ".join(f"{k} {v}" for k, v in sorted(faults.injected.items())))
        if result.pump.redelivered:
            notes.append(f"{result.pump.redelivered} redeliveries")
        if faults.crashes:
            notes.append(f"{faults.crashes} crashes" + (f" (k=1..{max(result.writes_seen)})"
                                                        if result.writes_seen else ""))
        if verdict["refused"]:
            notes.append(f"{verdict['refused']} emails refused (MessageRejected, ledger 'failed')")
        if result.scenario.endpoint_down:
            notes.append(f"webhook 503s then {sum(result.state['webhooks'].values())} delivery")
        carrier = result.carrier
        if carrier is not None:
            notes.append(f"carrier: {carrier['calls']} calls, " + ", ".join(
                f"{k} {v}" for k, v in sorted(carrier["faults"].items())) + f"; {carrier['retries']} retries; "
                f"Retry-After honoured {carrier['retry_after_honoured']}/{carrier['retry_after_given']}, "
                f"{carrier['early']} early")
        if result.story.statuses.get(503):
            notes.append(f"{result.story.statuses[503]} clean 503s retried by the storefront")
        dlq = Counter(name for name, _ in result.state["dlq"])
        notes.append("DLQ: " + (", ".join(f"{k} {v}" for k, v in dlq.items()) or "empty")
                     + (" (the planted poison)" if dlq and not verdict["unexpected_dlq"] else ""))
        bad_api = len(result.story.bad_answers)
        diff = len(verdict["differences"]) + len(verdict["extra"])
        print(f"{result.scenario.name:<26} {injected:>16} {result.pump.handled:>8} {verdict['duplicates']:>5} "
              f"{verdict['lost']:>5} {diff:>5} {bad_api:>8} {len(result.state['dlq']):>4}  {'; '.join(notes)}")
        early = result.carrier["early"] if result.carrier else 0
        problems = verdict["duplicates"] or verdict["lost"] or diff or bad_api or verdict["unexpected_dlq"] \
            or len(result.state["dlq"]) != 1 or early
        rows.append({"scenario": result.scenario.name, "injected": injected, "handled": result.pump.handled,
                     "duplicates": verdict["duplicates"], "lost": verdict["lost"], "differences": diff,
                     "bad_api_answers": bad_api, "dlq": len(result.state["dlq"]),
                     "unexpected_dlq": len(verdict["unexpected_dlq"]), "carrier": result.carrier,
                     "ok": not problems})
        if problems:
            failed = True
            print(f"    FAILED: duplicated {verdict['dup_detail']} lost {verdict['lost_detail']} extra {verdict['extra']} differ "
                  f"{verdict['differences']} api {result.story.bad_answers[:3]} "
                  f"dlq {[(n, b[:120]) for n, b in verdict['unexpected_dlq']][:3]}")
    if os.environ.get("CHAOS_JSON"):
        Path(os.environ["CHAOS_JSON"]).write_text(json.dumps(rows, indent=1, default=str))
    print("\n" + ("FAILED" if failed else "every scenario: 0 duplicates, 0 lost, same final state, "
                                           "only the planted poison message dead-lettered"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
