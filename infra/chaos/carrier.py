"""A fake carrier API on loopback that misbehaves: EasyPost's tracker API over real HTTP.

The merchant's tracking provider is switched to EasyPost and EASYPOST_BASE_URL points here, so
the product's own client (tracking/carriers/easypost.py over carriers/http.py: timeouts,
retries, Retry-After, the poll schedule) is what meets the faults. The answers are real tracking
data: each parcel's scans come from the sandbox carrier's timeline (tracking/carriers/sandbox.py),
rendered as an EasyPost Tracker, visible up to the simulated clock's now, so a run through this
server ends with the same timelines as the fault-free run on the in-process sandbox.

On a seeded fraction of calls it answers instead with one of the faults of issue 12:

* timeout: holds the connection past the client's read timeout, then closes it;
* 429 + Retry-After: a short one (seconds, slept through by the client) or a long one (an hour,
  handed to the poll schedule);
* 500;
* garbage: a 200 with an HTML maintenance page, a truncated JSON body, or JSON that is not a tracker.

It counts calls, faults, retries (a call for a parcel whose previous call was a fault) and
checks Retry-After: a call for a parcel before the wait it was told to observe is "early"
(short waits are checked in real time, as the client sleeps them; long ones in simulated time).
POST /trackers de-duplicates on the tracking code like EasyPost (the first POST the server sees,
even one it then answers with a fault, fixes the parcel's start), so a retried registration
does not move the parcel's scans in time.
"""
from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from postpurchase.tracking.model import TrackingStatus

S = TrackingStatus
SHORT_RETRY_AFTER = 1  # seconds: under HttpClient's max_retry_after, slept through by the client
LONG_RETRY_AFTER = 3600  # seconds: over it, so the poll is rescheduled no sooner than this

# Our status -> EasyPost's (status, status_detail); None: the scan's own sub-status as detail.
_EASYPOST: dict[TrackingStatus, tuple[str, str | None]] = {
    S.PENDING: ("unknown", None),
    S.INFO_RECEIVED: ("pre_transit", None),
    S.IN_TRANSIT: ("in_transit", None),
    S.OUT_FOR_DELIVERY: ("out_for_delivery", None),
    S.DELIVERED: ("delivered", None),
    S.AVAILABLE_FOR_PICKUP: ("available_for_pickup", None),
    S.ATTEMPT_FAILED: ("in_transit", "delivery_attempted"),
    S.EXCEPTION: ("failure", None),
    S.RETURNING_TO_SENDER: ("return_to_sender", "return_to_sender"),
    S.RETURNED: ("return_to_sender", "return_to_sender"),
    S.EXPIRED: ("unknown", "expired"),
}

FAULTS = ("timeout", "429 short", "429 long", "500", "html 200", "truncated json", "not a tracker")
# How often each comes in one cycle of faults: the long 429 and "not a tracker" fail a poll
# outright (no retry within the call), so they are rarer than the faults the client retries.
_WEIGHTS = (3, 3, 1, 3, 2, 2, 1)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def easypost_status(status: TrackingStatus, sub_status: str | None) -> tuple[str, str | None]:
    code, detail = _EASYPOST[status]
    return code, detail if detail is not None else sub_status


