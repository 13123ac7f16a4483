"""The subject a per-address rate limit counts under."""

from __future__ import annotations

import ipaddress

# An IPv6 subscriber is routinely given a whole /64 (RFC 6177 recommends even more), and
# picking a new address inside it is free. Counting per address would give one host
# 2^64 fresh buckets, so every per-address limit counts the /64.
IPV6_GROUP_PREFIX = 64


def limit_subject(address: str) -> str:
    """An IPv4 address as it is; an IPv6 address as its /64 network; an IPv4-mapped
    IPv6 address as the IPv4 address it maps; anything else (no address) unchanged."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network((ip, IPV6_GROUP_PREFIX), strict=False))
