"""Sessions: opened at login, refreshed with rotating tokens, ended one by one or all
together. Framework-free, like every service.

Ending a session writes its denial to Redis *before* its end to MongoDB. If Redis
fails, nothing has ended and the request answers 503; its retry does everything again.
If MongoDB fails after the denial, the request answers 503 with the access tokens
already dead, and the session (its refresh token) ends when the end is retried. A
session already ended in MongoDB is denied again whenever its end is requested again
(a retried DELETE, a spent refresh token presented again): no retry is a no-op."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from auth_api.errors import (
    DependencyUnavailable,
    InvalidRefreshToken,
    NotAuthenticated,
    RefreshTokenReused,
    SessionNotFound,
    WriteContention,
)
from auth_api.model.clock import SYSTEM_CLOCK, Clock
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.session import (
    MAX_SESSIONS_PER_USER,
    MAX_USER_AGENT_LENGTH,
    RefreshToken,
    Session,
    SessionPolicy,
    new_secret,
    new_session_id,
    next_secret,
)
from auth_api.model.user import User
from auth_api.security.stores import RevocationStore
from auth_api.store.ports import GUARDED_WRITE_ATTEMPTS, SessionStore
from auth_api.tokens.access import AccessTokenCodec, IssuedToken
from auth_api.tokens.claims import AccessClaims
from quizauth_wire import RevocationReason, valid_after_value

audit = logging.getLogger("auth_api.audit")


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh_token: str
    refresh_expires_in: int


@dataclass(frozen=True)
class OpenedSession:
    """A login's new session, and what the login's write must also do: drop the stale
    sessions and record the events of those it ended (already denied in Redis)."""

    session: Session
    refresh_token: RefreshToken
    stale_session_ids: list[str]
    events: list[PendingEvent]


class SessionService:
    def __init__(
        self,
        store: SessionStore,
        tokens: AccessTokenCodec,
        revocations: RevocationStore,
        policy: SessionPolicy,
        rotation_key: bytes,
        on_event_recorded: Callable[[str], None],
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._clock = clock
        self._store = store
        self._tokens = tokens
        self._revocations = revocations
        self._policy = policy
        self._rotation_key = rotation_key
        self._on_event_recorded = on_event_recorded

    async def open(self, user: User, user_agent: str) -> OpenedSession:
        """A new session for a login; persisted by the login's own write. Sessions beyond
        the per-user cap are evicted like a logout: denied here, before that write, and
        reported by a `session.revoked` event (reason `evicted`) recorded with it."""
        now = self._clock.now()
        secret = new_secret()
        session_id = new_session_id()
        token = RefreshToken(user.id, session_id, secret)
        session = Session(
            id=session_id,
            created_at=now,
            last_used_at=now,
            expires_at=now + self._policy.absolute_lifetime,
            user_agent=user_agent[:MAX_USER_AGENT_LENGTH],
            refresh_hash=token.hash,
        )
        stale, over_cap = self._stale_sessions(user, now)
        evicted = await self._evict(user.id, over_cap)
        events = [session_revoked_event(user.id, evicted, RevocationReason.EVICTED, now)]
        return OpenedSession(session, token, stale + evicted, events if evicted else [])

    async def _evict(self, user_id: str, over_cap: list[str]) -> list[str]:
        """The sessions to end for the cap, once denied. Without Redis none is evicted
        this time (the user briefly holds one session more): a login stays possible
        during a Redis outage, and no session ever disappears with its tokens alive."""
        if not over_cap:
            return []
        try:
            await self._deny_sessions(user_id, over_cap)
        except DependencyUnavailable:
            audit.warning(
                "session cap not enforced: Redis unavailable",
                extra={"audit": "eviction_deferred", "user_id": user_id},
            )
            return []
        audit.info(
            "sessions revoked",
            extra={"audit": "session_revoked", "reason": RevocationReason.EVICTED},
        )
        return over_cap

    def token_pair(
        self, user: User, session: Session, refresh: RefreshToken, as_of: datetime
    ) -> TokenPair:
        """`as_of`: when `user` (its roles) was read; the access token's issue time."""
        access = self._tokens.issue(user.id, session.id, user.roles, as_of, user.email_verified)
        return TokenPair(access, str(refresh), self._refresh_expires_in(session))

    async def refresh(self, raw_token: str, user_agent: str) -> TokenPair:
        token = RefreshToken.parse(raw_token)
        if token is None:
            raise InvalidRefreshToken
        # A lost compare-and-set means another refresh of this token won: deciding again
        # against what it stored ends in a replay or a refusal, not in another attempt.
        # Bounded all the same, so that no stored state can keep a request looping.
        for _ in range(GUARDED_WRITE_ATTEMPTS):
            pair = await self._refresh_once(token, user_agent)
            if pair is not None:
                return pair
        raise WriteContention("mongodb")

    async def _refresh_once(self, token: RefreshToken, user_agent: str) -> TokenPair | None:
        """The new pair; None when a concurrent write won the rotation's compare-and-set."""
        read_at = self._clock.now()
        user = await self._store.find_with_sessions(token.user_id)
        session = user.sessions.get(token.session_id) if user else None
        if user is None or session is None:
            raise InvalidRefreshToken
        if not user.may_refresh(session):  # disabled, or opened before a re-enable
            raise InvalidRefreshToken
        now = self._clock.now()
        presented = token.hash
        if presented == session.refresh_hash and session.is_active(now, self._policy):
            return await self._rotate(token, user, session, user_agent, read_at)
        if self._is_grace_retry(session, presented, now):
            return self._replay(token, user, session, read_at)
        if presented == session.previous_hash or presented in session.spent_hashes:
            await self._end_for_reuse(token.user_id, session)
            raise RefreshTokenReused
        raise InvalidRefreshToken

    async def _rotate(
        self, token: RefreshToken, user: User, session: Session, user_agent: str, read_at: datetime
    ) -> TokenPair | None:
        successor = self._successor(token, session.generation + 1)
        rotated = session.rotated(
            successor.hash, self._clock.now(), user_agent[:MAX_USER_AGENT_LENGTH]
        )
        if not await self._store.replace_session(token.user_id, token.hash, rotated):
            return None
        audit.info("refresh", extra={"audit": "refresh", "user_id": token.user_id})
        return self.token_pair(user, rotated, successor, read_at)

    def _is_grace_retry(self, session: Session, presented: str, now: datetime) -> bool:
        if presented != session.previous_hash or session.rotated_at is None:
            return False
        within = now - session.rotated_at < self._policy.reuse_grace  # 0 turns it off
        return within and session.is_active(now, self._policy)

    def _replay(
        self, token: RefreshToken, user: User, session: Session, read_at: datetime
    ) -> TokenPair:
        """The same successor the winner got: a retry, not a second rotation."""
        successor = self._successor(token, session.generation)
        if successor.hash != session.refresh_hash:
            raise InvalidRefreshToken
        return self.token_pair(user, session, successor, read_at)

    def _successor(self, token: RefreshToken, generation: int) -> RefreshToken:
        secret = next_secret(self._rotation_key, token.session_id, generation, token.secret)
        return RefreshToken(token.user_id, token.session_id, secret)

    async def _end_for_reuse(self, user_id: str, session: Session) -> None:
        audit.warning(
            "refresh token reuse",
            extra={"audit": "refresh_token_reuse", "user_id": user_id, "session_id": session.id},
        )
        await self.end(user_id, [session], reason=RevocationReason.REFRESH_TOKEN_REUSE)

    async def end(
        self,
        user_id: str,
        sessions: list[Session],
        reason: RevocationReason,
        more_events: Sequence[PendingEvent] = (),
    ) -> bool:
        """Deny the sessions' access tokens, then end the active ones; one event records
        it, written with `more_events`. Sessions already ended are denied again: this may
        be the retry of an end whose denial failed."""
        await self._deny_sessions(user_id, [s.id for s in sessions])
        now = self._clock.now()
        active = [s for s in sessions if s.revoked_at is None]
        events = list(more_events)
        if active:
            events.append(session_revoked_event(user_id, [s.id for s in active], reason, now))
        if not events:
            return False
        ended = [s.revoked(now, reason) for s in active]
        # Unguarded when more events ride along: they must be recorded whatever a
        # concurrent end of the same single session did meanwhile.
        guarded = len(ended) == 1 and not more_events
        changed = await self._record_end(user_id, ended, events, only_if_active=guarded)
        if changed and active:
            audit.info("sessions revoked", extra={"audit": "session_revoked", "reason": reason})
        return changed

    async def _deny_sessions(self, user_id: str, session_ids: list[str]) -> None:
        await self._revocations.revoke_sessions(user_id, session_ids, self._tokens.denial_seconds())

    async def _record_end(
        self, user_id: str, ended: list[Session], events: list[PendingEvent], only_if_active: bool
    ) -> bool:
        """Store the ended sessions with their events; their denial is already written."""
        first, *more = events
        changed = await self._store.end_sessions(
            user_id, ended, first, only_if_active, more_events=more
        )
        if changed:
            self._on_event_recorded(user_id)
        return changed

    async def end_current(self, claims: AccessClaims) -> None:
        """Logout: this access token and its session's refresh token stop working."""
        ttl = self._tokens.denial_seconds(claims.expires_at)
        await self._revocations.revoke(claims.jti, claims.user_id, ttl)
        await self._deny_sessions(claims.user_id, [claims.session_id])
        sessions = await self._store.sessions_of(claims.user_id) or {}
        session = sessions.get(claims.session_id)
        if session is not None:
            await self._end_logged_out(claims, session)
        audit.info(
            "logout",
            extra={"audit": "logout", "user_id": claims.user_id, "session_id": claims.session_id},
        )

    async def _end_logged_out(self, claims: AccessClaims, session: Session) -> None:
        now = self._clock.now()
        event = PendingEvent.create(
            EventType.USER_LOGGED_OUT,
            claims.user_id,
            now,
            {
                "user_id": claims.user_id,
                "session_id": session.id,
                "logged_out_at": now,
                "scope": "session",
            },
        )
        ended = session.revoked(now, RevocationReason.LOGOUT)
        await self._record_end(claims.user_id, [ended], [event], only_if_active=True)

    async def end_by_refresh_token(self, raw_token: str) -> bool:
        """Revocation of a refresh token (RFC 7009): its session ends, and with it every
        access token issued in it. False when no live session ended: for anything that is
        not a session's current refresh token (a spent one included: it is already dead),
        nothing changes; for the current token of an ended session, its denial is written
        again, as every repeated end does."""
        token = RefreshToken.parse(raw_token)
        if token is None:
            return False
        sessions = await self._store.sessions_of(token.user_id) or {}
        session = sessions.get(token.session_id)
        if session is None or session.refresh_hash != token.hash:
            return False
        return await self.end(token.user_id, [session], reason=RevocationReason.REVOKED)

    async def end_all(self, claims: AccessClaims) -> None:
        """Logout everywhere, asked by the user."""
        await self.end_all_of(claims.user_id, RevocationReason.LOGOUT_ALL)

    async def end_all_of(self, user_id: str, reason: RevocationReason) -> int:
        """Every token issued up to now fails (the valid-after time, written first), then
        every session ends. `user.tokens_revoked` carries the same cut-off to the
        services that follow revocations by events; it is recorded even when no session
        was left to end, since tokens may outlive their session. Returns the cut-off."""
        now = self._clock.now()
        valid_after = valid_after_value(now.timestamp())
        await self._revocations.revoke_user_tokens(
            user_id, before=valid_after, ttl_seconds=self._tokens.denial_seconds()
        )
        cut_off = tokens_revoked_event(user_id, valid_after, reason, now)
        sessions = await self._store.sessions_of(user_id) or {}
        await self.end(user_id, list(sessions.values()), reason, more_events=[cut_off])
        return valid_after

    async def end_one(self, claims: AccessClaims, session_id: str) -> None:
        """End one of the caller's sessions. Idempotent: ending an ended session denies
        it again and succeeds; only a session that is not the caller's, or that expired
        without being ended, is not found."""
        sessions = await self._store.sessions_of(claims.user_id) or {}
        session = sessions.get(session_id)
        if session is None:
            raise SessionNotFound
        if session.revoked_at is None and not session.is_active(self._clock.now(), self._policy):
            raise SessionNotFound
        await self.end(claims.user_id, [session], reason=RevocationReason.ENDED_BY_USER)

    async def active(self, user_id: str) -> list[Session]:
        sessions = await self._store.sessions_of(user_id)
        if sessions is None:
            raise NotAuthenticated
        now = self._clock.now()
        live = [s for s in sessions.values() if s.is_active(now, self._policy)]
        return sorted(live, key=lambda s: s.last_used_at, reverse=True)

    def _stale_sessions(self, user: User, now: datetime) -> tuple[list[str], list[str]]:
        """Ended or expired sessions to drop, and the least recently used live ones
        beyond the per-user cap, which must be ended."""
        live: list[Session] = []
        stale: list[str] = []
        for session in user.sessions.values():
            if session.is_active(now, self._policy):
                live.append(session)
            else:
                stale.append(session.id)
        live.sort(key=lambda s: s.last_used_at)
        excess = len(live) + 1 - MAX_SESSIONS_PER_USER
        return stale, [s.id for s in live[: max(0, excess)]]

    def _refresh_expires_in(self, session: Session) -> int:
        remaining = session.deadline(self._policy) - self._clock.now()
        return max(0, int(remaining.total_seconds()))


def session_revoked_event(
    user_id: str, session_ids: list[str], reason: RevocationReason, at: datetime
) -> PendingEvent:
    data = {"user_id": user_id, "session_ids": session_ids, "reason": reason, "revoked_at": at}
    return PendingEvent.create(EventType.SESSION_REVOKED, user_id, at, data)


def tokens_revoked_event(
    user_id: str, valid_after: int, reason: RevocationReason, at: datetime
) -> PendingEvent:
    """`valid_after` as in the Redis valid-after key: tokens issued before it are dead."""
    data = {"user_id": user_id, "valid_after": valid_after, "reason": reason}
    return PendingEvent.create(EventType.USER_TOKENS_REVOKED, user_id, at, data)
