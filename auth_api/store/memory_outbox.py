"""The in-process twin of mongo_outbox.py: each user's events in order, and one pending
marker per user with undelivered events, kept by the same rules (see that module)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from auth_api.model.events import PendingEvent
from auth_api.store.ports import (
    BACKLOG_MAX_USERS,
    BacklogReading,
    Lease,
    LeaseTerms,
    MarkerPage,
    PendingPage,
    UserEvents,
)


@dataclass
class Marker:
    v: str | None  # id of the event recorded last; None for a marker a lease made
    n: int  # events recorded minus events removed
    since: datetime  # oldest event recorded while the marker existed
    lease_owner: str | None = None
    lease_until: datetime | None = None

    def is_free(self, now: datetime) -> bool:
        return self.lease_until is None or self.lease_until <= now


class MemoryOutbox:
    def __init__(self) -> None:
        self.events: dict[str, list[PendingEvent]] = {}
        self.markers: dict[str, Marker] = {}

    def record(self, user_id: str, events: Sequence[PendingEvent]) -> None:
        """The events one write recorded, in order, and the user's marker."""
        self.events.setdefault(user_id, []).extend(events)
        since = min(e.time for e in events)
        marker = self.markers.get(user_id)
        if marker is None:
            self.markers[user_id] = Marker(events[-1].id, len(events), since)
        else:
            marker.v, marker.n = events[-1].id, marker.n + len(events)
            marker.since = min(marker.since, since)

    def pending_page(self, limit: int) -> PendingPage:
        user_ids = list(itertools.islice(self.markers, limit))
        batches = []
        for user_id in user_ids:
            events = self.events.get(user_id)
            if events:
                batches.append(UserEvents(user_id, list(events)))
            else:  # nothing left to deliver: a stale marker
                del self.markers[user_id]
        return PendingPage(batches, full=len(user_ids) == limit)

    def pending_of(self, user_id: str) -> UserEvents | None:
        events = self.events.get(user_id)
        return UserEvents(user_id, list(events)) if events else None

    def mark_delivered(self, user_id: str, events: list[PendingEvent]) -> bool:
        queue = self.events.get(user_id, [])
        removed: list[PendingEvent] = []
        for event in events:
            if not queue or queue[0].id != event.id:
                break
            removed.append(queue.pop(0))
        marker = self.markers.get(user_id)
        if not removed:
            return True
        if marker is None:
            return False
        marker.n -= len(removed)
        marker.since = max(marker.since, removed[-1].time)
        if marker.n <= 0:
            del self.markers[user_id]
            return False
        return True

    def unleased_page(self, limit: int, now: datetime) -> MarkerPage:
        free = (uid for uid, marker in self.markers.items() if marker.is_free(now))
        user_ids = list(itertools.islice(free, limit))
        return MarkerPage(user_ids, full=len(user_ids) == limit)

    def lease(self, user_id: str, terms: LeaseTerms) -> Lease | None:
        marker = self.markers.get(user_id)
        if marker is None:
            marker = self.markers[user_id] = Marker(None, 0, terms.now)
        elif not (marker.is_free(terms.now) or marker.lease_owner == terms.owner):
            return None
        marker.lease_owner, marker.lease_until = terms.owner, terms.until
        return Lease(user_id, marker.v)

    def events_of(self, user_ids: list[str]) -> list[UserEvents]:
        return [UserEvents(uid, list(self.events[uid])) for uid in user_ids if self.events.get(uid)]

    def drop_if_unchanged(self, user_id: str, version: str | None) -> bool:
        marker = self.markers.get(user_id)
        if marker is None or marker.v != version:
            return False
        del self.markers[user_id]
        return True

    def release(self, user_id: str, owner: str) -> None:
        marker = self.markers.get(user_id)
        if marker is not None and marker.lease_owner == owner:
            marker.lease_owner = marker.lease_until = None

    def restore_markers(self, limit: int, after: str = "") -> str | None:
        pending = sorted(uid for uid, events in self.events.items() if events and uid > after)
        page = pending[:limit]
        for user_id in page:
            events = self.events[user_id]
            if user_id not in self.markers:
                self.markers[user_id] = Marker(events[-1].id, len(events), events[0].time)
        return page[-1] if len(page) == limit else None

    def read_backlog(self, max_users: int = BACKLOG_MAX_USERS) -> BacklogReading:
        read = list(itertools.islice(self.markers.values(), max_users))
        counted = [m for m in read if m.n > 0]
        events = sum(m.n for m in counted)
        if len(read) < max_users:
            return BacklogReading(events, min((m.since for m in counted), default=None))
        # In process, without I/O: the oldest of all is a walk over the markers.
        oldest = min(m.since for m in self.markers.values())
        return BacklogReading(events, oldest, complete=False)
