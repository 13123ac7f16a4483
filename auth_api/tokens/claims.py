"""What a verified access token says: who, which session, with which roles and scopes,
and when it was issued and ends."""

from __future__ import annotations

from dataclasses import dataclass, field

from auth_api.model.user import DEFAULT_ROLES


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    jti: str
    session_id: str
    issued_at: int
    expires_at: int
    roles: frozenset[str] = DEFAULT_ROLES
    scopes: frozenset[str] = field(default_factory=frozenset)
