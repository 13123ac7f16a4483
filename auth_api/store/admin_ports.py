"""What the admin features need from the user store: a paged listing, and the writes
that change a user's roles or state. Each write records its events in the same
single-document update as the change, and is guarded by the state it was decided on,
so a concurrent change makes it a no-op (False) rather than a lost update."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from auth_api.errors import LastAdmin
from auth_api.model.events import PendingEvent
from auth_api.model.session import Session
from auth_api.model.user import User


@dataclass(frozen=True)
class UserQuery:
    """Users in `email_normalized` order (a unique key, so the order is total and stable),
    after the one named by `after`."""

    email_prefix: str = ""
    role: str | None = None
    disabled: bool | None = None
    after: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class RolesChange:
    user_id: str
    expected: frozenset[str]  # the roles the change was decided on
    roles: frozenset[str]
    at: datetime
    event: PendingEvent


@dataclass(frozen=True)
class Disabling:
    user_id: str
    at: datetime
    reason: str
    ended: list[Session]
    events: list[PendingEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Enabling:
    user_id: str
    at: datetime
    event: PendingEvent


class AdminStore(Protocol):
    async def list_users(self, query: UserQuery) -> list[User]:
        """At most `query.limit` users, without their sessions."""

    async def change_roles(self, change: RolesChange) -> bool:
        """Store the roles and record the event, only if the stored roles are still
        `expected`."""

    async def disable(self, disabling: Disabling) -> bool:
        """Mark the user disabled, store the ended sessions and record the events, only if
        the user is active."""

    async def enable(self, enabling: Enabling) -> bool:
        """Mark the user active again and record the event, only if it is disabled."""

    async def record_events(self, user_id: str, events: list[PendingEvent]) -> bool:
        """Record events that follow a change in a write of their own; False when the
        user does not exist."""

    async def count_admins(self) -> int:
        """Active users with the admin role."""

    def admin_removal(self) -> AbstractAsyncContextManager[None]:
        """Held around counting the admins and removing one (a role taken, a disable):
        one such change at a time, on every instance, so that two admins removing each
        other at once cannot both see another admin left. WriteContention when it is not
        had within a few seconds."""


@asynccontextmanager
async def keeping_an_admin(store: AdminStore, removes_an_admin: bool) -> AsyncIterator[None]:
    """Around a write that may remove an admin (a role taken, a disable, a deletion):
    LastAdmin before it when no other would be left. The count and the write happen
    under the store's removal lock, so that two admins removing each other at once are
    decided one after the other, and the refused one is left as it was."""
    if not removes_an_admin:
        yield
        return
    async with store.admin_removal():
        if await store.count_admins() <= 1:
            raise LastAdmin
        yield


def prefix_upper_bound(prefix: str) -> str:
    """The least string above every string that starts with `prefix` (not empty): the
    prefix with its last character moved one up. A range on a unique key, where a
    regular expression would need an index that serves it."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
