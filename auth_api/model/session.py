"""Sessions and their refresh tokens.

A session is one login on one device. Its refresh token rotates on every use; the
session keeps the hash of the current token and of recently spent ones, so a spent
token presented again is recognised as theft and ends the session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

# A user's session map is bounded: the oldest sessions are ended beyond this.
MAX_SESSIONS_PER_USER = 20
# Enough spent hashes to recognise the tokens an attacker could plausibly hold.
SPENT_HASHES_KEPT = 20
SECRET_BYTES = 32  # 256 random bits
# The User-Agent header is client-controlled: a session stores at most this much of it.
MAX_USER_AGENT_LENGTH = 256


@dataclass(frozen=True)
class SessionPolicy:
    absolute_lifetime: timedelta
    idle_timeout: timedelta
    reuse_grace: timedelta


@dataclass(frozen=True)
class Session:
    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str
    refresh_hash: str
    generation: int = 0
    previous_hash: str | None = None
    rotated_at: datetime | None = None
    spent_hashes: tuple[str, ...] = field(default_factory=tuple)
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    def deadline(self, policy: SessionPolicy) -> datetime:
        """When the session ends unless used: its absolute expiry or its idle timeout."""
        return min(self.expires_at, self.last_used_at + policy.idle_timeout)

    def is_active(self, now: datetime, policy: SessionPolicy) -> bool:
        return self.revoked_at is None and now < self.deadline(policy)

    def rotated(self, new_hash: str, now: datetime, user_agent: str) -> Session:
        spent = (*self.spent_hashes, self.refresh_hash)[-SPENT_HASHES_KEPT:]
        return replace(
            self,
            refresh_hash=new_hash,
            previous_hash=self.refresh_hash,
            rotated_at=now,
            last_used_at=now,
            generation=self.generation + 1,
            spent_hashes=spent,
            user_agent=user_agent or self.user_agent,
        )

    def revoked(self, now: datetime, reason: str) -> Session:
        return replace(self, revoked_at=now, revoked_reason=reason)


@dataclass(frozen=True)
class RefreshToken:
    """`<user id>.<session id>.<secret>`: opaque to clients, only its hash is stored."""

    user_id: str
    session_id: str
    secret: str

    def __str__(self) -> str:
        return f"{self.user_id}.{self.session_id}.{self.secret}"

    @property
    def hash(self) -> str:
        return hash_secret(self.secret)

    @classmethod
    def parse(cls, raw: str) -> RefreshToken | None:
        parts = raw.split(".")
        if len(parts) != 3 or not all(parts) or len(raw) > 256:
            return None
        return cls(*parts)


def hash_secret(secret: str) -> str:
    # A plain digest suffices: the secret has 256 random bits, nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def new_session_id() -> str:
    return secrets.token_hex(12)  # also a safe MongoDB field name: no dots, no '$'


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def next_secret(key: bytes, session_id: str, generation: int, spent_secret: str) -> str:
    """The secret that replaces `spent_secret`. Deterministic, so that a client retrying
    a refresh whose response was lost receives the same token within the grace period,
    instead of a second rotation. Unpredictable without both the spent secret and the key."""
    message = f"{session_id}:{generation}:{spent_secret}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
