"""Revocation, read straight from the auth service's Redis: the same keys, the same
decision and the same single round trip as the service's own check, all from the
shared wire contract (quizauth_wire.DenylistLayout).

Reading needs only GET and MGET on the denylist's keys: connect as a Redis ACL user
that may do nothing else (README, "Verifying tokens in a quiz service")."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from quizauth_client.denylist import Denylist, DenylistUnavailable
from quizauth_wire import DEFAULT_REDIS_PREFIX, DenylistLayout, is_denied

__all__ = ["Denylist", "RedisDenylist"]


class RedisDenylist:
    def __init__(self, redis: Redis, prefix: str = DEFAULT_REDIS_PREFIX) -> None:
        self._redis = redis
        self._layout = DenylistLayout(prefix)

    async def is_revoked(self, jti: str, user_id: str, session_id: str, issued_at: int) -> bool:
        try:
            values = await self._redis.mget(self._layout.keys_for(jti, user_id, session_id))
        except RedisError as exc:
            raise DenylistUnavailable("the auth service's Redis is out of reach") from exc
        return is_denied(values, issued_at)
