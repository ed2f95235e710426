"""The SSRF guard for merchant-chosen URLs (security/outbound.py, adapters/outbound_http.py).

Hostile URLs are refused before any lookup; names are resolved once through a fake resolver and
refused when any address is internal; the connection goes to the address checked (DNS rebinding);
redirects are not followed; the body read and the whole exchange are bounded. Servers here are
real sockets on 127.0.0.1, reached either with the local runtime's loopback allowance or through
a fake `create_connection` that records the (public) address it was given and dials the server."""
from __future__ import annotations

import datetime as dt
import http.server
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import pytest

from postpurchase.adapters.outbound_http import MAX_RESPONSE_BYTES, GuardedHttp, OutboundFailed
from postpurchase.adapters.webhooks import HttpWebhookSender
from postpurchase.errors import RetryLater
from postpurchase.security.outbound import OutboundPolicy, OutboundRefused, check_url, resolve

AWS = OutboundPolicy()  # what a deployed function gets
LOCAL = OutboundPolicy(allow_http=True, allow_loopback=True)  # the local runtime
PUBLIC_V4 = "93.184.216.34"

HOSTILE = {
    "https://127.0.0.1/hook": "loopback",
    "https://127.8.9.10/hook": "loopback",
    "https://localhost/hook": "internal host name",
    "https://LOCALHOST./hook": "internal host name",
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/": "link-local",
    "https://[::1]/hook": "loopback",
    "https://[::ffff:127.0.0.1]/hook": "loopback (embedded IPv4)",
    "https://[::ffff:169.254.169.254]/hook": "link-local (embedded IPv4)",
    "https://[::a9fe:a9fe]/hook": "link-local (embedded IPv4)",
    "https://[64:ff9b::a9fe:a9fe]/hook": "link-local (embedded IPv4)",  # NAT64 to the metadata service
    "https://[2002:7f00:1::1]/hook": "loopback (6to4 embedded IPv4)",
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook": "Teredo",
    "https://[fd00::1]/hook": "private",
    "https://[fd00:ec2::254]/latest/meta-data/": "private",  # the IPv6 metadata endpoint
    "https://[fe80::1]/hook": "link-local",
    "https://[fe80::1%25eth0]/hook": "scoped",
    "https://[fec0::1]/hook": "reserved",
    "https://[ff02::1]/hook": "multicast",
    "https://[::]/hook": "unspecified",
    "https://10.0.0.7/hook": "private",
    "https://172.16.0.1/hook": "private",
    "https://172.31.255.254/hook": "private",
    "https://192.168.1.1/hook": "private",
    "https://100.64.0.1/hook": "carrier-grade NAT",
    "https://100.100.100.200/latest/meta-data/": "carrier-grade NAT",  # Alibaba's metadata
    "https://0.0.0.0/hook": "unspecified",
    "https://0.1.2.3/hook": "private",
    "https://192.0.0.192/hook": "reserved",  # Oracle Cloud's metadata (192.0.0.0/24)
    "https://198.18.0.1/hook": "private",
    "https://224.0.0.1/hook": "multicast",
    "https://240.0.0.1/hook": "private",
    "https://255.255.255.255/hook": "private",
    "https://2130706433/hook": "non-standard form",
    "https://0x7f000001/hook": "non-standard form",
    "https://017700000001/hook": "non-standard form",
    "https://0x7f.1/hook": "non-standard form",
    "https://127.1/hook": "non-standard form",
    "https://0177.0.0.1/hook": "non-standard form",
    "https://169.254.169.254.nip.io.0/hook": "non-standard form",
    "https://metadata.google.internal/computeMetadata/v1/": "internal host name",
    "https://instance-data.ec2.internal/latest/": "internal host name",
    "https://metadata/computeMetadata/v1/": "internal host name",
    "https://printer.local/hook": "internal host name",
    "https://router.home.arpa/hook": "internal host name",
    "https://db.corp/hook": "internal host name",
    "https://hooks.example.com:22/hook": "port 22",
    "https://hooks.example.com:6379/hook": "port 6379",
    "https://user:secret@hooks.example.com/hook": "credentials",
    "http://hooks.example.com/hook": "https://",
    "file:///etc/passwd": "https://",
    "gopher://hooks.example.com/": "https://",
    "https://hooks.example.com:99999/": "not a valid URL",
    "https://[::1/hook": "not a valid URL",
    "https://hooks.exa%6dple.com/": "not valid",
    "https://hooks.example.com/a b": "percent-encoded",
}


