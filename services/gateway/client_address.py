"""Who is calling, by network address: the TCP peer, or what trusted proxies say it is.

`X-Forwarded-For` is believed only when the peer is one of the configured proxies, and then
read from the right: each proxy appends the address it saw, so the right-most address that is
not a trusted proxy is the first one no trusted party vouches for. Anything left of it was
written by the client and may be anything.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> list[Network]:
    """`10.0.0.5`, `10.0.0.0/8` or `::1` as networks; raises ValueError on anything else."""
    return [ipaddress.ip_network(value.strip(), strict=False) for value in values]


def _address(value: str) -> Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address: Address | None, proxies: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[Network]
) -> str:
    """The client's address. `forwarded_for` holds every X-Forwarded-For header, in order."""
    if peer is None:
        return "unknown"
    if not proxies or not _trusted(_address(peer), proxies):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    nearest = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # Garbage where a trusted proxy should have written an address: believe no further.
            return nearest
        if not _trusted(address, proxies):
            return str(address)
        nearest = str(address)
    return nearest


def request_address(request: HTTPConnection) -> str:
    """The address the gateway's middleware found for this request (`client_address`)."""
    return str(request.scope.get("state", {}).get("client_address", "unknown"))
