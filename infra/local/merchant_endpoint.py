"""A merchant's webhook endpoint on localhost: records what we POST and verifies the signature.

The demo points demo-store's returns webhook here to show the hand-off a merchant's payment
system would receive; `fail_next` makes it answer 503 to show the queue's retries.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class MerchantEndpoint:
    deliveries: list[Delivery] = field(default_factory=list)
    failures_left: int = 0

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = 503 if endpoint.failures_left > 0 else 200
                endpoint.failures_left = max(0, endpoint.failures_left - 1)
                endpoint.deliveries.append(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                                    status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self._server.serve_forever, name="merchant-endpoint", daemon=True).start()
        return f"http://{host}:{self._server.server_address[1]}/hooks/returns"

    def fail_next(self, count: int) -> None:
        self.failures_left = count

    def stop(self) -> None:
        self._server.shutdown()