@pytest.mark.parametrize("url,reason", HOSTILE.items(), ids=list(HOSTILE))
def test_hostile_urls_are_refused_before_any_lookup(url, reason):
    with pytest.raises(OutboundRefused, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_url(url, AWS)


@pytest.mark.parametrize("url", ["https://10.0.0.7/hook", "http://192.168.1.1:5000/", "https://169.254.169.254/",
                                 "http://[fd00::1]:8000/", "http://100.64.0.1/", "https://metadata.google.internal/"])
def test_the_local_loopback_allowance_allows_loopback_only(url):
    with pytest.raises(OutboundRefused):
        check_url(url, LOCAL)


def test_what_the_local_runtime_may_reach_and_aws_may_not():
    for url in ("http://127.0.0.1:53177/hooks/returns", "http://localhost:8000/", "http://[::1]:9000/x"):
        check_url(url, LOCAL)  # any port on loopback: receivers bind port 0
        with pytest.raises(OutboundRefused):
            check_url(url, AWS)
    with pytest.raises(OutboundRefused, match="port 5000"):  # a public host keeps the port rule locally
        check_url("http://hooks.example.com:5000/", LOCAL)


def test_ordinary_merchant_urls_pass():
    target = check_url("https://Hooks.Example.com/returns?shop=7", AWS)
    assert (target.scheme, target.host, target.port, target.path, target.literal) == (
        "https", "hooks.example.com", 443, "/returns?shop=7", None)
    assert check_url("https://hooks.example.com:8443/", AWS).port == 8443
    assert check_url("https://bücher.example/hook", AWS).host == "xn--bcher-kva.example"
    assert str(check_url("https://8.8.8.8/hook", AWS).literal) == "8.8.8.8"
    assert check_url("https://[2001:4860:4860::8888]/hook", AWS).host == "2001:4860:4860::8888"
    assert check_url("https://hooks.example.com./x#frag", AWS).path == "/x"


# ------------------------------------------------------------------------------ resolution


class FakeResolver:
    """getaddrinfo answering from a script: one list of addresses per call, the last one repeated."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.calls.append((host, port))
        addresses = self.answers[min(len(self.calls), len(self.answers)) - 1]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]


@pytest.mark.parametrize("addresses,reason", [
    (["10.0.0.7"], "private"), (["127.0.0.1"], "loopback"), (["169.254.169.254"], "link-local"),
    (["::1"], "loopback"), (["::ffff:10.0.0.1"], "private"), (["fd00:ec2::254"], "private"),
    ([PUBLIC_V4, "192.168.0.10"], "private"),  # one internal address among public ones is enough
    (["2606:2800:220:1:248:1893:25c8:1946", "fe80::1"], "link-local"), ([], "does not resolve")])
def test_a_name_resolving_to_an_internal_address_is_refused(addresses, reason):
    target = check_url("https://hooks.merchant.example/returns", AWS)
    resolver = FakeResolver(addresses)
    with pytest.raises(OutboundRefused, match=reason):
        resolve(target, AWS, resolver)
    assert resolver.calls == [("hooks.merchant.example", 443)]


def test_a_name_that_does_not_resolve_is_refused():
    def failing(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(OutboundRefused, match="does not resolve"):
        resolve(check_url("https://nowhere.example/", AWS), AWS, failing)


def test_public_addresses_are_returned_once_each_in_the_resolvers_order():
    resolver = FakeResolver([PUBLIC_V4, "2606:2800:220:1:248:1893:25c8:1946", PUBLIC_V4])
    addresses = resolve(check_url("https://hooks.merchant.example/", AWS), AWS, resolver)
    assert [str(a) for a in addresses] == [PUBLIC_V4, "2606:2800:220:1:248:1893:25c8:1946"]


def test_loopback_names_are_checked_when_resolved_too():
    assert [str(a) for a in resolve(check_url("http://localhost:8000/", LOCAL), LOCAL, FakeResolver(["127.0.0.1"]))
            ] == ["127.0.0.1"]
    with pytest.raises(OutboundRefused, match="private"):  # a poisoned hosts file, say
        resolve(check_url("http://localhost:8000/", LOCAL), LOCAL, FakeResolver(["10.0.0.7"]))


# ------------------------------------------------------------------------------ local servers


class Server:
    """An HTTP server on 127.0.0.1 whose handler answers what `respond(handler)` does."""

    def __init__(self, respond) -> None:
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests.append({k.lower(): v for k, v in self.headers.items()} | {"path": self.path})
                respond(self)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[list]:
    started: list[Server] = []

    def start(respond) -> Server:
        started.append(Server(respond))
        return started[-1]

    yield start
    for server in started:
        server.close()


def answer(status: int, body: bytes = b"", **headers: str):
    def respond(handler) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return respond


class Dialer:
    """A create_connection that records the address it is asked for and dials a local port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.addresses: list[tuple[str, int]] = []

    def __call__(self, address, timeout=None, source_address=None):
        self.addresses.append(address)
        return socket.create_connection(("127.0.0.1", self.port), timeout)


def test_dns_rebinding_gains_nothing_the_connection_goes_to_the_address_checked(servers):
    server = servers(answer(204))
    resolver = FakeResolver([PUBLIC_V4], ["127.0.0.1"])  # public when checked, loopback on a second lookup
    dialer = Dialer(server.port)
    http = GuardedHttp(OutboundPolicy(allow_http=True), 5.0, getaddrinfo=resolver, create_connection=dialer)

    status, _ = http.post("http://hooks.merchant.example/returns?x=1", b"{}", {"X-Test": "1"})

    assert status == 204
    assert resolver.calls == [("hooks.merchant.example", 80)]  # looked up once
    assert dialer.addresses == [(PUBLIC_V4, 80)]  # and connected to that answer, not to a new one
    [request] = server.requests
    assert request["host"] == "hooks.merchant.example"  # the name, not the address
    assert request["path"] == "/returns?x=1" and request["x-test"] == "1"


def test_the_next_checked_address_is_tried_when_the_first_refuses_connections(servers):
    server = servers(answer(200))
    dialed: list[tuple[str, int]] = []

    def dial(address, timeout=None, source_address=None):
        dialed.append(address)
        if address[0] == PUBLIC_V4:
            raise ConnectionRefusedError("refused")
        return socket.create_connection(("127.0.0.1", server.port), timeout)

    http = GuardedHttp(OutboundPolicy(allow_http=True), 5.0, getaddrinfo=FakeResolver([PUBLIC_V4, "93.184.216.35"]),
                       create_connection=dial)
    assert http.post("http://hooks.merchant.example/", b"{}", {})[0] == 200
    assert dialed == [(PUBLIC_V4, 80), ("93.184.216.35", 80)]


def test_a_redirect_is_not_followed(servers):
    elsewhere = servers(answer(200))
    redirecting = servers(answer(302, Location=elsewhere.url))
    sender = HttpWebhookSender(LOCAL, 5.0)

    with pytest.raises(RetryLater, match="302: redirects are not followed"):
        sender.post(redirecting.url, b"{}", {})

    assert len(redirecting.requests) == 1 and elsewhere.requests == []
    for status in (301, 303, 307, 308):
        with pytest.raises(RetryLater, match=str(status)):
            HttpWebhookSender(LOCAL, 5.0).post(servers(answer(status, Location=elsewhere.url)).url, b"{}", {})
    assert elsewhere.requests == []


def test_the_sender_answers_the_status_or_retry_later(servers):
    sender = HttpWebhookSender(LOCAL, 5.0)
    ok = servers(answer(200, b'{"ok": true}'))
    assert sender.post(ok.url, b'{"a": 1}', {"X-PostPurchase-Delivery": "R-1:6"}) == 200
    [request] = ok.requests
    assert (request["content-type"], request["user-agent"], request["x-postpurchase-delivery"]) == (
        "application/json", "postpurchase-webhooks/1", "R-1:6")
    with pytest.raises(RetryLater, match="answered 500"):
        sender.post(servers(answer(500)).url, b"{}", {})
    with pytest.raises(RetryLater, match="webhook URL refused: points at a private address"):
        sender.post("https://10.0.0.7/hook", b"{}", {})
    with pytest.raises(RetryLater, match="webhook URL refused"):  # AWS: the receiver's loopback is refused
        HttpWebhookSender(AWS, 5.0).post(ok.url, b"{}", {})
    assert len(ok.requests) == 1


# ------------------------------------------------------------------------------ bounds


@pytest.fixture
def raw_server() -> Iterator:
    """A TCP server on 127.0.0.1 running `serve(connection)` for each connection."""
    listeners: list[socket.socket] = []
    stop = threading.Event()

    def start(serve) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.05)
        listeners.append(listener)

        def accept() -> None:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except OSError:
                    continue
                threading.Thread(target=_serve, args=(serve, connection), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return listener.getsockname()[1]

    def _serve(serve, connection) -> None:
        try:
            _read_request(connection)
            serve(connection, stop)
        except OSError:
            pass
        finally:
            connection.close()

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


def test_an_endless_body_is_read_only_up_to_the_cap(raw_server):
    def endless(connection, stop) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
        chunk = b"x" * 65536
        while not stop.is_set():
            connection.sendall(chunk)

    port = raw_server(endless)
    http = GuardedHttp(LOCAL, 10.0)
    started = time.monotonic()
    status, body = http.post(f"http://127.0.0.1:{port}/hook", b"{}", {})
    assert status == 200 and len(body) == MAX_RESPONSE_BYTES  # 64 KiB of the 1 GiB announced
    assert time.monotonic() - started < 3  # reading it all would run into the 10 s deadline


def test_a_silent_server_is_given_up_at_the_deadline(raw_server):
    port = raw_server(lambda connection, stop: stop.wait(10))
    http = GuardedHttp(LOCAL, 0.5)
    started = time.monotonic()
    with pytest.raises(OutboundFailed, match="timed out|deadline"):
        http.post(f"http://127.0.0.1:{port}/hook", b"{}", {})
    assert time.monotonic() - started < 1.5


def test_a_trickling_server_is_cut_off_at_the_deadline_not_per_read(raw_server):
    def trickle(connection, stop) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.1):  # a header line every 0.1 s: no single read ever times out
            connection.sendall(b"X-Slow: 1\r\n")

    port = raw_server(trickle)
    http = GuardedHttp(LOCAL, 1.0)
    started = time.monotonic()
    with pytest.raises(OutboundFailed):
        http.post(f"http://127.0.0.1:{port}/hook", b"{}", {})
    assert 0.9 < time.monotonic() - started < 2.0


