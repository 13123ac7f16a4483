"""Revocation, read from the auth service's Redis: the same keys, the same decision and
the same single round trip as the service's own check, all from the shared wire
contract (quizauth_wire.DenylistLayout).

`RedisDenylist` reads Redis on every check; it needs only GET and MGET on the
denylist's keys. `NearCachedDenylist` keeps a copy of what it read, kept coherent by
Redis itself (quizauth_client.near_cache), so that checking a token seen before costs
no round trip; it also needs the rights of the invalidation channel (README,
"Verifying tokens in your service")."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from quizauth_client.denylist import Denylist, DenylistUnavailable
from quizauth_client.near_cache import DEFAULT_MAX_KEYS, NearCache, Value
from quizauth_client.tracking import DEFAULT_TIMING, ChannelTiming
from quizauth_wire import DEFAULT_REDIS_PREFIX, DenylistLayout, is_denied_by_any

__all__ = ["Denylist", "NearCachedDenylist", "RedisDenylist"]


class RedisDenylist:
    """Over a `Redis` client, the check also reads the keys of auth releases before the
    hash-tagged layout, in the same MGET (a token revoked before an upgrade stays
    revoked). Over a `RedisCluster` client it reads the hash-tagged keys only: they share
    the user's slot, and a cluster deployment has no keys of the older layout."""

    def __init__(self, redis: Redis | RedisCluster, prefix: str = DEFAULT_REDIS_PREFIX) -> None:
        self._redis = redis
        self._layout = DenylistLayout(prefix)
        self._read_legacy_keys = not isinstance(redis, RedisCluster)

    async def is_revoked(self, jti: str, user_id: str, session_id: str, issued_at: int) -> bool:
        keys = self._layout.keys_for(jti, user_id, session_id)
        if self._read_legacy_keys:
            keys += self._layout.legacy_keys_for(jti, user_id, session_id)
        try:
            values = await self._read(keys)
        except (RedisError, RedisClusterException, OSError) as exc:
            raise DenylistUnavailable("the auth service's Redis is out of reach") from exc
        return is_denied_by_any(values, issued_at)

    async def _read(self, keys: Sequence[str]) -> list[Value]:
        return list(await self._redis.mget(keys))


class NearCachedDenylist(RedisDenylist):
    """The denylist with a near cache of it: the same keys and decision as RedisDenylist.
    Use it as an async context manager (in the app's lifespan), which keeps the
    invalidation channel up; outside it, while the channel is down, or over a Redis
    Cluster (whose tracking is per node, not offered here), every check reads Redis."""

    def __init__(
        self,
        redis: Redis | RedisCluster,
        prefix: str = DEFAULT_REDIS_PREFIX,
        max_keys: int = DEFAULT_MAX_KEYS,
        timing: ChannelTiming = DEFAULT_TIMING,
    ) -> None:
        super().__init__(redis, prefix)
        self.cache = NearCache(redis, self._layout.key_prefixes(), max_keys, timing)

    @property
    def ready(self) -> bool:
        """Whether checks are answered from the copy now (the channel is up); when not,
        they read Redis, so this is about speed, never about what is answered."""
        return self.cache.live

    async def _read(self, keys: Sequence[str]) -> list[Value]:
        return await self.cache.mget(keys)

    async def __aenter__(self) -> NearCachedDenylist:
        await self.cache.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.cache.close()
