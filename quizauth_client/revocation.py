"""Revocation, read straight from the auth service's Redis: the same keys, the same
decision and the same single round trip as the service's own check, all from the
shared wire contract (quizauth_wire.DenylistLayout).

Reading needs only GET and MGET on the denylist's keys: connect as a Redis ACL user
that may do nothing else (README, "Verifying tokens in a quiz service")."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from quizauth_client.denylist import Denylist, DenylistUnavailable
from quizauth_wire import DEFAULT_REDIS_PREFIX, DenylistLayout, is_denied_by_any

__all__ = ["Denylist", "RedisDenylist"]


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
            values = await self._redis.mget(keys)
        except (RedisError, RedisClusterException, OSError) as exc:
            raise DenylistUnavailable("the auth service's Redis is out of reach") from exc
        return is_denied_by_any(values, issued_at)
