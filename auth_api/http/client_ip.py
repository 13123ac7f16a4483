"""The client's IP: the socket peer, or X-Forwarded-For when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(specs: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(spec, strict=False) for spec in specs]


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_ip(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """Walk X-Forwarded-For from the right, skipping trusted proxies; the first untrusted
    hop is the client. Entries left of it are client-controlled and ignored.

    `forwarded_for` is every X-Forwarded-For line of the request, in order: several
    lines are one list (RFC 9110, 5.3), and a proxy may append its hop as a line of its
    own, after a line the client wrote. Reading the first line only would let that
    client's line win."""
    peer = peer or "unknown"
    if not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for line in forwarded_for for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return _canonical(hop) or peer
    return (_canonical(hops[0]) if hops else None) or peer


def _canonical(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
