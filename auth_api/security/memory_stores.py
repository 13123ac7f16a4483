"""In-process twins of the Redis stores: embedded mode, tests, and the per-process
rate limiter that login falls back to when Redis is down."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from auth_api.security.stores import LimitDecision, LimitRule
from quizauth_wire import DenylistLayout, is_denied

Clock = Callable[[], float]


class ExpiringDict:
    """Values with a deadline on a monotonic clock, purged lazily."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._items: dict[str, tuple[float, int]] = {}

    def get(self, key: str) -> tuple[int, float] | None:
        """The value and its remaining seconds, or None when absent or expired."""
        item = self._items.get(key)
        if item is None:
            return None
        deadline, value = item
        remaining = deadline - self._clock()
        if remaining <= 0:
            del self._items[key]
            return None
        return value, remaining

    def set(self, key: str, value: int, ttl_seconds: float) -> None:
        self._items[key] = (self._clock() + ttl_seconds, value)

    def delete(self, key: str) -> None:
        self._items.pop(key, None)

    def delete_prefix(self, prefix: str) -> int:
        doomed = [key for key in self._items if key.startswith(prefix)]
        for key in doomed:
            del self._items[key]
        return len(doomed)

    def __len__(self) -> int:
        return len(self._items)

    def purge(self) -> None:
        now = self._clock()
        self._items = {k: v for k, v in self._items.items() if v[0] > now}


class MemoryRevocationStore:
    """The same keys and the same decision as Redis (quizauth_wire), kept in-process."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._denied = ExpiringDict(clock)
        self._layout = DenylistLayout(prefix="")

    async def ping(self) -> None:
        return None

    async def revoke(self, jti: str, user_id: str, ttl_seconds: int) -> None:
        self._denied.set(self._layout.token_key(jti, user_id), 1, max(ttl_seconds, 1))

    async def is_revoked(self, jti: str, user_id: str, session_id: str, issued_at: int) -> bool:
        keys = self._layout.keys_for(jti, user_id, session_id)
        values = [self._value(key) for key in keys]
        return is_denied(values, issued_at)

    def _value(self, key: str) -> str | None:
        entry = self._denied.get(key)
        return None if entry is None else str(entry[0])

    async def revoke_user_tokens(self, user_id: str, before: int, ttl_seconds: int) -> None:
        self._denied.set(self._layout.user_key(user_id), before, max(ttl_seconds, 1))

    async def revoke_sessions(self, user_id: str, session_ids: list[str], ttl_seconds: int) -> None:
        for session_id in session_ids:
            key = self._layout.session_key(session_id, user_id)
            self._denied.set(key, 1, max(ttl_seconds, 1))


class MemoryRateLimiter:
    """Fixed windows per key, same semantics as the Redis script."""

    # Past this many keys (e.g. a flood of spoofed IPs while Redis is down) expired
    # windows are purged early. Only expired keys go: live windows are kept, so memory
    # is not capped. The next size trigger then sits at twice the survivors, so a table
    # of live keys is not rebuilt on every hit.
    MAX_KEYS = 100_000

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._counts = ExpiringDict(clock)
        self._size_checks = 0
        self._purge_above = self.MAX_KEYS

    async def hit(self, rules: list[LimitRule]) -> LimitDecision:
        self._maybe_purge()
        refused = self._refusal(rules)
        if refused is not None:
            return refused
        counts = []
        for rule in rules:
            current = self._counts.get(rule.key)
            count, remaining = (current[0] + 1, current[1]) if current else (1, rule.window_seconds)
            self._counts.set(rule.key, count, remaining)
            counts.append(count)
        return LimitDecision(True, 0, tuple(counts))

    async def peek(self, rule: LimitRule) -> LimitDecision:
        return self._refusal([rule]) or LimitDecision(True, 0, (self._count(rule.key),))

    async def reset(self, *keys: str) -> None:
        for key in keys:
            self._counts.delete(key)

    async def reset_prefix(self, prefix: str) -> int:
        return self._counts.delete_prefix(prefix)

    def _count(self, key: str) -> int:
        current = self._counts.get(key)
        return current[0] if current else 0

    def _refusal(self, rules: list[LimitRule]) -> LimitDecision | None:
        """Refused when any rule is already full (as the Redis script): None otherwise."""
        counts = tuple(self._count(rule.key) for rule in rules)
        retry_after = 0.0
        for rule, count in zip(rules, counts, strict=True):
            if rule.is_full(count):
                current = self._counts.get(rule.key)
                retry_after = max(retry_after, current[1] if current else rule.window_seconds)
        if retry_after > 0:
            return LimitDecision(False, math.ceil(retry_after), counts)
        return None

    def _maybe_purge(self) -> None:
        self._size_checks += 1
        if self._size_checks % 1000 == 0 or len(self._counts) > self._purge_above:
            self._counts.purge()
            self._purge_above = max(self.MAX_KEYS, 2 * len(self._counts))
