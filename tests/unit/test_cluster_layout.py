"""The hash-tagged denylist layout, the legacy read, the seed-node list and the grouping
of rate-limit rules by slot: what Redis Cluster mode rests on, checked without a server."""

from __future__ import annotations

from redis.crc import key_slot

from auth_api.security.login_limits import (
    account_ip_key,
    account_ip_prefix,
    account_key,
    account_subject,
)
from auth_api.security.redis_stores import RedisRateLimiter, seed_nodes
from auth_api.security.stores import LimitRule
from quizauth_wire import DenylistLayout, is_denied_by_any


def test_the_keys_of_one_check_share_a_slot() -> None:
    layout = DenylistLayout("auth:")
    for user_id in ("64b7f0c2a1", "user-2", "ü"):
        keys = layout.keys_for("some-jti", user_id, "some-session")
        assert len({key_slot(key.encode()) for key in keys}) == 1


def test_the_layout_names_its_keys_as_documented() -> None:
    layout = DenylistLayout("auth:")
    assert layout.keys_for("j", "u", "s") == [
        "auth:revoked:{u}:j",
        "auth:revoked-session:{u}:s",
        "auth:valid-after:{u}",
    ]
    assert layout.legacy_keys_for("j", "u", "s") == [
        "auth:revoked:j",
        "auth:revoked-session:s",
        "auth:valid-after:u",
    ]


def test_the_read_patterns_cover_both_layouts() -> None:
    layout = DenylistLayout("auth:")
    keys = layout.keys_for("j", "u", "s") + layout.legacy_keys_for("j", "u", "s")
    for key in keys:
        assert any(key.startswith(p.removesuffix("*")) for p in layout.read_patterns())


def test_a_legacy_denial_denies() -> None:
    nothing = [None, None, None]
    assert not is_denied_by_any(nothing + nothing, issued_at=100)
    assert is_denied_by_any([*nothing, b"1", None, None], issued_at=100)
    assert is_denied_by_any([*nothing, None, None, b"101"], issued_at=100)
    assert not is_denied_by_any([*nothing, None, None, b"100"], issued_at=100)
    assert is_denied_by_any([None, b"1", None, *nothing], issued_at=100)


def test_seed_nodes_read_urls_and_bare_addresses() -> None:
    nodes = seed_nodes("redis://10.0.0.1:7000, 10.0.0.2:7001,redis://h3")
    assert [(n.host, n.port) for n in nodes] == [
        ("10.0.0.1", 7000),
        ("10.0.0.2", 7001),
        ("h3", 6379),
    ]


def test_login_rules_are_grouped_by_slot_on_a_cluster_only() -> None:
    rules = [
        LimitRule("login:account:abc", None, 60),
        LimitRule("login:account-ip:abc:1.2.3.4", 5, 60),
        LimitRule("login:ip:1.2.3.4", 20, 60),
    ]

    class NoScripts:
        def register_script(self, script: str) -> object:
            return script

    single = RedisRateLimiter(NoScripts(), "auth:")  # type: ignore[arg-type]
    cluster = RedisRateLimiter(NoScripts(), "auth:", cluster=True)  # type: ignore[arg-type]
    assert single._slot_groups(rules) == [[0, 1, 2]]
    groups = cluster._slot_groups(rules)
    assert sorted(i for group in groups for i in group) == [0, 1, 2]
    for group in groups:
        slots = {key_slot(f"auth:rl:{rules[i].key}".encode()) for i in group}
        assert len(slots) == 1


def test_an_accounts_login_keys_share_a_slot_and_the_address_key_stands_apart() -> None:
    """The login's three rules make two slot groups: the account's two keys (one hash
    tag) and the address's key, which every account's logins from it share."""
    account = account_subject("ada@example.com")
    rules = [
        LimitRule(account_key(account), None, 60),
        LimitRule(account_ip_key(account, "198.51.100.7"), 5, 60),
        LimitRule("login:ip:198.51.100.7", 20, 60),
    ]

    class NoScripts:
        def register_script(self, script: str) -> object:
            return script

    cluster = RedisRateLimiter(NoScripts(), "auth:", cluster=True)  # type: ignore[arg-type]
    assert sorted(cluster._slot_groups(rules)) == [[0, 1], [2]]
    assert account_ip_key(account, "x").startswith(account_ip_prefix(account))
