"""In-process user store for embedded mode and fast tests. Nothing survives a restart."""

from __future__ import annotations

import copy
from datetime import datetime

from auth_api.errors import EmailAlreadyRegistered
from auth_api.model.events import PendingEvent
from auth_api.model.mail import PendingMail
from auth_api.model.one_time_tokens import StoredToken
from auth_api.model.session import Session
from auth_api.model.user import User
from auth_api.store.account_ports import Welcome
from auth_api.store.memory_accounts import MemoryAccounts
from auth_api.store.ports import LoginRecord, UserEvents


class MemoryUserStore(MemoryAccounts):
    """Implements UserStore, SessionStore and Outbox over dicts, like the Mongo adapter,
    and AccountStore and MailOutbox (memory_accounts.py)."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._by_email: dict[str, str] = {}
        self._outbox: dict[str, list[PendingEvent]] = {}
        self._tokens: dict[str, dict[str, StoredToken]] = {}
        self._mails: dict[str, list[PendingMail]] = {}

    async def setup(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def create(self, user: User, event: PendingEvent, welcome: Welcome | None = None) -> None:
        # No await between check and insert: atomic on one event loop.
        if user.email_normalized in self._by_email:
            raise EmailAlreadyRegistered
        self._users[user.id] = copy.deepcopy(user)
        self._by_email[user.email_normalized] = user.id
        self._outbox[user.id] = [event]
        self.record_welcome(user.id, welcome)

    async def find_by_email(self, email_normalized: str) -> User | None:
        user_id = self._by_email.get(email_normalized)
        user = self._users.get(user_id) if user_id else None
        return copy.deepcopy(user) if user else None

    async def find_by_id(self, user_id: str) -> User | None:
        user = self._users.get(user_id)
        if user is None:
            return None
        found = copy.deepcopy(user)
        found.sessions = {}  # as the Mongo adapter: /auth/me does not load sessions
        return found

    async def record_login(self, login: LoginRecord) -> None:
        user = self._users.get(login.user_id)
        if user is None:
            return
        user.last_login_at = user.updated_at = login.at
        if login.new_hash is not None:
            user.password_hash = login.new_hash
        for stale in login.stale_session_ids:
            user.sessions.pop(stale, None)
        user.sessions[login.session.id] = login.session
        self._outbox.setdefault(login.user_id, []).extend(login.events)

    async def find_with_sessions(self, user_id: str) -> User | None:
        user = self._users.get(user_id)
        return copy.deepcopy(user) if user else None

    async def sessions_of(self, user_id: str) -> dict[str, Session] | None:
        user = self._users.get(user_id)
        return dict(user.sessions) if user else None

    async def replace_session(self, user_id: str, expected_hash: str, session: Session) -> bool:
        user = self._users.get(user_id)
        current = user.sessions.get(session.id) if user else None
        if user is None or current is None:
            return False
        if current.refresh_hash != expected_hash or current.revoked_at is not None:
            return False
        user.sessions[session.id] = session
        return True

    async def end_sessions(
        self, user_id: str, ended: list[Session], event: PendingEvent, only_if_active: bool
    ) -> bool:
        user = self._users.get(user_id)
        if user is None:
            return False
        stored = [user.sessions.get(s.id) for s in ended]
        if only_if_active and any(s is None or s.revoked_at is not None for s in stored):
            return False
        for session in ended:
            user.sessions[session.id] = session
        self._outbox.setdefault(user_id, []).append(event)
        return True

    async def pending(self, limit: int) -> list[UserEvents]:
        batches = [UserEvents(uid, list(evs)) for uid, evs in self._outbox.items() if evs]
        return batches[:limit]

    async def pending_of(self, user_id: str) -> UserEvents | None:
        events = self._outbox.get(user_id)
        return UserEvents(user_id, list(events)) if events else None

    async def mark_delivered(self, user_id: str, events: list[PendingEvent]) -> None:
        queue = self._outbox.get(user_id, [])
        for event in events:
            if not queue or queue[0].id != event.id:
                return
            queue.pop(0)

    async def backlog(self) -> tuple[int, datetime | None]:
        events = [e for evs in self._outbox.values() for e in evs]
        oldest = min((e.time for e in events), default=None)
        return len(events), oldest
