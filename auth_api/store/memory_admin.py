"""The admin writes and listing over the in-process user store, with the semantics of
the MongoDB adapter (one contract suite runs against both)."""

from __future__ import annotations

import asyncio
import copy
from contextlib import AbstractAsyncContextManager

from auth_api.model.events import PendingEvent
from auth_api.model.user import User
from auth_api.store.admin_ports import Disabling, Enabling, RolesChange, UserQuery
from auth_api.store.memory import MemoryUserStore
from quizauth_wire import ADMIN_ROLE


def matches(user: User, query: UserQuery) -> bool:
    if user.deleted_at is not None:  # a tombstone is nobody to administer
        return False
    key = user.email_normalized
    if not key.startswith(query.email_prefix):
        return False
    if query.after is not None and key <= query.after:
        return False
    if query.role is not None and query.role not in user.roles:
        return False
    return query.disabled is None or query.disabled != user.is_active


class MemoryAdminStore:
    """Implements AdminStore over a MemoryUserStore's users and outbox."""

    def __init__(self, store: MemoryUserStore) -> None:
        self._store = store
        self._removal = asyncio.Lock()  # one process: a lock of its own is enough

    async def list_users(self, query: UserQuery) -> list[User]:
        found = sorted(
            (u for u in self._store.users.values() if matches(u, query)),
            key=lambda u: u.email_normalized,
        )
        listed = [copy.deepcopy(u) for u in found[: query.limit]]
        for user in listed:
            user.sessions = {}
        return listed

    async def change_roles(self, change: RolesChange) -> bool:
        user = self._store.users.get(change.user_id)
        if user is None or user.roles != change.expected:
            return False
        user.roles = frozenset(change.roles)
        user.updated_at = change.at
        self._store.record(change.user_id, [change.event])
        return True

    async def disable(self, disabling: Disabling) -> bool:
        user = self._store.users.get(disabling.user_id)
        if user is None or not user.is_active:
            return False
        user.is_active = False
        user.disabled_at = user.updated_at = disabling.at
        user.disabled_reason = disabling.reason
        user.sessions.update({s.id: s for s in disabling.ended})
        self._store.record(disabling.user_id, disabling.events)
        return True

    async def enable(self, enabling: Enabling) -> bool:
        user = self._store.users.get(enabling.user_id)
        if user is None or user.is_active or user.deleted_at is not None:
            return False
        user.is_active = True
        user.enabled_at = user.updated_at = enabling.at
        user.disabled_at = user.disabled_reason = None
        self._store.record(enabling.user_id, [enabling.event])
        return True

    async def record_events(self, user_id: str, events: list[PendingEvent]) -> bool:
        if user_id not in self._store.users:
            return False
        self._store.record(user_id, events)
        return True

    async def count_admins(self) -> int:
        return sum(1 for u in self._store.users.values() if u.is_active and ADMIN_ROLE in u.roles)

    def admin_removal(self) -> AbstractAsyncContextManager[None]:
        return self._removal
