"""A POST to a URL a merchant chose, under the rules of security/outbound.py (standard library only).

What urllib would not give us:

* the connection goes to the addresses checked by `outbound.resolve`, never to the name again
  (DNS rebinding), while TLS SNI, certificate verification and the Host header use the name;
* no redirects: http.client follows none, and a 3xx is an answer like any other non-2xx;
* one deadline for the whole exchange (connect, TLS, request, headers, body): every socket
  operation gets the time left, so a server trickling one header line every few seconds is cut
  off at the deadline rather than per line;
* at most MAX_RESPONSE_BYTES of the response body are read; the rest is never downloaded.
"""
from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from ..security.outbound import IPAddress, OutboundPolicy, OutboundRefused, Target, check_url, resolve

MAX_RESPONSE_BYTES = 64 * 1024
CONNECT_TIMEOUT_SECONDS = 3.0  # per address tried; never beyond the deadline


class OutboundFailed(Exception):
    """The request was allowed but did not get an answer (connection, TLS, timeout, protocol)."""


class _Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._end = clock() + seconds

    def left(self, cap: float | None = None) -> float:
        left = self._end - self._clock()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left if cap is None else min(cap, left)


class _DeadlineReader(io.RawIOBase):
    """The socket's bytes, each read given only the time left. Reads through the socket's own
    file object, so closing the connection while the response is read waits for it, as usual."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock, self._deadline = sock, deadline
        self._raw = sock.makefile("rb", buffering=0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(self._deadline.left())
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """What http.client needs of a socket (sendall, makefile, close), bounded by the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock, self._deadline = sock, deadline

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(self._deadline.left())
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        self._sock.close()


class _PinnedConnection(http.client.HTTPSConnection):
    """An HTTP(S) connection to one of the checked addresses; the URL's host name stays the
    name of the server (Host header, SNI, certificate)."""

    def __init__(self, target: Target, addresses: tuple[IPAddress, ...], deadline: _Deadline, *,
                 context: ssl.SSLContext, create_connection: Callable[..., socket.socket]) -> None:
        super().__init__(target.host, target.port, context=context)
        if target.scheme == "http":
            self.default_port = 80  # the Host header names a port only when it is not the scheme's
        self._target, self._addresses, self._deadline = target, addresses, deadline
        self._connect_to = create_connection

    def connect(self) -> None:
        failures = []
        for address in self._addresses:
            try:
                raw = self._connect_to((str(address), self.port), self._deadline.left(CONNECT_TIMEOUT_SECONDS))
                break
            except OSError as error:
                failures.append(f"{address}: {error}")
        else:
            raise OSError("; ".join(failures) or "no address")
        try:
            if self._target.scheme == "https":
                raw.settimeout(self._deadline.left())  # the TLS handshake
                raw = self._context.wrap_socket(raw, server_hostname=self._target.host)
        except BaseException:
            raw.close()
            raise
        self.sock = _DeadlineSocket(raw, self._deadline)


class GuardedHttp:
    """POSTs to merchant-chosen URLs; `post` returns (status, the first bytes of the body)."""

    def __init__(self, policy: OutboundPolicy, deadline_seconds: float, *,
                 getaddrinfo: Callable[..., list] | None = None,
                 create_connection: Callable[..., socket.socket] | None = None,
                 ssl_context: ssl.SSLContext | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.deadline_seconds = deadline_seconds
        self._getaddrinfo = getaddrinfo
        self._create_connection = create_connection
        self._ssl_context = ssl_context
        self._clock = clock

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """Raises OutboundRefused (the rules forbid this URL or its addresses) or OutboundFailed."""
        deadline = _Deadline(self.deadline_seconds, self._clock)  # the lookup counts too
        target = check_url(url, self.policy)
        addresses = resolve(target, self.policy, self._getaddrinfo)
        connection = _PinnedConnection(target, addresses, deadline, context=self._context(),
                                       create_connection=self._create_connection or socket.create_connection)
        try:
            connection.request("POST", target.path, body=body, headers={**headers, "Connection": "close"})
            response = connection.getresponse()
            return response.status, response.read(MAX_RESPONSE_BYTES)
        except (OSError, http.client.HTTPException) as error:  # TimeoutError and ssl errors are OSErrors
            raise OutboundFailed(str(error) or type(error).__name__) from None
        finally:
            connection.close()

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:  # built once (loading the CA bundle costs milliseconds); unused for http
            self._ssl_context = ssl.create_default_context()  # verifies the chain and the host name
        return self._ssl_context


__all__ = ["GuardedHttp", "OutboundFailed", "OutboundRefused", "MAX_RESPONSE_BYTES"]
