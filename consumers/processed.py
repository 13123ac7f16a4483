"""Which events a consumer group has already handled: redelivery is normal with
at-least-once delivery, and a handled event must not be handled twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ProcessedEvents(Protocol):
    async def setup(self) -> None:
        """Create indexes; idempotent."""

    async def is_processed(self, group: str, event_id: str) -> bool: ...

    async def mark_processed(self, group: str, event_id: str) -> None:
        """Record the event as handled by `group`; recording it twice is harmless."""

    async def prune(self, before: datetime) -> int:
        """Forget records made before `before`, which must be older than the longest
        redelivery window (the topics' retention); the number removed."""


def processed_key(group: str, event_id: str) -> str:
    return f"{group}:{event_id}"


class MongoProcessedEvents:
    """One document per handled event, `_id` = `<group>:<event id>`: the primary key
    makes a second record of the same event a no-op, on MongoDB and the stack's
    mongo-java-server alike."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]], clock: Clock = utc_now) -> None:
        self._records = collection
        self._clock = clock

    async def setup(self) -> None:
        # For prune(); a TTL index would do it on MongoDB, but the stack's
        # mongo-java-server has none.
        await self._records.create_index([("processed_at", ASCENDING)], name="processed_at")

    async def is_processed(self, group: str, event_id: str) -> bool:
        found = await self._records.find_one({"_id": processed_key(group, event_id)}, {"_id": 1})
        return found is not None

    async def mark_processed(self, group: str, event_id: str) -> None:
        record = {
            "_id": processed_key(group, event_id),
            "group": group,
            "event_id": event_id,
            "processed_at": self._clock(),
        }
        # A duplicate key means a redelivery recorded it first: recorded either way.
        with contextlib.suppress(DuplicateKeyError):
            await self._records.insert_one(record)

    async def prune(self, before: datetime) -> int:
        result = await self._records.delete_many({"processed_at": {"$lt": before}})
        return result.deleted_count


class MemoryProcessedEvents:
    """The in-process twin, for tests and single-process tools. Forgets on restart."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self._processed_at: dict[str, datetime] = {}
        self._clock = clock

    async def setup(self) -> None:
        return None

    async def is_processed(self, group: str, event_id: str) -> bool:
        return processed_key(group, event_id) in self._processed_at

    async def mark_processed(self, group: str, event_id: str) -> None:
        self._processed_at.setdefault(processed_key(group, event_id), self._clock())

    async def prune(self, before: datetime) -> int:
        old = [key for key, at in self._processed_at.items() if at < before]
        for key in old:
            del self._processed_at[key]
        return len(old)


async def prune_periodically(
    processed: ProcessedEvents,
    keep: timedelta,
    every_seconds: float,
    stop: asyncio.Event,
    clock: Clock = utc_now,
) -> None:
    """Forget records older than `keep`, now and then every `every_seconds`, until
    `stop` is set. The stack's mongo-java-server has no TTL index to do this, and without
    it the collection grows by one document per event forever. A failed prune is retried
    next time."""
    while not stop.is_set():
        try:
            removed = await processed.prune(clock() - keep)
        except Exception as exc:  # any failure: housekeeping must not stop consuming
            log.warning("pruning processed events failed; retrying later: %s", exc)
        else:
            if removed:
                log.info("pruned %d processed-event records", removed)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(every_seconds):
                await stop.wait()
