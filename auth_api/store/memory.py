"""In-process user store for embedded mode and fast tests. Nothing survives a restart.
It keeps the Mongo adapter's rules: a version per user that guarded writes check, and
the outbox with its pending markers (memory_outbox.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import datetime

from auth_api.errors import EmailAlreadyRegistered, WriteContention
from auth_api.model.events import PendingEvent
from auth_api.model.mail import PendingMail
from auth_api.model.one_time_tokens import StoredToken
from auth_api.model.session import Session
from auth_api.model.user import User
from auth_api.store.account_ports import Welcome
from auth_api.store.memory_accounts import MemoryAccounts
from auth_api.store.memory_outbox import MemoryOutbox
from auth_api.store.ports import (
    BACKLOG_MAX_USERS,
    GUARDED_WRITE_ATTEMPTS,
    BacklogReading,
    Lease,
    LeaseTerms,
    LoginRecord,
    MarkerPage,
    PendingPage,
    UserEvents,
)

# Given a copy of the stored user, the change to apply to the stored one, or None.
Decision = Callable[[User], Callable[[User], None] | None]


class MemoryUserStore(MemoryAccounts):
    """Implements UserStore, SessionStore and Outbox over dicts, like the Mongo adapter,
    and AccountStore and MailOutbox (memory_accounts.py)."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._versions: dict[str, int] = {}
        self._by_email: dict[str, str] = {}
        self._outbox = MemoryOutbox()
        self._tokens: dict[str, dict[str, StoredToken]] = {}
        self._mails: dict[str, list[PendingMail]] = {}

    @property
    def users(self) -> dict[str, User]:
        """The stored users themselves, for the admin adapter (memory_admin.py)."""
        return self._users

    def record(self, user_id: str, events: list[PendingEvent]) -> None:
        if events:
            self._outbox.record(user_id, events)

    async def setup(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def create(self, user: User, event: PendingEvent, welcome: Welcome | None = None) -> None:
        # No await between check and insert: atomic on one event loop.
        if user.email_normalized in self._by_email:
            raise EmailAlreadyRegistered
        self._users[user.id] = copy.deepcopy(user)
        self._versions[user.id] = 0
        self._by_email[user.email_normalized] = user.id
        self._outbox.record(user.id, [event])
        self.record_welcome(user.id, welcome)

    async def find_by_email(self, email_normalized: str) -> User | None:
        user_id = self._by_email.get(email_normalized)
        user = self._users.get(user_id) if user_id else None
        if user is None or user.deleted_at is not None:  # as the Mongo adapter
            return None
        return copy.deepcopy(user)

    async def find_by_id(self, user_id: str) -> User | None:
        user = self._users.get(user_id)
        if user is None:
            return None
        found = copy.deepcopy(user)
        found.sessions = {}  # as the Mongo adapter: /auth/me does not load sessions
        return found

    async def record_login(self, login: LoginRecord) -> bool:
        user = self._users.get(login.user_id)
        if user is None or user.password_hash != login.checked_hash:
            return False
        if not user.is_active or user.deleted_at is not None:
            return False
        user.last_login_at = user.updated_at = login.at
        if login.new_hash is not None:
            user.password_hash = login.new_hash
        for stale in login.stale_session_ids:
            user.sessions.pop(stale, None)
        user.sessions[login.session.id] = login.session
        self._versions[login.user_id] += 1
        self._outbox.record(login.user_id, login.events)
        return True

    async def find_with_sessions(self, user_id: str) -> User | None:
        user = self._users.get(user_id)
        return copy.deepcopy(user) if user else None

    async def sessions_of(self, user_id: str) -> dict[str, Session] | None:
        user = self._users.get(user_id)
        return dict(user.sessions) if user else None

    async def replace_session(self, user_id: str, expected_hash: str, session: Session) -> bool:
        def store_replaced(user: User) -> None:
            user.sessions[session.id] = session

        def decide(user: User) -> Callable[[User], None] | None:
            current = user.sessions.get(session.id)
            if current is None or current.refresh_hash != expected_hash:
                return None
            return store_replaced if current.revoked_at is None else None

        return await self._guarded(user_id, decide)

    async def end_sessions(
        self,
        user_id: str,
        ended: list[Session],
        event: PendingEvent,
        only_if_active: bool,
        more_events: Sequence[PendingEvent] = (),
    ) -> bool:
        def store_ended(user: User) -> None:
            user.sessions.update({s.id: s for s in ended})

        def decide(user: User) -> Callable[[User], None] | None:
            stored = [user.sessions.get(s.id) for s in ended]
            if only_if_active and any(s is None or s.revoked_at is not None for s in stored):
                return None
            return store_ended

        written = await self._guarded(user_id, decide)
        if written:
            self._outbox.record(user_id, [event, *more_events])
        return written

    async def _guarded(self, user_id: str, decide: Decision) -> bool:
        """As the Mongo adapter: decide on a copy, apply only if the version is unchanged."""
        for _ in range(GUARDED_WRITE_ATTEMPTS):
            seen = await self._read_for_update(user_id)
            if seen is None:
                return False
            user, version = seen
            change = decide(user)
            if change is None:
                return False
            if self._versions.get(user_id) == version:
                change(self._users[user_id])
                self._versions[user_id] = version + 1
                return True
        raise WriteContention("memory")

    async def _read_for_update(self, user_id: str) -> tuple[User, int] | None:
        user = self._users.get(user_id)
        return (copy.deepcopy(user), self._versions[user_id]) if user else None

    async def pending(self, limit: int) -> list[UserEvents]:
        return self._outbox.pending_page(limit).batches

    async def pending_page(self, limit: int) -> PendingPage:
        return self._outbox.pending_page(limit)

    async def restore_markers(self, limit: int, after: str = "") -> str | None:
        return self._outbox.restore_markers(limit, after)

    async def pending_of(self, user_id: str) -> UserEvents | None:
        return self._outbox.pending_of(user_id)

    async def mark_delivered(self, user_id: str, events: list[PendingEvent]) -> bool:
        return self._outbox.mark_delivered(user_id, events)

    async def unleased_page(self, limit: int, now: datetime) -> MarkerPage:
        return self._outbox.unleased_page(limit, now)

    async def lease(self, user_id: str, terms: LeaseTerms) -> Lease | None:
        return self._outbox.lease(user_id, terms)

    async def events_of(self, user_ids: list[str]) -> list[UserEvents]:
        return self._outbox.events_of(user_ids)

    async def drop_if_unchanged(self, user_id: str, version: str | None) -> bool:
        return self._outbox.drop_if_unchanged(user_id, version)

    async def release(self, user_id: str, owner: str) -> None:
        self._outbox.release(user_id, owner)

    async def backlog(self) -> tuple[int, datetime | None]:
        reading = self._outbox.read_backlog(BACKLOG_MAX_USERS)
        return reading.events, reading.oldest

    async def read_backlog(self, max_users: int) -> BacklogReading:
        return self._outbox.read_backlog(max_users)
