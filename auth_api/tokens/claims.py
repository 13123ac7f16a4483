"""What a verified access token says: who, which session, and when it was issued and ends."""

from __future__ import annotations

from dataclasses import dataclass

from auth_api.model.clock import SYSTEM_CLOCK, Clock


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    jti: str
    session_id: str
    issued_at: int
    expires_at: int

    def remaining_seconds(self, clock: Clock = SYSTEM_CLOCK) -> int:
        return max(0, self.expires_at - int(clock.now().timestamp()))
