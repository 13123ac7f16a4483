"""Redis adapters, for one server (AUTH_REDIS_MODE=standalone), a Redis Cluster
(cluster) or a master watched by Redis Sentinel (sentinel). Key layout (all under
AUTH_REDIS_PREFIX): the denylist's keys are the wire contract's
(quizauth_wire.DenylistLayout), read by quiz services too; and
rl:<scope>:<subject>      attempt counter of a fixed rate-limit window

With AUTH_REVOCATION_NEAR_CACHE the revocation store reads the denylist, and the rate
limiter's peeks read the introspection counters, through one near cache (the client
library's), kept coherent by Redis's invalidation messages: checking a token seen before
costs no round trip. Writes always go to Redis.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError

from auth_api.errors import DependencyUnavailable
from auth_api.security.stores import LimitDecision, LimitRule
from auth_api.settings import RedisMode, Settings
from quizauth_client.near_cache import NearCache
from quizauth_client.sentinel import NodeAuth, SentinelAuth, connect_sentinel_master
from quizauth_wire import DenylistLayout, is_denied_by_any

AnyRedis = Redis | RedisCluster

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


def connect_redis(settings: Settings) -> AnyRedis:
    """The one place the service builds its Redis client, for each AUTH_REDIS_MODE."""
    timeout = settings.io_timeout_seconds
    if settings.redis_mode is RedisMode.SENTINEL:
        return connect_sentinel(settings)
    if settings.redis_url is None:
        raise ValueError(f"AUTH_REDIS_MODE={settings.redis_mode.value} needs AUTH_REDIS_URL")
    if settings.redis_mode is RedisMode.CLUSTER:
        return connect_cluster(settings.redis_url, timeout)
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=15,
        retry=reconnect_once(),
    )


def connect_sentinel(settings: Settings) -> Redis:
    """The master that the sentinels name; AUTH_REDIS_URL, when set, only logs in."""
    if settings.redis_sentinels is None or not settings.redis_sentinel_master:
        raise ValueError("AUTH_REDIS_MODE=sentinel needs AUTH_REDIS_SENTINELS and _MASTER")
    password = settings.redis_sentinel_password
    return connect_sentinel_master(
        settings.redis_sentinels,
        settings.redis_sentinel_master,
        timeout_seconds=settings.io_timeout_seconds,
        node_auth=NodeAuth.from_url(settings.redis_url),
        sentinel_auth=SentinelAuth(
            settings.redis_sentinel_username,
            password.get_secret_value() if password else None,
        ),
        health_check_interval=15,
        retry=reconnect_once(),
    )


def seed_nodes(urls: str) -> list[ClusterNode]:
    """`redis://h1:p1,h2:p2` or `redis://h1:p1,redis://h2:p2`: the cluster's seed nodes."""
    nodes = []
    for part in urls.split(","):
        address = part.strip()
        parsed = urlsplit(address if "://" in address else f"redis://{address}")
        nodes.append(ClusterNode(parsed.hostname or "127.0.0.1", parsed.port or 6379))
    return nodes


