"""What the service needs from a user store. The Mongo adapter and the in-memory twin
both implement it, and one contract test suite runs against each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from auth_api.model.events import PendingEvent
from auth_api.model.session import Session
from auth_api.model.user import User
from auth_api.store.account_ports import Welcome

# Guarded writes re-read and decide again when another write to the same user came
# between their read and their write; this many times, then WriteContention.
GUARDED_WRITE_ATTEMPTS = 5
# How many pending markers one backlog reading reads at most: one marker per user.
BACKLOG_MAX_USERS = 1000


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
    _: KW_ONLY
    # The stored hash the password was checked against. The write holds only while it is
    # still stored and the account still live: a reset, a change, a disable or a deletion
    # that came between the check and the write wins, and the login opens nothing.
    checked_hash: str

    @property
    def events(self) -> list[PendingEvent]:
        return [self.event, *self.more_events]


@dataclass(frozen=True)
class UserEvents:
    """One user's undelivered events, oldest first: the unit of in-order delivery."""

    user_id: str
    events: list[PendingEvent]


@dataclass(frozen=True)
class PendingPage:
    """One page of the users marked as having undelivered events. `full`: the page
    held as many markers as asked for, so more may wait."""

    batches: list[UserEvents]
    full: bool


@dataclass(frozen=True)
class MarkerPage:
    """Users whose pending marker no relay holds a lease on, in no particular order.
    `full`: as many as asked for, so more may wait."""

    user_ids: list[str]
    full: bool


@dataclass(frozen=True)
class LeaseTerms:
    """A relay's claim on a user's marker: `owner` alone delivers the user's events until
    `until`, or until it lets go. `now` decides whether another owner's lease expired."""

    owner: str
    now: datetime
    until: datetime


@dataclass(frozen=True)
class Lease:
    """A lease taken. `version` is the marker's `v` when it was taken: a marker found
    without events is dropped only if no event was recorded since."""

    user_id: str
    version: str | None


@dataclass(frozen=True)
class BacklogReading:
    """Undelivered events counted from at most a bounded number of pending markers.
    When `complete` is False more users were pending than were read: `events` is a lower
    bound; `oldest` is still the oldest of all."""

    events: int
    oldest: datetime | None
    complete: bool = True


class UserStore(Protocol):
    async def setup(self) -> None:
        """Create indexes; idempotent."""

    async def ping(self) -> None:
        """Raise DependencyUnavailable when the server cannot be reached."""

    async def create(self, user: User, event: PendingEvent, welcome: Welcome | None = None) -> None:
        """Insert user and its first event (and the verification token and mail)
        atomically; EmailAlreadyRegistered on a duplicate."""

    async def find_by_email(self, email_normalized: str) -> User | None:
        """The live or disabled account with this address; never a deleted one's tombstone."""

    async def find_by_id(self, user_id: str) -> User | None: ...

    async def record_login(self, login: LoginRecord) -> bool:
        """Set the login time (and an upgraded hash), open the session, drop stale ones,
        and record the events, in one write; False, and nothing written, when the account
        no longer has `checked_hash` or is no longer live."""


class SessionStore(Protocol):
    async def find_with_sessions(self, user_id: str) -> User | None:
        """The user with its sessions (and roles and state), or None: what a refresh
        decides on, in one read."""

    async def sessions_of(self, user_id: str) -> dict[str, Session] | None:
        """The user's sessions, or None when the user does not exist."""

    async def replace_session(self, user_id: str, expected_hash: str, session: Session) -> bool:
        """Compare-and-set: store `session` only if the stored one still has
        `expected_hash` as its refresh hash and is not revoked. The refresh race's arbiter."""

    async def end_sessions(
        self,
        user_id: str,
        ended: list[Session],
        event: PendingEvent,
        only_if_active: bool,
        more_events: Sequence[PendingEvent] = (),
    ) -> bool:
        """Store the ended sessions (possibly none) and record the event, then
        `more_events`, in one write. With `only_if_active`, nothing is written unless the
        (single) session is still active."""


class Outbox(Protocol):
    async def pending(self, limit: int) -> list[UserEvents]:
        """Users with undelivered events, each user's events in the order recorded."""

    async def pending_page(self, limit: int) -> PendingPage:
        """Up to `limit` marked users with their events, in no particular order; markers
        found without events (their events went meanwhile) are dropped. Delivered users
        lose their marker, so the next page holds the next users."""

    async def restore_markers(self, limit: int, after: str = "") -> str | None:
        """The backstop: mark up to `limit` users (ids after `after`) holding events but no
        marker, left by an older release or a failed marker write. Reads the user
        collection, so it runs rarely. Returns where to resume, None at the end."""

    async def pending_of(self, user_id: str) -> UserEvents | None:
        """One user's undelivered events (None when there are none): a lookup by id."""

    async def mark_delivered(self, user_id: str, events: list[PendingEvent]) -> bool:
        """Remove delivered events: a prefix of what `pending` returned, in order.
        Removing an event that is no longer there is harmless. True when the marker
        remains: events were recorded meanwhile (or none was removed, so it is unknown)."""

    async def unleased_page(self, limit: int, now: datetime) -> MarkerPage:
        """Up to `limit` marked users on whose marker no lease runs at `now`."""

    async def lease(self, user_id: str, terms: LeaseTerms) -> Lease | None:
        """Take (or extend, for the same owner) the lease on the user's marker, creating
        the marker if it is missing; None when another owner's lease still runs."""

    async def events_of(self, user_ids: list[str]) -> list[UserEvents]:
        """The undelivered events of these users (those that have any), in one read."""

    async def drop_if_unchanged(self, user_id: str, version: str | None) -> bool:
        """Drop the marker if its `v` is still `version`; False when an event came since."""

    async def release(self, user_id: str, owner: str) -> None:
        """Let go of the lease, if `owner` still holds it: another relay may deliver."""

    async def backlog(self) -> tuple[int, datetime | None]:
        """Number of undelivered events and the time of the oldest (read_backlog with
        the default bound)."""

    async def read_backlog(self, max_users: int) -> BacklogReading:
        """The backlog from the pending markers, reading at most `max_users` of them."""


class KeyStore(Protocol):
    async def keep_first(self, key_id: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The document stored under `key_id`; when there is none, `make()`'s, stored
        unless a concurrent first start stored its own first (then that one)."""
