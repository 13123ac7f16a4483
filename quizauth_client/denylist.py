"""What a verifier asks of a revocation source, whichever it is: the auth service's
Redis (quizauth_client.revocation) or the revocation events on Kafka
(quizauth_client.events_mode). Neither dependency is imported here."""

from __future__ import annotations

from typing import Protocol


class DenylistUnavailable(Exception):
    """Whether the token is revoked cannot be known now: the verifier answers 503 (retry
    later), never a 401 that would log the player out, never an unchecked acceptance."""


class Denylist(Protocol):
    async def is_revoked(self, jti: str, user_id: str, session_id: str, issued_at: int) -> bool:
        """Whether the token is denied; DenylistUnavailable when that cannot be known."""
