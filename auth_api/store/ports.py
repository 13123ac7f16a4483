"""What the service needs from a user store. The Mongo adapter and the in-memory twin
both implement it, and one contract test suite runs against each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from auth_api.model.events import PendingEvent
from auth_api.model.session import Session
from auth_api.model.user import User
from auth_api.store.account_ports import Welcome


@dataclass(frozen=True)
class LoginRecord:
    user_id: str
    at: datetime
    event: PendingEvent
    new_hash: str | None
    session: Session
    stale_session_ids: list[str] = field(default_factory=list)
    # Recorded after `event`: the `session.revoked` of sessions the login evicted.
    more_events: list[PendingEvent] = field(default_factory=list)

    @property
    def events(self) -> list[PendingEvent]:
        return [self.event, *self.more_events]


@dataclass(frozen=True)
class UserEvents:
    """One user's undelivered events, oldest first: the unit of in-order delivery."""

    user_id: str
    events: list[PendingEvent]


class UserStore(Protocol):
    async def setup(self) -> None:
        """Create indexes; idempotent."""

    async def ping(self) -> None:
        """Raise DependencyUnavailable when the server cannot be reached."""

    async def create(self, user: User, event: PendingEvent, welcome: Welcome | None = None) -> None:
        """Insert user and its first event (and the verification token and mail)
        atomically; EmailAlreadyRegistered on a duplicate."""

    async def find_by_email(self, email_normalized: str) -> User | None: ...

    async def find_by_id(self, user_id: str) -> User | None: ...

    async def record_login(self, login: LoginRecord) -> None:
        """Set the login time (and an upgraded hash), open the session, drop stale ones,
        and record the events, in one write."""


class SessionStore(Protocol):
    async def find_with_sessions(self, user_id: str) -> User | None:
        """The user with its sessions, or None: what a refresh decides on, in one read."""

    async def sessions_of(self, user_id: str) -> dict[str, Session] | None:
        """The user's sessions, or None when the user does not exist."""

    async def replace_session(self, user_id: str, expected_hash: str, session: Session) -> bool:
        """Compare-and-set: store `session` only if the stored one still has
        `expected_hash` as its refresh hash and is not revoked. The refresh race's arbiter."""

    async def end_sessions(
        self, user_id: str, ended: list[Session], event: PendingEvent, only_if_active: bool
    ) -> bool:
        """Store the ended sessions and record the event in one write. With
        `only_if_active`, nothing is written unless the (single) session is still active."""


class Outbox(Protocol):
    async def pending(self, limit: int) -> list[UserEvents]:
        """Users with undelivered events, each user's events in the order recorded."""

    async def pending_of(self, user_id: str) -> UserEvents | None:
        """One user's undelivered events (None when there are none): a lookup by id."""

    async def mark_delivered(self, user_id: str, events: list[PendingEvent]) -> None:
        """Remove delivered events: a prefix of what `pending` returned, in order.
        Removing an event that is no longer there is harmless."""

    async def backlog(self) -> tuple[int, datetime | None]:
        """Number of undelivered events and the time of the oldest."""
