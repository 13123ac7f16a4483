from __future__ import annotations

from auth_api.http.client_ip import client_ip, parse_networks

TRUSTED = parse_networks(["10.0.0.0/8", "192.0.2.1"])


def test_peer_is_used_when_it_is_not_a_trusted_proxy() -> None:
    assert client_ip("198.51.100.9", "1.2.3.4", TRUSTED) == "198.51.100.9"


def test_forwarded_for_is_used_behind_a_trusted_proxy() -> None:
    assert client_ip("10.1.2.3", "198.51.100.9", TRUSTED) == "198.51.100.9"


def test_spoofed_left_entries_are_ignored() -> None:
    chain = "6.6.6.6, 198.51.100.9, 10.0.0.5"
    assert client_ip("192.0.2.1", chain, TRUSTED) == "198.51.100.9"


def test_garbage_forwarded_for_falls_back_to_peer() -> None:
    assert client_ip("10.1.2.3", "not-an-ip", TRUSTED) == "10.1.2.3"
    assert client_ip("10.1.2.3", "", TRUSTED) == "10.1.2.3"
