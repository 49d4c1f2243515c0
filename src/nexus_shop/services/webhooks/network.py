"""Where a webhook may connect: the SSRF guard.

An endpoint's URL must be ``https`` (unless ``NEXUS_SHOP_WEBHOOK_ALLOW_HTTP``), and every
address its host resolves to must be public: loopback, private, link-local (which holds the
cloud metadata address 169.254.169.254), shared, reserved, multicast and unspecified
addresses are refused, unless a network of ``NEXUS_SHOP_WEBHOOK_ALLOWED_NETWORKS`` holds
them. The check runs when an endpoint is saved and again at every delivery, and the
delivery connects to the very address it checked (:func:`resolve`), so a second DNS answer
(rebinding) cannot slip a private address in between.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from nexus_shop.conf import conf
from nexus_shop.exceptions import ValidationFailed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# Metadata services that sit outside the link-local range on some clouds (AWS's IPv6 one,
# Alibaba's) are refused by name as well as by range.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)


class UnsafeAddress(ValidationFailed):
    """A webhook URL that is malformed, not https, or reaches a non-public address."""


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the URL's parts and the one checked address to connect to."""

    scheme: str
    host: str
    port: int
    path: str  # with the query string
    address: Address


def _allowed(address: Address) -> bool:
    for cidr in conf.WEBHOOK_ALLOWED_NETWORKS:
        network = ipaddress.ip_network(cidr, strict=False)
        if address.version == network.version and address in network:
            return True
    return False


def refusal(address: Address) -> str | None:
    """Why ``address`` may not be reached, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return refusal(address.ipv4_mapped)
    if _allowed(address):
        return None
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for kind, flag in (
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("a private address", address.is_private),
        ("a multicast address", address.is_multicast),
        ("a reserved address", address.is_reserved or address.is_unspecified),
    ):
        if flag:
            return kind
    if not address.is_global:  # e.g. 100.64.0.0/10, shared address space
        return "a non-public address"
    return None


def _parts(url: str) -> tuple[str, str, int, str]:
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError as error:
        raise UnsafeAddress(f"Invalid URL: {error}.", extra={"field": "url"}) from None
    scheme = split.scheme.lower()
    allowed = ("https", "http") if conf.WEBHOOK_ALLOW_HTTP else ("https",)
    if scheme not in allowed:
        raise UnsafeAddress(
            "The URL must be https."
            if scheme == "http"
            else f"The URL's scheme must be {' or '.join(allowed)}.",
            extra={"field": "url"},
        )
    if not split.hostname:
        raise UnsafeAddress("The URL has no host.", extra={"field": "url"})
    if split.username or split.password:
        raise UnsafeAddress("The URL may not carry credentials.", extra={"field": "url"})
    path = split.path or "/"
    if split.query:
        path = f"{path}?{split.query}"
    return scheme, split.hostname, port or (443 if scheme == "https" else 80), path


def resolve(url: str) -> Target:
    """Check ``url`` and pick the address to connect to; :class:`UnsafeAddress` if refused.

    Every address the host resolves to must be allowed (a host that answers one public and
    one private address is refused: which one a client would use is not ours to guess).
    """
    scheme, host, port, path = _parts(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeAddress(
            f"The URL's host does not resolve ({error}).", extra={"field": "url"}
        ) from None
    addresses: list[Address] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    for address in addresses:
        why = refusal(address)
        if why is not None:
            raise UnsafeAddress(
                f"The URL's host resolves to {why} ({address}), which webhooks may not reach.",
                extra={"field": "url"},
            )
    if not addresses:  # pragma: no cover  (getaddrinfo raises rather than answer nothing)
        raise UnsafeAddress("The URL's host does not resolve.", extra={"field": "url"})
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


def check_url(url: str) -> None:
    """Refuse (:class:`UnsafeAddress`, a 422) a URL an endpoint may not have."""
    resolve(url)
