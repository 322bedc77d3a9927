"""SSRF guard of webhook endpoints: :func:`check_webhook_url`.

Policy of :func:`check_webhook_url` (OWASP API7:2023):

* the scheme must be ``https``; plain ``http`` is accepted only for endpoints in ``allow_hosts``
  (admin-registered endpoints, e.g. an e-office system on the internal network); an entry names a
  host *and* a port (``host:port``, ``scheme://host:port``; a bare host means its default port);
* URLs with credentials (``user:pass@``) and non-canonical IPv4 literals (``2130706433``,
  ``0x7f.1``, ``127.1``) are refused;
* the host is resolved and *every* address must be public: loopback, private (RFC 1918, shared
  100.64/10, ULA fc00::/7), link-local, multicast, reserved, unspecified, IPv4-mapped IPv6,
  NAT64/6to4 addresses embedding a non-public IPv4, and other non-global ranges are refused;
* ``allow_private=True`` admits the *private* class only (on-premises deployments);
* an endpoint in ``allow_hosts`` skips the address checks, except that cloud metadata addresses
  (169.254.169.254 and friends) are refused for every host: no webhook receiver lives there.

Limits: the check does not pin the resolved address for the connection, so a DNS answer that
changes between the check and the request (DNS rebinding) is not caught. Run the check when an
endpoint is registered *and* right before each delivery, never follow redirects (:func:`common.webhooks.deliver`
does not), and prefer an egress proxy (e.g. Stripe's smokescreen) where the deployment has one.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import TypeAlias

import httpx

__all__ = ["CheckedUrl", "Resolver", "UnsafeUrlError", "check_webhook_url"]

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver: TypeAlias = Callable[[str, int], Iterable[str]]
"""Resolves ``(host, port)`` to IP address strings; raises ``OSError`` when it cannot."""


class UnsafeUrlError(ValueError):
    """A webhook URL was refused by :func:`check_webhook_url`.

    Attributes:
        reason: Human-readable reason, e.g. ``"address 127.0.0.1 is loopback"``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CheckedUrl:
    """A URL accepted by :func:`check_webhook_url`.

    Attributes:
        url: The normalised URL.
        scheme: ``"https"`` or ``"http"``.
        host: The host in ASCII (IDNA) form, lower-case, without trailing dot or brackets.
        port: The explicit or default port.
        addresses: The resolved addresses that were checked.
        allow_listed: Whether the host matched ``allow_hosts``.
    """

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]
    allow_listed: bool


_METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle Cloud
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS VPC DNS
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",  # AWS VPC DNS over IPv6
    )
)
_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
_NAT64_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48"))
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_HOSTNAME_RE = re.compile(
    r"(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*"
)
_NUMERIC_LABEL_RE = re.compile(r"0x[0-9a-f]*|[0-9]+")


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if any(ip in net for net in _NAT64_NETWORKS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return None


def _without_scope(ip: IPAddress) -> IPAddress:
    return ipaddress.IPv6Address(int(ip)) if isinstance(ip, ipaddress.IPv6Address) else ip


def _is_metadata(ip: IPAddress) -> bool:
    bare = _without_scope(ip)
    if bare in _METADATA_ADDRESSES:
        return True
    if isinstance(bare, ipaddress.IPv6Address):
        embedded = bare.ipv4_mapped or _embedded_ipv4(bare)
        return embedded in _METADATA_ADDRESSES
    return False


def _address_problem(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Return why ``ip`` must not be contacted, or None if it may."""
    ip = _without_scope(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # NAT64 (DNS64 networks) and 6to4 reach the embedded IPv4 address: judge that one.
            problem = _address_problem(embedded, allow_private=allow_private)
            return None if problem is None else f"embedding an IPv4 address that is {problem}"
    if ip in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if any(ip in net for net in _PRIVATE_NETWORKS if net.version == ip.version):
        return None if allow_private else "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not globally routable"
    return None


def _normalise_host(host: str) -> str:
    """Normalise an allow-list entry or URL host for comparison."""
    text = host.strip().lower().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        pass
    try:
        return httpx.URL(f"https://{text}/").raw_host.decode("ascii").rstrip(".")
    except (httpx.InvalidURL, UnicodeError):
        return text


_DEFAULT_PORTS = {"http": 80, "https": 443}


_ANY_PORT = 0


def _allow_entry(entry: str) -> tuple[str | None, str, int | None]:
    """``(scheme or None, normalised host, port or None)`` of an allow-list entry.

    Entries: ``host`` (the scheme's default port only), ``host:port``, ``[v6]:port``, or
    ``scheme://host[:port]`` (that scheme only; its default port when none is written). A port
    ``*`` (``127.0.0.1:*``) opens every port of the host: for tests and development only.
    """
    text = entry.strip()
    if text.endswith(":*"):
        scheme, host, _port = _allow_entry(text[:-2])
        return scheme, host, _ANY_PORT
    if "://" in text:
        try:
            parsed = httpx.URL(text)
        except (httpx.InvalidURL, UnicodeError):
            return None, _normalise_host(text), -1  # matches nothing
        scheme = parsed.scheme.lower()
        return (
            scheme,
            _normalise_host(parsed.raw_host.decode("ascii", "replace")),
            parsed.port or _DEFAULT_PORTS.get(scheme, -1),
        )
    host, port_text = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    if port_text:
        return None, _normalise_host(host), int(port_text) if port_text.isdigit() else -1
    return None, _normalise_host(host), None


def _allow_listed(allow_hosts: Collection[str], scheme: str, host: str, port: int) -> bool:
    for entry in allow_hosts:
        entry_scheme, entry_host, entry_port = _allow_entry(entry)
        if entry_host != host or (entry_scheme is not None and entry_scheme != scheme):
            continue
        if entry_port == _ANY_PORT or port == (entry_port if entry_port is not None else _DEFAULT_PORTS[scheme]):
            return True
    return False


def check_webhook_url(
    url: str,
    *,
    allow_hosts: Collection[str] = (),
    allow_private: bool = False,
    resolver: Resolver | None = None,
) -> CheckedUrl:
    """Refuse webhook URLs that could reach internal services (SSRF guard).

    See the module docstring for the policy. Resolution failures are refusals (fail closed).
    The default resolver calls ``socket.getaddrinfo`` and blocks; from async code call this
    function through ``asyncio.to_thread``.

    Args:
        url: The URL to check.
        allow_hosts: Admin-registered endpoints (no wildcards): ``host`` (that host on the
            scheme's default port only), ``host:port`` (any of http/https on that port), or
            ``scheme://host[:port]``. ``http`` is allowed for them and their addresses are not
            classified, except that metadata addresses are still refused. A host alone never
            opens its other ports (``127.0.0.1`` does not admit ``127.0.0.1:22``).
        allow_private: Accept private addresses (RFC 1918, 100.64/10, fc00::/7) for any host;
            loopback, link-local and the other classes stay refused.
        resolver: ``(host, port) -> addresses``; ``socket.getaddrinfo`` when omitted.

    Returns:
        The normalised URL, host, port and the addresses that were checked.

    Raises:
        UnsafeUrlError: If the URL is malformed, uses another scheme, carries credentials,
            cannot be resolved, or resolves to a refused address.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, UnicodeError) as exc:
        raise UnsafeUrlError(f"malformed URL: {exc}") from None
    scheme = parsed.scheme
    if scheme not in ("http", "https"):
        raise UnsafeUrlError(f"scheme {scheme!r} is not allowed; use https")
    if parsed.userinfo:
        raise UnsafeUrlError("credentials in the URL are not allowed")
    try:
        raw_host = parsed.raw_host.decode("ascii")
    except UnicodeError:
        raise UnsafeUrlError("host is not ASCII after IDNA encoding") from None
    if not raw_host:
        raise UnsafeUrlError("URL has no host")
    port = parsed.port if parsed.port is not None else (443 if scheme == "https" else 80)
    if not 0 < port < 65536:
        raise UnsafeUrlError(f"port {port} is out of range")

    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(raw_host)
    except ValueError:
        literal = None
    if literal is not None:
        host = literal.compressed
    else:
        host = raw_host.lower().rstrip(".")
        if not _HOSTNAME_RE.fullmatch(host):
            raise UnsafeUrlError(f"host {host!r} is not a valid host name")
        if _NUMERIC_LABEL_RE.fullmatch(host.rsplit(".", 1)[-1]):
            # A name ending in a number is an IPv4 address for resolvers and browsers
            # (2130706433, 0x7f.1, 127.1, 127.0.0.01): refuse the non-canonical forms.
            raise UnsafeUrlError(f"host {host!r} is a non-canonical IPv4 address")

    allow_listed = _allow_listed(allow_hosts, scheme, host, port)
    if scheme != "https" and not allow_listed:
        raise UnsafeUrlError("plain http is allowed only for allow-listed hosts; use https")

    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            resolved = list((resolver or _system_resolver)(host, port))
        except (OSError, UnicodeError) as exc:
            raise UnsafeUrlError(f"cannot resolve host {host!r}: {exc}") from None
        if not resolved:
            raise UnsafeUrlError(f"host {host!r} did not resolve to any address")
        try:
            addresses = [ipaddress.ip_address(a) for a in resolved]
        except ValueError as exc:
            raise UnsafeUrlError(f"resolver returned an invalid address: {exc}") from None

    for ip in addresses:
        if allow_listed:
            if _is_metadata(ip):
                raise UnsafeUrlError(f"address {ip} is a cloud metadata address")
            continue
        problem = _address_problem(ip, allow_private=allow_private)
        if problem is not None:
            raise UnsafeUrlError(f"address {ip} is {problem}")

    return CheckedUrl(
        url=str(parsed),
        scheme=scheme,
        host=host,
        port=port,
        addresses=tuple(dict.fromkeys(ip.compressed for ip in addresses)),
        allow_listed=allow_listed,
    )
