"""The outbox side of the MongoDB user store. Events live in the user's own document
(see mongo.py); a small `outbox_pending` collection holds one marker per user with
undelivered events, so that nothing periodic reads the user collection:

    {_id: user id, v: id of the event recorded last, n: events recorded minus events
     removed, since: time of the oldest event recorded while the marker existed}

The order of the writes keeps the markers right without transactions:
- A writer writes the user document (the state change and its event) first, then bumps
  the marker. Only a crash between the two leaves an event without a marker; the rare
  backstop sweep (`restore_markers`) finds those, and those an older release left.
- A reader drops a marker it found without events only if `v` is still the value it read
  before reading the events: an event written after that read sets `v` to its own id,
  never seen before, or recreates the marker after the drop.
- Removing delivered events decrements `n`; at zero the marker is dropped under the same
  guard on `v`.

With several API processes, a relay delivers a user's events only while it holds the
lease on that user's marker (`lease_owner`, `lease_until`), taken by one atomic
find-and-modify that matches only a free, expired or already owned lease. So one relay at
a time publishes a user's events, in order, and an event is published twice only when a
relay dies (or stalls past its lease) between publishing it and removing it.

Every marker filter pins `_id` (`{_id}`, `{_id, v}`, `{_id, lease...}`): the stand-in
answers those from a unique index too (infra/mongo/MongoWireServer.java).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

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

log = logging.getLogger(__name__)
Document = dict[str, Any]
MARKERS = "outbox_pending"


class MongoOutbox:
    def __init__(self, users: AsyncCollection[Document], markers: AsyncCollection[Document]):
        self._users = users
        self._markers = markers

    async def setup(self) -> None:
        # Serves the guarded drop {_id, v} on servers that use no index but an exact one.
        await self._markers.create_index(
            [("_id", ASCENDING), ("v", ASCENDING)], unique=True, name="id_version_unique"
        )
        # The oldest marker, for the backlog's age when there are too many to read.
        await self._markers.create_index([("since", ASCENDING)], name="since")
        # The backstop's search for events without a marker: only users with pending
        # events have an outbox.id, so MongoDB reads those alone.
        await self._users.create_index(
            [("outbox.id", ASCENDING)], sparse=True, name="outbox_pending"
        )

    async def recorded(self, user_id: str, events: Sequence[PendingEvent]) -> None:
        """Mark the user as having undelivered events (those one write recorded, in
        order); called once that write succeeded.
        A failure here is logged, not raised: the event is stored, the relay's hint
        delivers it, and the backstop marks it if that fails too."""
        update = {
            "$set": {"v": events[-1].id},
            "$inc": {"n": len(events)},
            "$min": {"since": min(e.time for e in events)},
        }
        try:
            await self._upsert(user_id, update)
        except PyMongoError as exc:
            log.warning("outbox: marker of user %s not written: %s", user_id, exc)

    async def _upsert(self, user_id: str, update: Document) -> None:
        try:
            await self._markers.update_one({"_id": user_id}, update, upsert=True)
        except DuplicateKeyError:
            # Two first events of one user raced to insert the marker; now it exists.
            await self._markers.update_one({"_id": user_id}, update, upsert=True)

    async def pending_page(self, limit: int) -> PendingPage:
        # No sort: a server without a usable index (the stand-in) would sort every
        # marker for each page; unsorted, it stops after `limit`.
        markers = await self._markers.find({}, {"v": 1}).limit(limit).to_list()
        outboxes = await self._outboxes([m["_id"] for m in markers]) if markers else {}
        batches = []
        for marker in markers:
            events = outboxes.get(marker["_id"])
            if events:
                batches.append(UserEvents(marker["_id"], events))
            else:
                await self._drop(marker["_id"], marker.get("v"))
        return PendingPage(batches, full=len(markers) == limit)

    async def _outboxes(self, user_ids: list[str]) -> dict[str, list[PendingEvent]]:
        # One $in on _id alone: the stand-in and MongoDB answer it from the _id index;
        # FerretDB reads the collection for it, which is still cheaper there than as
        # many single reads.
        docs = await self._users.find({"_id": {"$in": user_ids}}, {"outbox": 1}).to_list()
        return {doc["_id"]: events_of(doc) for doc in docs}

    async def pending_of(self, user_id: str) -> UserEvents | None:
        doc = await self._users.find_one({"_id": user_id}, {"outbox": 1})
        events = events_of(doc or {})
        return UserEvents(user_id, events) if events else None

    async def mark_delivered(self, user_id: str, events: list[PendingEvent]) -> bool:
        removed = [event for event in events if await self._remove(user_id, event)]
        if not removed:
            return True
        return await self._settle(user_id, len(removed), removed[-1].time)

    async def unleased_page(self, limit: int, now: datetime) -> MarkerPage:
        free = {"$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]}
        markers = await self._markers.find(free, {"_id": 1}).limit(limit).to_list()
        return MarkerPage([m["_id"] for m in markers], full=len(markers) == limit)

    async def lease(self, user_id: str, terms: LeaseTerms) -> Lease | None:
        takeable = [
            {"lease_until": None},
            {"lease_until": {"$lte": terms.now}},
            {"lease_owner": terms.owner},
        ]
        update = {
            "$set": {"lease_owner": terms.owner, "lease_until": terms.until},
            # A marker made here (its writer's marker write failed) counts no event.
            "$setOnInsert": {"n": 0, "since": terms.now},
        }
        try:
            marker = await self._markers.find_one_and_update(
                {"_id": user_id, "$or": takeable},
                update,
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return None  # the marker exists and another relay's lease runs
        return Lease(user_id, (marker or {}).get("v"))

    async def events_of(self, user_ids: list[str]) -> list[UserEvents]:
        outboxes = await self._outboxes(user_ids) if user_ids else {}
        return [UserEvents(uid, events) for uid, events in outboxes.items() if events]

    async def drop_if_unchanged(self, user_id: str, version: str | None) -> bool:
        return await self._drop(user_id, version)

    async def release(self, user_id: str, owner: str) -> None:
        await self._markers.update_one(
            {"_id": user_id, "lease_owner": owner},
            {"$unset": {"lease_owner": "", "lease_until": ""}},
        )

    async def _remove(self, user_id: str, event: PendingEvent) -> bool:
        """Remove exactly this event, by its whole value under a bare `_id` filter: harmless
        to repeat, and a concurrent $push is untouched. When the stored value differs
        from ours (written by another release, say), remove the stored value instead."""
        if await self._pull(user_id, event.to_document()):
            return True
        stored = await self._stored_form(user_id, event.id)
        return stored is not None and await self._pull(user_id, stored)

    async def _pull(self, user_id: str, value: Document) -> bool:
        result = await self._users.update_one({"_id": user_id}, {"$pullAll": {"outbox": [value]}})
        return result.modified_count == 1

    async def _stored_form(self, user_id: str, event_id: str) -> Document | None:
        doc = await self._users.find_one({"_id": user_id}, {"outbox": 1})
        stored = (doc or {}).get("outbox") or []
        return next((e for e in stored if e.get("id") == event_id), None)

    async def _settle(self, user_id: str, removed: int, last_removed: datetime) -> bool:
        # What is left was recorded after the last removed event: its time becomes the
        # marker's lower bound of the oldest.
        marker = await self._markers.find_one_and_update(
            {"_id": user_id},
            {"$inc": {"n": -removed}, "$max": {"since": last_removed}},
            # No projection: FerretDB refuses one here, and a marker is four fields.
            return_document=ReturnDocument.AFTER,
        )
        if marker is None:
            return False
        if marker.get("n", 0) <= 0:
            return not await self._drop(user_id, marker.get("v"))
        return True

    async def _drop(self, user_id: str, seen_version: object) -> bool:
        result = await self._markers.delete_one({"_id": user_id, "v": seen_version})
        return result.deleted_count == 1

    async def restore_markers(self, limit: int, after: str = "") -> str | None:
        query: Document = {"outbox.id": {"$exists": True}}
        if after:
            query["_id"] = {"$gt": after}
        cursor = self._users.find(query, {"_id": 1}).sort("_id", ASCENDING).limit(limit)
        user_ids = [doc["_id"] for doc in await cursor.to_list()]
        if user_ids:
            # $in on the small marker collection: the stand-in and MongoDB use _id for it.
            found = self._markers.find({"_id": {"$in": user_ids}}, {"_id": 1})
            marked = {doc["_id"] for doc in await found.to_list()}
            restored = [uid for uid in user_ids if uid not in marked and await self._restore(uid)]
            if restored:
                log.warning("outbox: marked %d users whose events had no marker", len(restored))
        return user_ids[-1] if len(user_ids) == limit else None

    async def _restore(self, user_id: str) -> bool:
        doc = await self._users.find_one({"_id": user_id}, {"outbox": 1})
        events = (doc or {}).get("outbox") or []
        if not events:
            return False
        fields = {"v": events[-1]["id"], "n": len(events), "since": events[0]["time"]}
        # $setOnInsert: a marker written meanwhile by a new event is left as it is.
        await self._upsert(user_id, {"$setOnInsert": fields})
        return True

    async def backlog(self) -> tuple[int, datetime | None]:
        reading = await self.read_backlog(BACKLOG_MAX_USERS)
        return reading.events, reading.oldest

    async def read_backlog(self, max_users: int) -> BacklogReading:
        found = await self._markers.find({}, {"n": 1, "since": 1}).limit(max_users).to_list()
        # A marker at zero is one being dropped: it counts for nothing.
        markers = [m for m in found if m.get("n", 0) > 0]
        events = sum(int(m["n"]) for m in markers)
        if len(found) < max_users:
            return BacklogReading(events, min((m["since"] for m in markers), default=None))
        first = self._markers.find({}, {"since": 1}).sort("since", ASCENDING).limit(1)
        oldest = next((m["since"] for m in await first.to_list()), None)
        return BacklogReading(events, oldest, complete=False)


def events_of(doc: Document) -> list[PendingEvent]:
    return [PendingEvent.from_document(e) for e in doc.get("outbox") or []]
