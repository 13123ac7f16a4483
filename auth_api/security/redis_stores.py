"""Redis adapters. Key layout (all under AUTH_REDIS_PREFIX): the denylist's keys are
the wire contract's (quizauth_wire.DenylistLayout), read by quiz services too; and
rl:<scope>:<subject>      attempt counter of a fixed rate-limit window
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from auth_api.errors import DependencyUnavailable
from auth_api.security.stores import LimitDecision, LimitRule
from quizauth_wire import DenylistLayout, is_denied

# ARGV[1] is 1 to count, 0 to look only; then a (limit, window in ms) pair per key, a
# negative limit meaning "count only". A hit is refused, and counts nothing, when any
# limited counter is already full: refused attempts do not push a window further, and an
# address refused by its own limit adds nothing to the account-wide count. Returns the
# longest wait among the full counters (0 when allowed), then each counter's value.
# One script call: atomic and one round trip.
HIT_SCRIPT = """
local counting = ARGV[1] == '1'
local longest_wait = 0
local result = {0}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window_ms = tonumber(ARGV[2 * i + 1])
  local count = tonumber(redis.call('GET', key) or '0')
  result[i + 1] = count
  if limit >= 0 and count >= limit then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      ttl = window_ms
      if count > 0 then redis.call('PEXPIRE', key, window_ms) end
    end
    if ttl > longest_wait then longest_wait = ttl end
  end
end
if longest_wait > 0 or not counting then
  result[1] = longest_wait
  return result
end
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then
    redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
  end
  result[i + 1] = count
end
return result
"""


def connect_redis(url: str, timeout_seconds: float) -> Redis:
    return Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        health_check_interval=15,
        retry=reconnect_once(),
    )


def reconnect_once() -> Retry:
    """After a Redis restart the pool still holds connections the old server closed, and
    the first command on each would fail. One immediate retry on a fresh connection hides
    that. A timeout is not retried, so a hung server costs one timeout, not two. Every
    command sent here is safe to repeat: SET, MGET and DEL are idempotent, and a repeated
    rate-limit hit at worst counts one attempt twice."""
    return Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,))


def glob_escape(text: str) -> str:
    """`text` matched literally by a SCAN pattern: a prefix may hold `*`, `?` or `[`."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


@asynccontextmanager
async def redis_errors() -> AsyncIterator[None]:
    try:
        yield
    except (RedisError, OSError) as exc:
        raise DependencyUnavailable("redis") from exc


class RedisRevocationStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._layout = DenylistLayout(prefix)

    async def ping(self) -> None:
        async with redis_errors():
            await self._redis.ping()

    async def revoke(self, jti: str, ttl_seconds: int) -> None:
        async with redis_errors():
            await self._redis.set(self._layout.token_key(jti), b"1", ex=max(ttl_seconds, 1))

    async def is_revoked(self, jti: str, user_id: str, session_id: str, issued_at: int) -> bool:
        keys = self._layout.keys_for(jti, user_id, session_id)
        async with redis_errors():
            values = await self._redis.mget(keys)
        return is_denied(values, issued_at)

    async def revoke_sessions(self, session_ids: list[str], ttl_seconds: int) -> None:
        if not session_ids:
            return
        async with redis_errors(), self._redis.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.set(self._layout.session_key(session_id), b"1", ex=max(ttl_seconds, 1))
            await pipe.execute()

    async def revoke_user_tokens(self, user_id: str, before: int, ttl_seconds: int) -> None:
        async with redis_errors():
            await self._redis.set(
                self._layout.user_key(user_id), str(before), ex=max(ttl_seconds, 1)
            )


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(HIT_SCRIPT)

    async def hit(self, rules: list[LimitRule]) -> LimitDecision:
        return await self._run(rules, counting=True)

    async def peek(self, rule: LimitRule) -> LimitDecision:
        return await self._run([rule], counting=False)

    async def reset(self, *keys: str) -> None:
        async with redis_errors():
            await self._redis.delete(*(f"{self._prefix}rl:{key}" for key in keys))

    async def reset_prefix(self, prefix: str) -> int:
        pattern = glob_escape(f"{self._prefix}rl:{prefix}") + "*"
        deleted = 0
        async with redis_errors():
            batch: list[bytes] = []
            async for key in self._redis.scan_iter(match=pattern, count=500):
                batch.append(key)
                if len(batch) >= 500:
                    deleted += await self._redis.delete(*batch)
                    batch = []
            if batch:
                deleted += await self._redis.delete(*batch)
        return deleted

    async def _run(self, rules: list[LimitRule], *, counting: bool) -> LimitDecision:
        keys = [f"{self._prefix}rl:{rule.key}" for rule in rules]
        args: list[int] = [1 if counting else 0]
        for rule in rules:
            args += [-1 if rule.limit is None else rule.limit, rule.window_seconds * 1000]
        async with redis_errors():
            wait_ms, *counts = [int(value) for value in await self._script(keys=keys, args=args)]
        if wait_ms > 0:
            retry_after = math.ceil(wait_ms / 1000)
            return LimitDecision(False, retry_after, tuple(counts))
        return LimitDecision(True, 0, tuple(counts))
