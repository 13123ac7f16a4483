from __future__ import annotations

import pytest

from auth_api.http.client_ip import client_ip, parse_networks
from auth_api.security.addresses import limit_subject

TRUSTED = parse_networks(["10.0.0.0/8", "192.0.2.1"])


def test_peer_is_used_when_it_is_not_a_trusted_proxy() -> None:
    assert client_ip("198.51.100.9", ["1.2.3.4"], TRUSTED) == "198.51.100.9"


def test_forwarded_for_is_used_behind_a_trusted_proxy() -> None:
    assert client_ip("10.1.2.3", ["198.51.100.9"], TRUSTED) == "198.51.100.9"


def test_spoofed_left_entries_are_ignored() -> None:
    chain = ["6.6.6.6, 198.51.100.9, 10.0.0.5"]
    assert client_ip("192.0.2.1", chain, TRUSTED) == "198.51.100.9"


def test_every_forwarded_for_line_is_read_in_order() -> None:
    # The client wrote the first line; its proxy appended the second, with the real hop.
    lines = ["6.6.6.6", "198.51.100.9"]
    assert client_ip("10.1.2.3", lines, TRUSTED) == "198.51.100.9"
    assert client_ip("10.1.2.3", ["6.6.6.6, 198.51.100.9", "10.0.0.5"], TRUSTED) == "198.51.100.9"


def test_garbage_forwarded_for_falls_back_to_peer() -> None:
    assert client_ip("10.1.2.3", ["not-an-ip"], TRUSTED) == "10.1.2.3"
    assert client_ip("10.1.2.3", [""], TRUSTED) == "10.1.2.3"
    assert client_ip("10.1.2.3", [], TRUSTED) == "10.1.2.3"


@pytest.mark.parametrize(
    ("address", "subject"),
    [
        ("198.51.100.9", "198.51.100.9"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.9", "198.51.100.9"),
        ("unknown", "unknown"),
    ],
)
def test_limits_count_ipv6_per_64(address: str, subject: str) -> None:
    assert limit_subject(address) == subject
