"""In-process user store for embedded mode and fast tests. Nothing survives a restart."""

from __future__ import annotations

import copy
from datetime import datetime

from auth_api.errors import EmailAlreadyRegistered
from auth_api.events.model import PendingEvent
from auth_api.users.models import User
from auth_api.users.store import UserEvents


class MemoryUserStore:
    """Implements both UserStore and Outbox over dicts, mirroring the Mongo adapter."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._by_email: dict[str, str] = {}
        self._outbox: dict[str, list[PendingEvent]] = {}

    async def setup(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def create(self, user: User, event: PendingEvent) -> None:
        # No await between check and insert: atomic on one event loop.
        if user.email_normalized in self._by_email:
            raise EmailAlreadyRegistered
        self._users[user.id] = copy.deepcopy(user)
        self._by_email[user.email_normalized] = user.id
        self._outbox[user.id] = [event]

    async def find_by_email(self, email_normalized: str) -> User | None:
        user_id = self._by_email.get(email_normalized)
        return await self.find_by_id(user_id) if user_id else None

    async def find_by_id(self, user_id: str) -> User | None:
        user = self._users.get(user_id)
        return copy.deepcopy(user) if user else None

    async def record_login(
        self, user_id: str, at: datetime, event: PendingEvent, new_hash: str | None
    ) -> None:
        user = self._users.get(user_id)
        if user is None:
            return
        user.last_login_at = at
        user.updated_at = at
        if new_hash is not None:
            user.password_hash = new_hash
        self._outbox.setdefault(user_id, []).append(event)

    async def append_event(self, user_id: str, event: PendingEvent) -> None:
        if user_id in self._users:
            self._outbox.setdefault(user_id, []).append(event)

    async def pending(self, limit: int) -> list[UserEvents]:
        batches = [UserEvents(uid, list(evs)) for uid, evs in self._outbox.items() if evs]
        return batches[:limit]

    async def mark_delivered(self, user_id: str, event_ids: list[str]) -> None:
        queue = self._outbox.get(user_id, [])
        for event_id in event_ids:
            if not queue or queue[0].id != event_id:
                return
            queue.pop(0)

    async def backlog(self) -> tuple[int, datetime | None]:
        events = [e for evs in self._outbox.values() for e in evs]
        oldest = min((e.time for e in events), default=None)
        return len(events), oldest
