"""Revocation, read straight from the auth service's Redis: the same keys its own
check reads, in one round trip. Key layout (under the service's AUTH_REDIS_PREFIX):
revoked:<jti>, revoked-session:<sid>, valid-after:<user id>."""

from __future__ import annotations

from redis.asyncio import Redis


class RedisDenylist:
    def __init__(self, redis: Redis, prefix: str = "auth:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def is_revoked(self, jti: str, session_id: str, user_id: str, issued_at: int) -> bool:
        keys = [
            f"{self._prefix}revoked:{jti}",
            f"{self._prefix}revoked-session:{session_id}",
            f"{self._prefix}valid-after:{user_id}",
        ]
        token, session, valid_after = await self._redis.mget(keys)
        if token is not None or session is not None:
            return True
        return valid_after is not None and issued_at < int(valid_after)
