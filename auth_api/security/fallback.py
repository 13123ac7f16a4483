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

    async def peek(self, rule: LimitRule) -> LimitDecision:
        try:
            return await self._primary.peek(rule)
        except DependencyUnavailable:
            log.warning("rate limiter: Redis unavailable, using the per-process limiter")
            return await self._fallback.peek(rule)

    async def reset(self, *keys: str) -> None:
        await self._fallback.reset(*keys)
        try:
            await self._primary.reset(*keys)
        except DependencyUnavailable:
            log.warning("rate limiter: Redis unavailable, reset applied locally only")

    async def reset_prefix(self, prefix: str) -> int:
        local = await self._fallback.reset_prefix(prefix)
        try:
            return local + await self._primary.reset_prefix(prefix)
        except DependencyUnavailable:
            log.warning("rate limiter: Redis unavailable, reset applied locally only")
            raise
