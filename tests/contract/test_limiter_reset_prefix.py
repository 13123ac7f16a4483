"""Lifting one account's login throttle: every counter under its prefix goes, from any
address, and nothing else does; a prefix with glob characters is taken literally."""

from __future__ import annotations

from auth_api.security.memory_stores import MemoryRateLimiter
from auth_api.security.redis_stores import RedisRateLimiter
from auth_api.security.stores import LimitRule

Limiter = MemoryRateLimiter | RedisRateLimiter


def rule(key: str) -> LimitRule:
    return LimitRule(key, 2, 900)


async def test_reset_prefix_clears_exactly_the_counters_under_it(limiter: Limiter) -> None:
    mine = [f"login:account-ip:abc:{ip}" for ip in ("198.51.100.1", "2001:db8::/64")]
    others = ["login:account-ip:abcd:198.51.100.1", "login:ip:198.51.100.1"]
    for key in mine + others:
        for _ in range(2):
            await limiter.hit([rule(key)])
    assert not (await limiter.hit([rule(mine[0])])).allowed
    assert await limiter.reset_prefix("login:account-ip:abc:") == 2
    for key in mine:
        assert (await limiter.hit([rule(key)])).allowed
    for key in others:
        assert not (await limiter.hit([rule(key)])).allowed


async def test_glob_characters_in_a_prefix_match_only_themselves(limiter: Limiter) -> None:
    await limiter.hit([rule("login:account-ip:x*:1")])
    await limiter.hit([rule("login:account-ip:xy:1")])
    assert await limiter.reset_prefix("login:account-ip:x*") == 1
    assert (await limiter.peek(rule("login:account-ip:xy:1"))).counts == (1,)
