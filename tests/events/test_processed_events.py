"""One contract for both ProcessedEvents stores, and the pruning that keeps the
MongoDB one from growing by a document per event forever."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from auth_api.settings import Settings
from consumers.processed import (
    MemoryProcessedEvents,
    MongoProcessedEvents,
    ProcessedEvents,
    prune_periodically,
)
from tests.support.polling import eventually

SettingsFactory = Callable[..., Settings]
Database = AsyncDatabase[dict[str, Any]]
DAY = timedelta(days=1)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["mongo", "memory"])
def store_and_clock(request: pytest.FixtureRequest) -> tuple[ProcessedEvents, FakeClock]:
    """Each test calls setup() itself: an async fixture cannot pick its fixtures by
    parameter."""
    clock = FakeClock()
    store: ProcessedEvents
    if request.param == "mongo":
        test_db: Database = request.getfixturevalue("test_db")
        store = MongoProcessedEvents(test_db["processed_events"], clock=clock)
    else:
        store = MemoryProcessedEvents(clock=clock)
    return store, clock


async def test_an_event_is_recorded_once_per_group(
    store_and_clock: tuple[ProcessedEvents, FakeClock],
) -> None:
    store, _ = store_and_clock
    await store.setup()
    assert not await store.is_processed("quiz", "e1")
    await store.mark_processed("quiz", "e1")
    await store.mark_processed("quiz", "e1")  # a redelivery recording it again
    assert await store.is_processed("quiz", "e1")
    assert not await store.is_processed("leaderboard", "e1")
    assert await store.prune(datetime.max.replace(tzinfo=UTC)) == 1, "one record, not two"


async def test_prune_forgets_only_records_older_than_its_bound(
    store_and_clock: tuple[ProcessedEvents, FakeClock],
) -> None:
    store, clock = store_and_clock
    await store.setup()
    await store.mark_processed("quiz", "old")
    clock.now += 2 * DAY
    await store.mark_processed("quiz", "new")
    assert await store.prune(clock.now - DAY) == 1
    assert not await store.is_processed("quiz", "old")
    assert await store.is_processed("quiz", "new")
    assert await store.prune(clock.now - DAY) == 0


async def test_the_pruner_runs_until_stopped_and_outlives_a_failure(
    store_and_clock: tuple[ProcessedEvents, FakeClock],
) -> None:
    store, clock = store_and_clock
    await store.setup()
    failing = FailingOnce(store)
    await store.mark_processed("quiz", "old")
    clock.now += 2 * DAY
    await store.mark_processed("quiz", "new")
    stop = asyncio.Event()
    pruner = asyncio.create_task(
        prune_periodically(failing, keep=DAY, every_seconds=0.01, stop=stop, clock=clock)
    )

    async def old_is_gone() -> bool:
        return not await store.is_processed("quiz", "old")

    try:
        await eventually(old_is_gone, seconds=5, what="the old record to be pruned")
    finally:
        stop.set()
    async with asyncio.timeout(5):
        await pruner  # returns once stopped, without a cancel
    assert failing.failures == 1, "the first prune failed, and a later one succeeded"
    assert await store.is_processed("quiz", "new")


class FailingOnce:
    """A store whose first prune fails, as when MongoDB is briefly unreachable."""

    def __init__(self, store: ProcessedEvents) -> None:
        self._store = store
        self.failures = 0

    async def setup(self) -> None:
        await self._store.setup()

    async def is_processed(self, group: str, event_id: str) -> bool:
        return await self._store.is_processed(group, event_id)

    async def mark_processed(self, group: str, event_id: str) -> None:
        await self._store.mark_processed(group, event_id)

    async def prune(self, before: datetime) -> int:
        if self.failures == 0:
            self.failures += 1
            raise ConnectionError("unreachable")
        return await self._store.prune(before)
