"""The contract of the revocation store and the rate limiter, memory and Redis alike."""

from __future__ import annotations

import asyncio
import time

from auth_api.security.memory_stores import MemoryRateLimiter, MemoryRevocationStore
from auth_api.security.redis_stores import RedisRateLimiter, RedisRevocationStore
from auth_api.security.stores import LimitRule

Revocations = MemoryRevocationStore | RedisRevocationStore
Limiter = MemoryRateLimiter | RedisRateLimiter


async def test_revoked_token_is_revoked_others_are_not(revocations: Revocations) -> None:
    now = int(time.time())
    await revocations.revoke("jti-1", "user", ttl_seconds=60)
    assert await revocations.is_revoked("jti-1", "user", "s", now)
    assert not await revocations.is_revoked("jti-2", "user", "s", now)


async def test_revocation_expires_with_the_token(revocations: Revocations) -> None:
    await revocations.revoke("short-lived", "user", ttl_seconds=1)
    await asyncio.sleep(1.2)
    assert not await revocations.is_revoked("short-lived", "user", "s", int(time.time()))


async def test_user_tokens_issued_before_the_cutoff_are_revoked(revocations: Revocations) -> None:
    now = int(time.time())
    await revocations.revoke_user_tokens("user", before=now, ttl_seconds=60)
    assert await revocations.is_revoked("any", "user", "s", now - 1)
    assert not await revocations.is_revoked("any", "user", "s", now)
    assert not await revocations.is_revoked("any", "someone-else", "s", now - 1)


async def test_revoked_sessions_deny_their_tokens(revocations: Revocations) -> None:
    now = int(time.time())
    await revocations.revoke_sessions("user", ["s1", "s2"], ttl_seconds=60)
    assert await revocations.is_revoked("any", "user", "s1", now)
    assert await revocations.is_revoked("any", "user", "s2", now)
    assert not await revocations.is_revoked("any", "user", "s3", now)
    await revocations.revoke_sessions("user", [], ttl_seconds=60)


async def test_limit_allows_up_to_the_limit_then_refuses(limiter: Limiter) -> None:
    rule = LimitRule("login:ip:1.2.3.4", limit=3, window_seconds=60)
    decisions = [await limiter.hit([rule]) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 0 < decisions[-1].retry_after_seconds <= 60


async def test_any_rule_over_its_limit_refuses(limiter: Limiter) -> None:
    tight = LimitRule("login:account:a", limit=1, window_seconds=30)
    loose = LimitRule("login:ip:x", limit=100, window_seconds=60)
    assert (await limiter.hit([tight, loose])).allowed
    refused = await limiter.hit([loose, tight])
    assert not refused.allowed
    assert refused.retry_after_seconds <= 30


async def test_reset_clears_a_counter(limiter: Limiter) -> None:
    rule = LimitRule("login:account:b", limit=1, window_seconds=60)
    await limiter.hit([rule])
    assert not (await limiter.hit([rule])).allowed
    await limiter.reset(rule.key)
    assert (await limiter.hit([rule])).allowed


async def test_window_expires(limiter: Limiter) -> None:
    rule = LimitRule("register:ip:y", limit=1, window_seconds=1)
    await limiter.hit([rule])
    assert not (await limiter.hit([rule])).allowed
    await asyncio.sleep(1.2)
    assert (await limiter.hit([rule])).allowed


async def test_concurrent_hits_never_exceed_the_limit(limiter: Limiter) -> None:
    rule = LimitRule("login:account:race", limit=5, window_seconds=60)
    decisions = await asyncio.gather(*(limiter.hit([rule]) for _ in range(50)))
    assert sum(d.allowed for d in decisions) == 5


async def test_a_refused_hit_counts_nothing(limiter: Limiter) -> None:
    tight = LimitRule("login:account-ip:c:1.2.3.4", limit=1, window_seconds=60)
    counter = LimitRule("login:account:c", limit=None, window_seconds=60)
    assert (await limiter.hit([tight, counter])).counts == (1, 1)
    refused = await limiter.hit([tight, counter])
    assert not refused.allowed
    assert refused.counts == (1, 1)  # the account-wide count did not move
    assert (await limiter.hit([counter])).counts == (2,)


async def test_a_counting_rule_never_refuses(limiter: Limiter) -> None:
    counter = LimitRule("login:account:d", limit=None, window_seconds=60)
    decisions = [await limiter.hit([counter]) for _ in range(30)]
    assert all(d.allowed for d in decisions)
    assert [d.counts for d in decisions[-2:]] == [(29,), (30,)]


async def test_peek_reports_without_counting(limiter: Limiter) -> None:
    rule = LimitRule("introspect:ip:e", limit=2, window_seconds=60)
    assert (await limiter.peek(rule)).allowed
    await limiter.hit([rule])
    assert (await limiter.peek(rule)).counts == (1,)
    await limiter.hit([rule])
    full = await limiter.peek(rule)
    assert not full.allowed
    assert 0 < full.retry_after_seconds <= 60
    assert (await limiter.peek(rule)).counts == (2,)


async def test_reset_clears_several_counters(limiter: Limiter) -> None:
    first = LimitRule("login:account:f", limit=1, window_seconds=60)
    second = LimitRule("login:account-ip:f:x", limit=1, window_seconds=60)
    await limiter.hit([first, second])
    await limiter.reset(first.key, second.key)
    assert (await limiter.hit([first, second])).allowed