class FakeCarrier:
    def __init__(self, *, fault_rate: float, read_timeout: float, seed: int = 5) -> None:
        self.fault_rate = fault_rate
        self.read_timeout = read_timeout
        self._rng = random.Random(seed)
        # Which call is faulted is random (seeded); which fault it gets goes round a shuffled
        # cycle, so even the short pytest run meets most kinds.
        self._cycle = [kind for kind, weight in zip(FAULTS, _WEIGHTS) for _ in range(weight)]
        self._rng.shuffle(self._cycle)
        self._next_fault = 0
        self._lock = threading.Lock()
        self.enabled = False
        self.calls = 0
        self.faults: Counter = Counter()
        self.retries = 0  # calls for a parcel whose previous call was answered with a fault
        self.retry_after_given = 0
        self.retry_after_honoured = 0  # the parcel's next call came after the wait
        self.early = 0  # ... or before it: the client hammered
        self._starts: dict[str, datetime] = {}  # tracking code -> the parcel's first scan time
        self._carriers: dict[str, str] = {}
        self._last_faulted: dict[str, bool] = {}
        self._not_before: dict[str, tuple[float | None, datetime | None]] = {}  # code -> (real, simulated)
        carrier = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    tracker = json.loads(body).get("tracker") or {}
                    code = str(tracker["tracking_code"])
                except (ValueError, KeyError, AttributeError):
                    return self._send(422, {"error": {"code": "TRACKER.INVALID"}})
                carrier.register(code, str(tracker.get("carrier") or "DHL"))
                carrier.answer(self, code)

            def do_GET(self) -> None:  # noqa: N802
                parts = self.path.split("?")[0].strip("/").split("/")[-2:]  # /v2/trackers/{id}
                if len(parts) != 2 or parts[0] != "trackers" or parts[1] not in carrier._starts:
                    return self._send(404, {"error": {"code": "NOT_FOUND"}})
                carrier.answer(self, parts[1])

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
                      raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(body).encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v2"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- the API ------------------------------------------------------------------------------

    def register(self, code: str, carrier_name: str) -> None:
        from postpurchase import clock

        with self._lock:
            if code not in self._starts:
                self._starts[code] = datetime.fromtimestamp(int(clock.now().timestamp()), tz=timezone.utc)
                self._carriers[code] = carrier_name

    def tracker(self, code: str) -> dict[str, Any]:
        """The parcel as an EasyPost Tracker: the sandbox's scans up to now."""
        from postpurchase import clock
        from postpurchase.tracking.carriers.sandbox import _Keep, timeline

        now = clock.now()
        visible = [scan for scan in timeline(code, self._starts[code]) if scan.at <= now]
        eta = None
        for scan in visible:
            if not isinstance(scan.eta, _Keep):
                eta = scan.eta
        details = []
        for scan in visible:
            status, detail = easypost_status(scan.status, scan.sub_status)
            details.append({"object": "TrackingDetail", "datetime": _iso(scan.at), "status": status,
                            "status_detail": detail, "message": scan.description, "source": "chaos",
                            "carrier_code": scan.sub_status or scan.status.value,
                            "tracking_location": {"object": "TrackingLocation", "city": scan.place.city,
                                                  "state": scan.place.state, "country": scan.place.country}})
        last = visible[-1] if visible else None
        status, detail = easypost_status(last.status, last.sub_status) if last else ("unknown", None)
        return {"id": code, "object": "Tracker", "mode": "test", "tracking_code": code, "carrier": self._carriers[code],
                "status": status, "status_detail": detail, "est_delivery_date": _iso(eta),
                "created_at": _iso(self._starts[code]), "tracking_details": details,
                "public_url": f"https://track.easypost.test/{code}"}

    def answer(self, handler: Any, code: str) -> None:
        from postpurchase import clock

        with self._lock:
            self.calls += 1
            if self._last_faulted.get(code):
                self.retries += 1
            real, simulated = self._not_before.pop(code, (None, None))
            # Checked while the faults run; the story's final poll (faults over) is its own call.
            if self.enabled and (real is not None or simulated is not None):
                early = (real is not None and time.monotonic() < real - 0.05) \
                    or (simulated is not None and clock.now() < simulated)
                self.early += early
                self.retry_after_honoured += not early
            fault = None
            if self.enabled and self._rng.random() < self.fault_rate:
                fault = self._cycle[self._next_fault % len(self._cycle)]
                self._next_fault += 1
            self._last_faulted[code] = fault is not None
            if fault is not None:
                self.faults[fault] += 1
            if fault in ("429 short", "429 long"):
                wait = SHORT_RETRY_AFTER if fault == "429 short" else LONG_RETRY_AFTER
                self.retry_after_given += 1
                self._not_before[code] = (time.monotonic() + wait, None) if fault == "429 short" \
                    else (None, datetime.fromtimestamp(clock.now().timestamp() + wait, timezone.utc))
        try:
            if fault is None:
                handler._send(200, self.tracker(code))
            elif fault == "timeout":
                time.sleep(self.read_timeout * 2)  # the client has given up on this attempt by now
                handler.close_connection = True
            elif fault.startswith("429"):
                handler._send(429, {"error": {"code": "RATE_LIMITED", "message": "slow down"}},
                              {"Retry-After": str(SHORT_RETRY_AFTER if fault == "429 short" else LONG_RETRY_AFTER)})
            elif fault == "500":
                handler._send(500, {"error": {"code": "INTERNAL_SERVER_ERROR", "message": "oops"}})
            elif fault == "html 200":
                handler._send(200, None, {"Content-Type": "text/html"},
                              raw=b"<html><body><h1>Down for maintenance</h1></body></html>")
            elif fault == "truncated json":
                handler._send(200, None, raw=json.dumps(self.tracker(code)).encode()[:57])
            else:  # "not a tracker": valid JSON in the wrong shape
                handler._send(200, {"object": "Tracker", "id": code, "tracking_code": None,
                                    "tracking_details": "n/a", "status": 7})
        except OSError:
            pass  # the client hung up (it timed out): nothing to answer

    def summary(self) -> dict[str, Any]:
        return {"calls": self.calls, "faults": dict(self.faults), "retries": self.retries,
                "retry_after_given": self.retry_after_given, "retry_after_honoured": self.retry_after_honoured,
                "early": self.early}
