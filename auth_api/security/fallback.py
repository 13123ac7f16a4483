"""Login throttling that survives a Redis outage by degrading to a per-process limiter."""

from __future__ import annotations

import logging

from auth_api.errors import DependencyUnavailable
from auth_api.security.memory_stores import MemoryRateLimiter
from auth_api.security.stores import LimitDecision, LimitRule, RateLimiter

log = logging.getLogger(__name__)


class FallbackRateLimiter:
    """Redis first; when it fails, a local limiter. Never unlimited guessing."""

    def __init__(self, primary: RateLimiter, fallback: MemoryRateLimiter | None = None) -> None:
        self._primary = primary
        self._fallback = fallback or MemoryRateLimiter()

    async def hit(self, rules: list[LimitRule]) -> LimitDecision:
        try:
            return await self._primary.hit(rules)
        except DependencyUnavailable:
            log.warning("rate limiter: Redis unavailable, using the per-process limiter")
            return await self._fallback.hit(rules)

    async def reset(self, key: str) -> None:
        await self._fallback.reset(key)
        try:
            await self._primary.reset(key)
        except DependencyUnavailable:
            log.warning("rate limiter: Redis unavailable, reset applied locally only")
