"""What a verified access token says: who, which session, and when it was issued and ends."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    jti: str
    session_id: str
    issued_at: int
    expires_at: int
