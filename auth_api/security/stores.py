"""What the service needs from Redis: token revocation and rate-limit counters.
The Redis adapters and the in-memory twins both implement these protocols."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class LimitRule:
    """At most `limit` hits on `key` per fixed window of `window_seconds`."""

    key: str
    limit: int
    window_seconds: int


@dataclass(frozen=True)
class LimitDecision:
    allowed: bool
    retry_after_seconds: int = 0


class RevocationStore(Protocol):
    async def ping(self) -> None: ...

    async def revoke(self, jti: str, ttl_seconds: int) -> None:
        """Deny this token id until the token would have expired anyway."""

    async def is_revoked(self, jti: str, user_id: str, session_id: str, issued_at: int) -> bool:
        """One round trip: the token's own denial, its session's, and the user's
        valid-after time."""

    async def revoke_sessions(self, session_ids: list[str], ttl_seconds: int) -> None:
        """Deny every access token issued within these sessions."""

    async def revoke_user_tokens(self, user_id: str, before: int, ttl_seconds: int) -> None:
        """Deny every token of this user issued before `before` (seconds since epoch)."""


class RateLimiter(Protocol):
    async def hit(self, rules: list[LimitRule]) -> LimitDecision:
        """Count one attempt against every rule atomically; refused if any is over."""

    async def reset(self, key: str) -> None: ...
