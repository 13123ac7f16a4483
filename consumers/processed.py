"""Which events a consumer group has already handled: redelivery is normal with
at-least-once delivery, and a handled event must not be handled twice."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


class ProcessedEvents(Protocol):
    async def setup(self) -> None:
        """Create indexes; idempotent."""

    async def is_processed(self, group: str, event_id: str) -> bool: ...

    async def mark_processed(self, group: str, event_id: str) -> None:
        """Record the event as handled by `group`; recording it twice is harmless."""


def processed_key(group: str, event_id: str) -> str:
    return f"{group}:{event_id}"


class MongoProcessedEvents:
    """One document per handled event, `_id` = `<group>:<event id>`: the primary key
    makes a second record of the same event a no-op, on MongoDB and FerretDB alike."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._records = collection

    async def setup(self) -> None:
        # For prune(); a TTL index would do it on MongoDB, but FerretDB has none.
        await self._records.create_index([("processed_at", ASCENDING)], name="processed_at")

    async def is_processed(self, group: str, event_id: str) -> bool:
        found = await self._records.find_one({"_id": processed_key(group, event_id)}, {"_id": 1})
        return found is not None

    async def mark_processed(self, group: str, event_id: str) -> None:
        record = {
            "_id": processed_key(group, event_id),
            "group": group,
            "event_id": event_id,
            "processed_at": datetime.now(UTC),
        }
        # A duplicate key means a redelivery recorded it first: recorded either way.
        with contextlib.suppress(DuplicateKeyError):
            await self._records.insert_one(record)

    async def prune(self, before: datetime) -> int:
        """Forget records older than `before`, which must exceed the longest redelivery
        window (the topics' retention); the number removed."""
        result = await self._records.delete_many({"processed_at": {"$lt": before}})
        return result.deleted_count


class MemoryProcessedEvents:
    """The in-process twin, for tests and single-process tools. Forgets on restart."""

    def __init__(self) -> None:
        self._keys: set[str] = set()

    async def setup(self) -> None:
        return None

    async def is_processed(self, group: str, event_id: str) -> bool:
        return processed_key(group, event_id) in self._keys

    async def mark_processed(self, group: str, event_id: str) -> None:
        self._keys.add(processed_key(group, event_id))
