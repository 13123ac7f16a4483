"""/health/ready and /metrics read the outbox backlog through one cached, bounded
reading: callers cannot make the store read more often or more documents."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from auth_api.errors import DependencyUnavailable
from auth_api.health.service import BacklogGauge, outbox_status
from auth_api.model.clock import utc_now
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.user import User, new_user_id
from auth_api.store.memory import MemoryUserStore
from auth_api.store.ports import BacklogReading


class SteppedClock:
    def __init__(self) -> None:
        self.wall = utc_now()
        self.seconds = 0.0

    def now(self) -> datetime:
        return self.wall + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds


class CountingStore(MemoryUserStore):
    def __init__(self) -> None:
        super().__init__()
        self.readings: list[int] = []
        self.failing = False

    async def read_backlog(self, max_users: int) -> BacklogReading:
        self.readings.append(max_users)
        await asyncio.sleep(0)  # let concurrent callers pile up
        if self.failing:
            raise DependencyUnavailable("mongodb")
        return await super().read_backlog(max_users)


async def register(store: MemoryUserStore, count: int, at: datetime | None = None) -> None:
    for index in range(count):
        now = at or utc_now()
        user = User(new_user_id(), f"u{index}@x.org", f"u{index}@x.org", "u", "$h", now, now)
        await store.create(user, PendingEvent.create(EventType.USER_REGISTERED, user.id, now, {}))


async def test_callers_within_the_ttl_share_one_reading() -> None:
    store, clock = CountingStore(), SteppedClock()
    gauge = BacklogGauge(store, ttl_seconds=2, clock=clock)
    await register(store, 2, at=clock.now())
    readings = await asyncio.gather(*(gauge.read() for _ in range(50)))
    assert {r.events for r in readings} == {2}
    clock.seconds = 1.5
    assert (await gauge.read()).oldest_age_seconds == 1.5  # the age keeps growing
    assert len(store.readings) == 1
    clock.seconds = 2.5
    await gauge.read()
    assert len(store.readings) == 2


async def test_an_event_recorded_here_is_shown_at_the_next_reading() -> None:
    store = CountingStore()
    gauge = BacklogGauge(store, ttl_seconds=60)
    assert (await gauge.read()).events == 0
    await register(store, 1)
    gauge.invalidate()
    assert (await gauge.read()).events == 1


async def test_a_backlog_of_ten_thousand_users_is_read_within_the_bound() -> None:
    store = CountingStore()
    await register(store, 10_000)
    gauge = BacklogGauge(store, max_users=100)
    reading = await gauge.read()
    assert store.readings == [100]
    assert (reading.events, reading.complete) == (100, False)
    status = await outbox_status(gauge, max_age_seconds=300)
    assert status["backlog"] == 100
    assert status["backlog_complete"] is False


async def test_an_unreadable_backlog_is_not_read_again_within_the_ttl() -> None:
    store, clock = CountingStore(), SteppedClock()
    store.failing = True
    gauge = BacklogGauge(store, ttl_seconds=2, clock=clock)
    for _ in range(3):
        with pytest.raises(DependencyUnavailable):
            await gauge.read()
    assert len(store.readings) == 1
    assert await outbox_status(gauge, max_age_seconds=300) == {"status": "unknown"}


async def test_a_reading_at_the_bound_is_kept_longer_events_or_not() -> None:
    store, clock = CountingStore(), SteppedClock()
    await register(store, 3, at=clock.now())
    gauge = BacklogGauge(store, ttl_seconds=2, max_users=2, clock=clock)
    assert not (await gauge.read()).complete
    clock.seconds = 9.0
    gauge.invalidate()
    await gauge.read()
    assert len(store.readings) == 1
    clock.seconds = 10.0
    await gauge.read()
    assert len(store.readings) == 2
