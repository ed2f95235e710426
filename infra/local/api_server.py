"""The local API Gateway: Chalice's local server, made to take concurrent storefronts.

Chalice's `LocalDevServer` keeps socketserver's listen backlog of 5, so a burst of connections
overflows the accept queue and clients see resets; and a Chalice app keeps the request it is
serving on itself (`app.current_request`: one request at a time, as in one Lambda container),
so two threads serving at once would read each other's requests; the Powertools metric set is
one per process, too. Here: a backlog of 1024, one daemon thread per connection, HTTP/1.1
keep-alive with an idle timeout, the app's request per thread, the metric set behind a lock,
and a handler crash answered 502 (API Gateway's answer to a failed Lambda) rather than a
dropped connection.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalDevServer, ThreadedHTTPServer

log = logging.getLogger("infra.local.api")

LISTEN_BACKLOG = 1024
# An idle keep-alive connection gives its thread back after this long (seconds).
IDLE_TIMEOUT_SECONDS = 60


class _PerThread:
    """A class attribute whose value is the calling thread's own."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._local = threading.local()

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        return getattr(self._local, "value", None)

    def __set__(self, obj: Any, value: Any) -> None:
        self._local.value = value


def serve_per_thread(app: Any) -> Any:
    """Give this Chalice app a per-thread current_request and lambda_context (in place: the
    route functions read the module's `app`)."""
    if not getattr(type(app), "_served_per_thread", False):
        app.__class__ = type(f"PerThread{type(app).__name__}", (type(app),), {
            "_served_per_thread": True,
            "current_request": _PerThread("current_request"),
            "lambda_context": _PerThread("lambda_context"),
        })
    return app


_metrics_lock = threading.RLock()


def guard_shared_metrics() -> None:
    """Serialize the process's one Powertools metric set: API threads and the queue pump add
    to it and flush it at once, and a flush racing another's clear finds it empty
    (SchemaValidationError, a 500). In Lambda one invocation at a time holds it."""
    from postpurchase.observability import metrics

    provider = metrics.provider
    if getattr(provider, "_guarded_locally", False):
        return
    for name in ("add_metric", "flush_metrics", "serialize_metric_set", "clear_metrics"):
        method = getattr(provider, name)

        def guarded(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
            with _metrics_lock:
                return _method(*args, **kwargs)

        setattr(provider, name, guarded)
    provider._guarded_locally = True


class ConcurrentRequestHandler(ChaliceRequestHandler):
    timeout = IDLE_TIMEOUT_SECONDS

    def _parse_payload(self) -> tuple[dict, bytes | None]:
        # Chalice reads Content-Length only: a chunked body would stay on a kept-alive
        # connection and be read as the next request.
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return super()._parse_payload()
        chunks = []
        while True:
            size = int(self.rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline(65537)  # the CRLF after the chunk
        headers = {name: value for name, value in self.headers.items() if name.lower() != "transfer-encoding"}
        body = b"".join(chunks)
        headers["Content-Length"] = str(len(body))
        return headers, body or None

    def _generic_handle(self) -> None:
        try:
            super()._generic_handle()
        except Exception:  # never drop the connection without an answer
            log.exception("local API gateway failed on %s %s", self.command, self.path)
            self.close_connection = True
            body = json.dumps({"error": {"code": "bad_gateway", "message": "the API handler failed"}}).encode()
            try:
                self.send_response(502)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass

    # The base class binds its do_* names to its own _generic_handle.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle


class ConcurrentHTTPServer(ThreadedHTTPServer):
    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return  # the client went away: nothing to answer, nothing to report
        super().handle_error(request, client_address)


def api_server(app: Any, host: str, port: int) -> LocalDevServer:
    guard_shared_metrics()
    config = Config.create(chalice_stage="local", app_name="postpurchase-api", chalice_app=app)
    return LocalDevServer(serve_per_thread(app), config, host, port, handler_cls=ConcurrentRequestHandler,
                          server_cls=ConcurrentHTTPServer)
