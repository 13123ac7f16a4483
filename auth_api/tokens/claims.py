"""What a verified access token says: who, which session, and when it was issued and ends."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    jti: str
    session_id: str
    issued_at: int
    expires_at: int

    def remaining_seconds(self) -> int:
        return max(0, self.expires_at - int(time.time()))
