"""The in-process twin of mongo_outbox.py: each user's events in order, and one pending
marker per user with undelivered events, kept by the same rules (see that module)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from auth_api.model.events import PendingEvent
from auth_api.store.ports import BACKLOG_MAX_USERS, BacklogReading, PendingPage, UserEvents


@dataclass
class Marker:
    v: str  # id of the event recorded last
    n: int  # events recorded minus events removed
    since: datetime  # oldest event recorded while the marker existed


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

    def mark_delivered(self, user_id: str, events: list[PendingEvent]) -> None:
        queue = self.events.get(user_id, [])
        removed: list[PendingEvent] = []
        for event in events:
            if not queue or queue[0].id != event.id:
                break
            removed.append(queue.pop(0))
        marker = self.markers.get(user_id)
        if removed and marker is not None:
            marker.n -= len(removed)
            marker.since = max(marker.since, removed[-1].time)
            if marker.n <= 0:
                del self.markers[user_id]

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