def connect_cluster(urls: str, timeout_seconds: float) -> RedisCluster:
    """A Redis Cluster client from its seed nodes; the credentials and TLS of the first
    URL apply to every node. A command whose slot has no master fails after a few
    quick retries (a few timeouts at most), not after redis-py's default ten."""
    first = urlsplit(urls.split(",", maxsplit=1)[0].strip())
    return RedisCluster(
        startup_nodes=seed_nodes(urls),
        username=first.username,
        password=first.password,
        ssl=first.scheme == "rediss",
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
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


# RedisClusterException (CROSSSLOT refused client-side, a slot no node covers) is not a
# RedisError: without it a cluster failure would be a 500. Sentinel's MasterNotFoundError
# and a demoted master's READONLY are RedisErrors.
REDIS_FAILURES = (RedisError, RedisClusterException, OSError)
# Tokens whose denylist keys the revocation store keeps named (six keys, about 0.5 KB).
KEYS_REMEMBERED = 10_000
# Rate-limit counters a peek may read from the near cache: those looked at on requests
# that are otherwise answered without Redis (introspection by a quiz service).
NEAR_CACHED_COUNTERS = ("introspect:",)


def near_cached_counter_prefixes(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}rl:{counter}" for counter in NEAR_CACHED_COUNTERS)


def near_cache_prefixes(prefix: str) -> tuple[str, ...]:
    """What the service's near cache tracks: the denylist, and those counters."""
    return DenylistLayout(prefix).key_prefixes() + near_cached_counter_prefixes(prefix)


@asynccontextmanager
async def redis_errors() -> AsyncIterator[None]:
    try:
        yield
    except REDIS_FAILURES as exc:
        raise DependencyUnavailable("redis") from exc


class RedisRevocationStore:
    """Writes the hash-tagged layout. On one server each check also reads the legacy
    keys of releases before it, in the same MGET, so tokens revoked before an upgrade
    stay revoked; a cluster is a new deployment with no legacy keys (and could not read
    them in one MGET: they lie in other slots).

    The near cache, when there is one, tracks the three prefixes of the denylist, which
    cover the hash-tagged keys and the legacy ones alike (`near_cache_prefixes`). On a
    cluster its channel stays down (tracking would be per node), so every check reads
    Redis, as without it."""

    def __init__(
        self,
        redis: AnyRedis,
        prefix: str,
        *,
        read_legacy_keys: bool = True,
        near_cache: NearCache | None = None,
        near_cache_keys: int | None = None,
    ) -> None:
        """`near_cache`: read the denylist through this one (made with
        `near_cache_prefixes`, shared with the rate limiter); or `near_cache_keys`: make
        one of at most that many keys. `start` keeps its invalidation channel up. With
        neither, every check reads Redis."""
        self._redis = redis
        self._layout = DenylistLayout(prefix)
        self._read_legacy_keys = read_legacy_keys
        self._keys_of = functools.lru_cache(maxsize=KEYS_REMEMBERED)(self._build_keys)
        if near_cache is None and near_cache_keys is not None:
            near_cache = NearCache(redis, near_cache_prefixes(prefix), near_cache_keys)
        self.near_cache = near_cache

    async def start(self) -> None:
        if self.near_cache is not None:
            await self.near_cache.start()

    async def close(self) -> None:
        if self.near_cache is not None:
            await self.near_cache.close()

    async def ping(self) -> None:
        async with redis_errors():
            await self._redis.ping()

    async def revoke(self, jti: str, user_id: str, ttl_seconds: int) -> None:
        key = self._layout.token_key(jti, user_id)
        async with redis_errors(), self._written([key]):
            await self._redis.set(key, b"1", ex=max(ttl_seconds, 1))

    async def is_revoked(self, jti: str, user_id: str, session_id: str, issued_at: int) -> bool:
        # On every authenticated request: the keys of a token are named once, and the
        # errors are caught here rather than by a context manager made for each call.
        keys = self._keys_of(jti, user_id, session_id)
        try:
            if self.near_cache is None:
                values = await self._redis.mget(keys)
            else:
                values = await self.near_cache.mget(keys)
        except REDIS_FAILURES as exc:
            raise DependencyUnavailable("redis") from exc
        return is_denied_by_any(values, issued_at)

    def _build_keys(self, jti: str, user_id: str, session_id: str) -> tuple[str, ...]:
        keys = self._layout.keys_for(jti, user_id, session_id)
        if self._read_legacy_keys:
            keys += self._layout.legacy_keys_for(jti, user_id, session_id)
        return tuple(keys)

    async def revoke_sessions(self, user_id: str, session_ids: list[str], ttl_seconds: int) -> None:
        if not session_ids:
            return
        keys = [self._layout.session_key(session_id, user_id) for session_id in session_ids]
        async with (
            redis_errors(),
            self._written(keys),
            self._redis.pipeline(transaction=False) as pipe,
        ):
            for key in keys:
                pipe.set(key, b"1", ex=max(ttl_seconds, 1))
            await pipe.execute()

    async def revoke_user_tokens(self, user_id: str, before: int, ttl_seconds: int) -> None:
        key = self._layout.user_key(user_id)
        async with redis_errors(), self._written([key]):
            await self._redis.set(key, str(before), ex=max(ttl_seconds, 1))

    @asynccontextmanager
    async def _written(self, keys: list[str]) -> AsyncIterator[None]:
        """This process's own writes show in its own checks at once, without waiting
        for Redis to report them; a write that failed may still have landed, so its
        keys are dropped too."""
        try:
            yield
        finally:
            if self.near_cache is not None:
                self.near_cache.invalidate(keys)


class RedisRateLimiter:
    """One script call for all the rules on one server. On a cluster the rules' keys
    (account, account+address, address) lie in different slots, so they are grouped by
    slot, one script call per group, the groups concurrently. Each group stays atomic;
    across groups a hit first looks (every group, concurrently), and counts only when no
    group is full: a refused attempt still counts nothing. Two hits racing between the
    look and the count can both pass a limit by one; each group's own script still
    refuses past its limit."""

    def __init__(
        self,
        redis: AnyRedis,
        prefix: str,
        *,
        cluster: bool = False,
        near_cache: NearCache | None = None,
    ) -> None:
        """`near_cache`: one that tracks `near_cached_counter_prefixes(prefix)`; a peek
        at such a counter then reads it from there (see `peek`)."""
        self._redis = redis
        self._prefix = prefix
        self._cluster = cluster
        self._script = redis.register_script(HIT_SCRIPT)
        self._near_cache = near_cache
        self._near_cached = near_cached_counter_prefixes(prefix) if near_cache is not None else ()

    async def hit(self, rules: list[LimitRule]) -> LimitDecision:
        groups = self._slot_groups(rules)
        if len(groups) > 1:
            looked = await self._run_groups(rules, groups, counting=False)
            if not looked.allowed:
                return looked
        return await self._run_groups(rules, groups, counting=True)

    async def peek(self, rule: LimitRule) -> LimitDecision:
        """A counter the near cache tracks is read from it: one under its limit (most
        often absent: nothing failed) is allowed without a round trip; one at its limit
        is looked at by the script, which says how long the refusal lasts. The copy is
        as fresh as the denylist's: every increment, from any process, is reported."""
        key = self._key(rule.key)
        if self._near_cache is not None and key.startswith(self._near_cached):
            try:
                [value] = await self._near_cache.mget([key])
            except REDIS_FAILURES as exc:
                raise DependencyUnavailable("redis") from exc
            count = int(value or 0)
            if rule.limit is None or count < rule.limit:
                return LimitDecision(True, 0, (count,))
        return await self._run([rule], counting=False)

    async def reset(self, *keys: str) -> None:
        full_keys = [self._key(key) for key in keys]
        try:
            async with redis_errors():
                for group in self._key_groups(full_keys):
                    await self._redis.delete(*group)
        finally:
            self._forget(full_keys)

    def _key(self, key: str) -> str:
        return f"{self._prefix}rl:{key}"

    def _key_groups(self, keys: list[str]) -> list[list[str]]:
        if not self._cluster:
            return [keys] if keys else []
        by_slot: dict[int, list[str]] = {}
        for key in keys:
            by_slot.setdefault(key_slot(key.encode()), []).append(key)
        return list(by_slot.values())

    def _slot_groups(self, rules: list[LimitRule]) -> list[list[int]]:
        """Indexes of `rules`, grouped so that each group's keys share a slot."""
        if not self._cluster:
            return [list(range(len(rules)))]
        by_slot: dict[int, list[int]] = {}
        for index, rule in enumerate(rules):
            by_slot.setdefault(key_slot(self._key(rule.key).encode()), []).append(index)
        return list(by_slot.values())

    async def _run_groups(
        self, rules: list[LimitRule], groups: list[list[int]], *, counting: bool
    ) -> LimitDecision:
        if len(groups) == 1:
            return await self._run(rules, counting=counting)
        decisions = await asyncio.gather(
            *(self._run([rules[i] for i in group], counting=counting) for group in groups)
        )
        counts = [0] * len(rules)
        for group, decision in zip(groups, decisions, strict=True):
            for index, count in zip(group, decision.counts, strict=True):
                counts[index] = count
        retry_after = max(decision.retry_after_seconds for decision in decisions)
        allowed = all(decision.allowed for decision in decisions)
        return LimitDecision(allowed, 0 if allowed else retry_after, tuple(counts))

    async def reset_prefix(self, prefix: str) -> int:
        """A SCAN (every node of a cluster), deleting as it goes, slot by slot."""
        pattern = glob_escape(self._key(prefix)) + "*"
        deleted = 0
        async with redis_errors():
            batch: list[str] = []
            async for key in self._redis.scan_iter(match=pattern, count=500):
                batch.append(key.decode() if isinstance(key, bytes) else key)
                if len(batch) >= 500:
                    deleted += await self._delete(batch)
                    batch = []
            deleted += await self._delete(batch)
        return deleted

    async def _delete(self, keys: list[str]) -> int:
        deleted = 0
        try:
            for group in self._key_groups(keys):
                deleted += await self._redis.delete(*group)
        finally:
            self._forget(keys)
        return deleted

    def _forget(self, keys: list[str]) -> None:
        """This process's own writes to counters show in its own peeks at once."""
        if self._near_cache is not None:
            self._near_cache.invalidate(keys)

    async def _run(self, rules: list[LimitRule], *, counting: bool) -> LimitDecision:
        keys = [self._key(rule.key) for rule in rules]
        args: list[int] = [1 if counting else 0]
        for rule in rules:
            args += [-1 if rule.limit is None else rule.limit, rule.window_seconds * 1000]
        try:
            async with redis_errors():
                reply = await self._script(keys=keys, args=args)
        finally:
            if counting:  # also when it failed: the count may have landed all the same
                self._forget(keys)
        wait_ms, *counts = [int(value) for value in reply]
        if wait_ms > 0:
            retry_after = math.ceil(wait_ms / 1000)
            return LimitDecision(False, retry_after, tuple(counts))
        return LimitDecision(True, 0, tuple(counts))
