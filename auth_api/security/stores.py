"""What the service needs from Redis: token revocation and rate-limit counters.
The Redis adapters and the in-memory twins both implement these protocols."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class LimitRule:
    """At most `limit` hits on `key` per fixed window of `window_seconds`. A rule whose
    limit is None only counts: it never refuses, and the caller reads its count."""

    key: str
    limit: int | None
    window_seconds: int

    def is_full(self, count: int) -> bool:
        return self.limit is not None and count >= self.limit


@dataclass(frozen=True)
class LimitDecision:
    allowed: bool
    retry_after_seconds: int = 0
    # Each rule's count after this hit, in the order of the rules; a refused hit counts
    # nothing, so then these are the counts that refused it.
    counts: tuple[int, ...] = ()


class RevocationStore(Protocol):
    async def ping(self) -> None: ...

    async def revoke(self, jti: str, user_id: str, ttl_seconds: int) -> None:
        """Deny this token id until the token would have expired anyway."""

    async def is_revoked(self, jti: str, user_id: str, session_id: str, issued_at: int) -> bool:
        """The token's own denial, its session's, and the user's valid-after time: at
        most one round trip (none from a near cache that holds all three)."""

    async def revoke_sessions(self, user_id: str, session_ids: list[str], ttl_seconds: int) -> None:
        """Deny every access token issued within these sessions (all the user's)."""

    async def revoke_user_tokens(self, user_id: str, before: int, ttl_seconds: int) -> None:
        """Deny every token of this user issued before `before` (seconds since epoch)."""


class RateLimiter(Protocol):
    async def hit(self, rules: list[LimitRule]) -> LimitDecision:
        """Atomically: refused, counting nothing, when any rule is already full;
        otherwise one more attempt counted against every rule."""

    async def peek(self, rule: LimitRule) -> LimitDecision:
        """Whether a hit on this rule alone would be refused now; counts nothing."""

    async def reset(self, *keys: str) -> None: ...

    async def reset_prefix(self, prefix: str) -> int:
        """Delete every counter whose key starts with `prefix`; how many there were. A
        scan: for an admin lifting an account's throttle, never on a request path."""
