"""Where a request to a URL a merchant chose may go (SSRF rules for the merchant's webhooks).

A webhook URL is an instruction from outside to make our Lambda send a request, from inside our
network, to wherever it points: the instance metadata service (169.254.169.254), a VPC neighbour,
a service on localhost. So a URL is checked twice:

* when it is saved (`check_url`): scheme (https; http only where WEBHOOKS_ALLOW_HTTP, i.e. the
  local runtime), no credentials, a port of ALLOWED_PORTS, a well-formed DNS name that is not
  an internal one (`localhost`, `*.internal`, single labels...), or a literal IP address that is
  global unicast; IPv4 in the legacy forms resolvers still accept (`2130706433`, `0x7f.1`,
  `017700000001`, `127.1`) is refused outright;
* when it is used (`resolve`): the name is resolved ONCE and refused if ANY address it resolves
  to is not global unicast (private, loopback, link-local, CGNAT, multicast, reserved,
  documentation, and IPv6 forms embedding such an IPv4 address). The caller then connects to
  the addresses checked here, never to the name again, so a resolver that answers a public
  address first and 127.0.0.1 next (DNS rebinding) gains nothing.

Loopback (127.0.0.0/8, ::1, `localhost`, on any port) is allowed only with WEBHOOKS_ALLOW_LOOPBACK,
which the local runtime sets for its receivers on 127.0.0.1 and template.yaml never does.
Other private ranges are never allowed. No I/O here but the lookup, which tests replace.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Webhook receivers listen on 443 (8443 behind some gateways; 80 only for http where allowed).
# Any other port would let a merchant aim our POST at a public host's SMTP or Redis port.
ALLOWED_PORTS = frozenset({80, 443, 8443})
DEFAULT_PORTS = {"https": 443, "http": 80}

# Names that resolve to the machine itself or only inside a network (RFC 6761, 6762, 8375; ICANN's
# `.internal`, used by AWS `ec2.internal` and GCP `metadata.google.internal`; common private TLDs).
FORBIDDEN_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
FORBIDDEN_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".intranet", ".lan", ".home",
                      ".corp", ".private", ".arpa")
LOOPBACK_NAMES = frozenset({"localhost"})

_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_PATH = re.compile(r"^[\x21-\x7e]+$")  # what http.client sends in a request line
_NUMERIC = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")  # what inet_aton reads as a number

# Checked by network as well as by `ipaddress`' flags, whose meaning changed between Python versions
# (3.11 calls 224.0.0.1 and fec0::1 global).
_REFUSED_V4 = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"))
_REFUSED_V6 = tuple(ipaddress.ip_network(n) for n in (
    "::/128", "::1/128", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16", "fc00::/7",
    "fe80::/10", "fec0::/10", "ff00::/8"))
# IPv6 forms whose packets reach an IPv4 host: judged by that host (SIIT/NAT64 translate them).
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598; Alibaba's metadata is 100.100.100.200
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class OutboundRefused(ValueError):
    """The URL, or an address its host resolves to, is not one we may send a request to."""


@dataclass(frozen=True)
class OutboundPolicy:
    allow_http: bool = False
    allow_loopback: bool = False  # the local runtime only (WEBHOOKS_ALLOW_LOOPBACK)


@dataclass(frozen=True)
class Target:
    """A checked URL: the host as sent in the Host header and TLS SNI (ASCII, lower case, IPv6
    without brackets), its literal address when it is one, and the request path with its query."""

    scheme: str
    host: str
    port: int
    path: str
    literal: IPAddress | None = None


def check_url(url: str, policy: OutboundPolicy) -> Target:
    """The static rules (save time and send time); raises OutboundRefused saying which."""
    try:
        parts = urlsplit(url or "")
        port = parts.port
    except ValueError as error:  # a bad port or a malformed [IPv6] host
        raise OutboundRefused(f"is not a valid URL ({error})") from None
    schemes = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise OutboundRefused("must be an http(s):// URL" if policy.allow_http else "must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("must not carry credentials")
    host, literal = _host(parts.hostname, policy)
    if literal is not None:
        reason = address_refusal(literal, policy)
        if reason:
            raise OutboundRefused(f"points at {reason} address {parts.hostname}")
    port = DEFAULT_PORTS[parts.scheme] if port is None else port
    if port not in ALLOWED_PORTS and not (policy.allow_loopback and _is_loopback_host(host, literal)):
        raise OutboundRefused(f"uses port {port} (allowed: {', '.join(map(str, sorted(ALLOWED_PORTS)))})")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not _PATH.match(path):
        raise OutboundRefused("must have a percent-encoded path without spaces")
    return Target(parts.scheme, host, port, path, literal)


def resolve(target: Target, policy: OutboundPolicy,
            getaddrinfo: Callable[..., list] | None = None) -> tuple[IPAddress, ...]:
    """The addresses to connect to, in the resolver's order, from ONE lookup; refused when any
    of them is not allowed (a name with one private address among public ones is refused)."""
    if target.literal is not None:
        return (target.literal,)
    lookup = getaddrinfo or socket.getaddrinfo
    try:
        answers = lookup(target.host, target.port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise OutboundRefused(f"host {target.host} does not resolve ({error})") from None
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            raise OutboundRefused(f"host {target.host} resolves to a non-IP address")
        address = ipaddress.ip_address(sockaddr[0])
        reason = address_refusal(address, policy)
        if reason:
            raise OutboundRefused(f"host {target.host} resolves to {reason} address {address}")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundRefused(f"host {target.host} does not resolve")
    if target.port not in ALLOWED_PORTS and not all(_in(a, _LOOPBACK) for a in addresses):
        raise OutboundRefused(f"uses port {target.port} on a host that is not loopback")
    return tuple(addresses)


def address_refusal(address: IPAddress, policy: OutboundPolicy) -> str | None:
    """Why we may not connect to this address (a short adjective), or None: global unicast only."""
    if policy.allow_loopback and _in(address, _LOOPBACK):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "a scoped (link-local)"
        embedded = _embedded_ipv4(address)
        if embedded is not None:  # ::ffff:a.b.c.d, ::a.b.c.d, NAT64: the IPv4 host is the destination
            reason = address_refusal(embedded, policy)
            return f"{reason} (embedded IPv4)" if reason else None
        if address.sixtofour is not None:  # 2002:a.b.c.d::/48 is routed to the IPv4 host a.b.c.d
            reason = address_refusal(address.sixtofour, policy)
            if reason:
                return f"{reason} (6to4 embedded IPv4)"
        if address.teredo is not None:
            return "a Teredo"
    if address.is_loopback or _in(address, _LOOPBACK):
        return "a loopback"
    if address.is_link_local:
        return "a link-local"
    if address.is_multicast:
        return "a multicast"
    if address.is_unspecified:
        return "an unspecified"
    if address.is_private:
        return "a private"
    if _in(address, (_SHARED,)):
        return "a carrier-grade NAT"
    if address.is_reserved or _in(address, _REFUSED_V4 if address.version == 4 else _REFUSED_V6):
        return "a reserved"
    if not address.is_global:  # whatever a later Python adds to its special-purpose registry
        return "a non-global"
    return None


def _host(hostname: str, policy: OutboundPolicy) -> tuple[str, IPAddress | None]:
    """The host, ASCII and lower case, with its address if it is a literal one; refuses names
    that are no DNS names we would look up on the internet."""
    try:
        literal = ipaddress.ip_address(hostname)
        return str(literal), literal
    except ValueError:
        pass
    try:
        host = hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise OutboundRefused("has a host name that is not valid") from None
    host = host[:-1] if host.endswith(".") else host
    labels = host.split(".")
    if _NUMERIC.match(labels[-1]):  # no top-level domain is a number: inet_aton would read an address
        raise OutboundRefused(f"has an IP address in a non-standard form ({hostname})")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise OutboundRefused("has a host name that is not valid")
    if policy.allow_loopback and host in LOOPBACK_NAMES:
        return host, None  # its addresses are still checked when it is resolved
    if host in FORBIDDEN_NAMES or host.endswith(FORBIDDEN_SUFFIXES) or len(labels) < 2:
        raise OutboundRefused(f"points at an internal host name ({host})")
    return host, None


def _is_loopback_host(host: str, literal: IPAddress | None) -> bool:
    return host in LOOPBACK_NAMES if literal is None else _in(literal, _LOOPBACK)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # ::/128 and ::1 are judged as IPv6
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _in(address: IPAddress, networks: tuple) -> bool:
    return any(address.version == network.version and address in network for network in networks)