def test_the_sender_turns_a_timeout_into_retry_later(raw_server):
    port = raw_server(lambda connection, stop: stop.wait(10))
    with pytest.raises(RetryLater, match="unreachable"):
        HttpWebhookSender(LOCAL, 0.3).post(f"http://127.0.0.1:{port}/hook", b"{}", {})


# ------------------------------------------------------------------------------ TLS on a pinned address


def _certificate(name: str, tmp_path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def _read_request(connection) -> bytes:
    """Headers and body, so that closing leaves nothing unread (which would reset the connection)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536) or b"\r\n\r\n"
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += connection.recv(65536) or b" " * length
    return data


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on 127.0.0.1 with a certificate for hooks.merchant.example; records the
    SNI names and Host headers it sees."""
    cert, key = _certificate("hooks.merchant.example", tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    seen: dict[str, list] = {"sni": [], "host": []}
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                with context.wrap_socket(connection, server_side=True) as tls:
                    request = _read_request(tls).decode()
                    seen["host"] += [line.split(": ", 1)[1] for line in request.split("\r\n")
                                     if line.startswith("Host:")]
                    tls.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
            except OSError:  # the client refused our certificate
                pass
            finally:
                connection.close()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1], cert, seen
    listener.close()


def test_tls_verifies_the_name_on_the_pinned_address(tls_server):
    port, cert, seen = tls_server
    trusted = ssl.create_default_context(cafile=cert)
    dialer = Dialer(port)
    http = GuardedHttp(AWS, 5.0, getaddrinfo=FakeResolver([PUBLIC_V4]), create_connection=dialer,
                       ssl_context=trusted)

    assert http.post("https://hooks.merchant.example/returns", b"{}", {}) == (201, b"ok")
    assert dialer.addresses == [(PUBLIC_V4, 443)]
    assert seen["sni"] == ["hooks.merchant.example"] and seen["host"] == ["hooks.merchant.example"]

    # The same server under another name: the certificate does not match, nothing is sent.
    other = GuardedHttp(AWS, 5.0, getaddrinfo=FakeResolver([PUBLIC_V4]), create_connection=Dialer(port),
                        ssl_context=trusted)
    with pytest.raises(OutboundFailed, match="certificate|hostname"):
        other.post("https://attacker.example/returns", b"{}", {})
    # And a certificate nobody vouches for is refused with the default trust store.
    default = GuardedHttp(AWS, 5.0, getaddrinfo=FakeResolver([PUBLIC_V4]), create_connection=Dialer(port))
    with pytest.raises(OutboundFailed, match="certificate"):
        default.post("https://hooks.merchant.example/returns", b"{}", {})
    assert seen["host"] == ["hooks.merchant.example"]
