"""Which push endpoints the server may contact: https, on a host whose every address is on the public internet.

The browser names its push service's URL and the server POSTs to it, so a subscription could
aim the server at its own network: the database, a cloud metadata service, an admin port.
The rule is decided here, once, on the addresses the operating system's resolver gives, so
``127.1``, ``2130706433`` or a name that points inside are judged as what they resolve to.
It is checked when a device subscribes and again just before each send (a DNS answer can
change), and the sender's own connections refuse a non-public address as they connect, so an
answer that changes between the check and the connection, an IP literal or a redirect gains
nothing. ``WEFT_PUSH_ALLOW_PRIVATE_HOSTS`` lifts the rule for a push service on loopback
(development and tests).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from urllib.parse import urlsplit

import aiohttp

from backend.core.i18n import gettext as _
from backend.core.settings import Settings

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: an IPv4 address in its last 32 bits
DEFAULT_PORTS = {"https": 443, "http": 80}


class EndpointRefused(Exception):
    """The endpoint may not be contacted: ``message`` for the person subscribing, ``detail`` for the log."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(detail)
        self.message = message
        self.detail = detail


class EndpointUnresolved(EndpointRefused):
    """The host has no address right now: never accepted at subscribe, but a send tries again later."""


def is_public_address(address: str) -> bool:
    """An address on the public internet: global, not multicast or reserved, judged by the IPv4 address it carries
    when it is IPv4-mapped, 6to4 or NAT64 (``::ffff:127.0.0.1`` is loopback)."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip in NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


async def reachable_addresses(endpoint: str, *, allow_private_hosts: bool) -> list[str]:
    """The addresses ``endpoint`` resolves to, every one of them public; else ``EndpointRefused``.

    The one rule for subscribing and sending. All of the resolver's answers count: a name with one
    public and one private address is refused, since a connection may use either.
    """
    not_a_url = _("The endpoint is not a URL.")
    try:
        parts = urlsplit(endpoint)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise EndpointRefused(not_a_url, f"{endpoint[:80]!r} is not a URL") from None
    if parts.scheme not in DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        raise EndpointRefused(not_a_url, f"{endpoint[:80]!r} is not a URL")
    if parts.scheme != "https" and not allow_private_hosts:
        raise EndpointRefused(_("The endpoint must be an https:// URL."), f"{host} is not https")
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(
            host, port or DEFAULT_PORTS[parts.scheme], type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError) as error:
        raise EndpointUnresolved(
            _("The endpoint's host does not resolve."), f"{host} does not resolve: {error}"
        ) from None
    addresses = sorted({str(answer[4][0]) for answer in answers})
    if not addresses:
        raise EndpointUnresolved(_("The endpoint's host does not resolve."), f"{host} has no address")
    inside = [address for address in addresses if not is_public_address(address)]
    if inside and not allow_private_hosts:
        raise EndpointRefused(
            _("The endpoint must be a push service on the internet."),
            f"{host} resolves to {inside[0]}, not a public address",
        )
    return addresses


def public_socket(addr_info: aiohttp.AddrInfoType) -> socket.socket:
    """A socket for a connection to a public address only: the check made at the moment of connecting."""
    family, kind, proto, _name, address = addr_info
    if not is_public_address(str(address[0])):
        raise OSError(errno.EACCES, f"{address[0]} is not a public address")
    return socket.socket(family=family, type=kind, proto=proto)


def push_http(settings: Settings) -> aiohttp.ClientSession:
    """The HTTP client the push sender connects with: every connection goes to a public address only
    (unless ``push_allow_private_hosts``), whatever the URL or a redirect says."""
    factory = None if settings.push_allow_private_hosts else public_socket
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(socket_factory=factory))
