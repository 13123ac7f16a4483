"""A session service on in-memory twins, with clocks a test moves and a denylist a test
can make fail: revocation timing and ordering, tested without servers or sleeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from auth_api.errors import DependencyUnavailable
from auth_api.model.clock import utc_now
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.session import SessionPolicy
from auth_api.model.user import User, new_user_id
from auth_api.security.memory_stores import ExpiringDict, MemoryRevocationStore
from auth_api.sessions.service import SessionService, TokenPair
from auth_api.store.memory import MemoryUserStore
from auth_api.store.ports import LoginRecord
from auth_api.tokens.access import AccessTokenCodec
from auth_api.tokens.claims import AccessClaims
from auth_api.tokens.keys import KeySet, hmac_key

TTL, LEEWAY = 900, 10


class MovableClock:
    """Wall time for the session service (`now`), and the denylist's monotonic time."""

    def __init__(self) -> None:
        self.wall = utc_now()
        self.elapsed = 0.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.elapsed

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.elapsed += seconds

    def set_wall(self, epoch_seconds: float) -> None:
        self.wall = datetime.fromtimestamp(epoch_seconds, UTC)


class FlakyRevocations(MemoryRevocationStore):
    """The in-memory denylist, whose writes fail while `down` (a Redis outage)."""

    def __init__(self, clock: MovableClock) -> None:
        super().__init__(clock.monotonic)
        self._clock = clock
        self.down = False

    def lose_everything(self) -> None:
        """As a Redis that lost its data: what a failed write leaves, for a retry to redo."""
        self._denied = ExpiringDict(self._clock.monotonic)

    def _check(self) -> None:
        if self.down:
            raise DependencyUnavailable("redis")

    async def revoke(self, jti: str, user_id: str, ttl_seconds: int) -> None:
        self._check()
        await super().revoke(jti, user_id, ttl_seconds)

    async def revoke_sessions(self, user_id: str, session_ids: list[str], ttl_seconds: int) -> None:
        self._check()
        await super().revoke_sessions(user_id, session_ids, ttl_seconds)

    async def revoke_user_tokens(self, user_id: str, before: int, ttl_seconds: int) -> None:
        self._check()
        await super().revoke_user_tokens(user_id, before, ttl_seconds)


@dataclass
class World:
    clock: MovableClock
    store: MemoryUserStore
    revocations: FlakyRevocations
    codec: AccessTokenCodec
    sessions: SessionService
    recorded: list[str] = field(default_factory=list)

    async def user(self) -> User:
        now = self.clock.now()
        user = User(new_user_id(), "p@example.com", "p@example.com", "P", "$x", now, now)
        event = PendingEvent.create(EventType.USER_REGISTERED, user.id, now, {})
        await self.store.create(user, event)
        return user

    async def login(self, user: User) -> tuple[AccessClaims, TokenPair]:
        """What AccountService.login does once the password is checked."""
        current = await self.store.find_by_email(user.email_normalized)
        assert current is not None
        opened = await self.sessions.open(current, "agent")
        now = opened.session.created_at
        event = PendingEvent.create(EventType.USER_LOGGED_IN, user.id, now, {})
        await self.store.record_login(
            LoginRecord(
                user.id,
                now,
                event,
                None,
                opened.session,
                opened.stale_session_ids,
                opened.events,
                checked_hash=current.password_hash,
            )
        )
        # This codec keeps the system clock (the sessions move their own): stamp as it would.
        read_at = utc_now()
        pair = self.sessions.token_pair(current, opened.session, opened.refresh_token, read_at)
        return self.codec.verify(pair.access.token), pair

    async def denied(self, claims: AccessClaims, session_id: str | None = None) -> bool:
        return await self.revocations.is_revoked(
            claims.jti, claims.user_id, session_id or claims.session_id, claims.issued_at
        )

    async def events_of(self, user: User, event_type: str) -> list[PendingEvent]:
        pending = await self.store.pending_of(user.id)
        return [e for e in (pending.events if pending else []) if e.type == event_type]


def world() -> World:
    clock = MovableClock()
    store = MemoryUserStore()
    revocations = FlakyRevocations(clock)
    codec = AccessTokenCodec(KeySet(hmac_key(b"k" * 48)), "quizauth", "quiz", TTL, LEEWAY)
    policy = SessionPolicy(timedelta(days=30), timedelta(days=7), timedelta(seconds=0))
    recorded: list[str] = []
    sessions = SessionService(
        store, codec, revocations, policy, b"r" * 32, recorded.append, clock=clock
    )
    return World(clock, store, revocations, codec, sessions, recorded)
