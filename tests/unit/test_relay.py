"""The relay keeps delivering whatever goes wrong with one event or one call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import pytest

from auth_api.events.publisher import MemoryPublisher, PublishFailed, TopicsRefused
from auth_api.events.relay import OutboxRelay, RelayTuning
from auth_api.model.clock import utc_now
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.user import User, new_user_id
from auth_api.store.memory import MemoryUserStore
from auth_api.store.ports import MarkerPage


def user(email: str) -> User:
    now = utc_now()
    return User(new_user_id(), email, email, "x", "$argon2id$x", now, now)


@asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[None]:
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        relay.stop()
        await task


async def until_published(publisher: MemoryPublisher, count: int, seconds: float) -> None:
    """Wait, at most `seconds`, for `count` messages; the caller asserts what arrived."""
    for _ in range(int(seconds / 0.02)):
        if len(publisher.messages) >= count:
            return
        await asyncio.sleep(0.02)


async def test_unknown_event_types_are_delivered_to_their_own_topic() -> None:
    store, publisher = MemoryUserStore(), MemoryPublisher()
    someone = user("a@example.com")
    await store.create(someone, PendingEvent("e1", "user.renamed", someone.id, utc_now(), {}))
    relay = OutboxRelay(store, publisher, "p.")
    assert await relay.drain_once() == 1
    assert [m.topic for m in publisher.messages] == ["p.user.renamed"]
    assert json.loads(publisher.messages[0].value)["type"] == "user.renamed"


class FlakyPublisher(MemoryPublisher):
    """Raises an unexpected error once, then works."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("a bug, not a broker outage")
        await super().publish(topic, key, value)


async def test_an_unexpected_error_does_not_stop_the_relay() -> None:
    store, publisher = MemoryUserStore(), FlakyPublisher()
    someone = user("b@example.com")
    event = PendingEvent.create(EventType.USER_REGISTERED, someone.id, utc_now(), {})
    await store.create(someone, event)
    relay = OutboxRelay(store, publisher, "", RelayTuning(idle_poll_seconds=0.05))
    async with running(relay):
        await until_published(publisher, 1, seconds=5)
    assert publisher.failed
    assert len(publisher.messages) == 1


class CountingStore(MemoryUserStore):
    def __init__(self) -> None:
        super().__init__()
        self.sweeps = 0

    async def unleased_page(self, limit: int, now: datetime) -> MarkerPage:
        self.sweeps += 1
        return await super().unleased_page(limit, now)


async def test_a_notification_delivers_without_sweeping_the_outbox() -> None:
    store, publisher = CountingStore(), MemoryPublisher()
    relay = OutboxRelay(store, publisher, "", RelayTuning(idle_poll_seconds=60))
    async with running(relay):
        await asyncio.sleep(0.05)  # the first round sweeps once
        for index in range(3):
            someone = user(f"n{index}@example.com")
            await store.create(
                someone, PendingEvent.create(EventType.USER_REGISTERED, someone.id, utc_now(), {})
            )
            relay.notify(someone.id)
        await until_published(publisher, 3, seconds=2)
    assert len(publisher.messages) == 3
    assert store.sweeps == 1


class SlowPublisher(MemoryPublisher):
    """Takes a moment per message, and records how many were in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most_in_flight = 0

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.005)
            await super().publish(topic, key, value)
        finally:
            self.in_flight -= 1


async def registered_users(store: MemoryUserStore, count: int) -> None:
    for index in range(count):
        someone = user(f"u{index}@example.com")
        event = PendingEvent.create(EventType.USER_REGISTERED, someone.id, utc_now(), {})
        await store.create(someone, event)


async def test_a_backlog_is_delivered_a_few_users_at_a_time() -> None:
    """After an outage, a page of users waits; their removals must not all queue at once
    ahead of the requests' own writes."""
    store, publisher = MemoryUserStore(), SlowPublisher()
    await registered_users(store, 20)
    relay = OutboxRelay(store, publisher, "", RelayTuning(concurrent_users=3))
    assert await relay.drain_once() == 20
    assert publisher.most_in_flight == 3


async def test_a_full_page_of_pending_users_is_followed_by_another_sweep_at_once() -> None:
    store, publisher = MemoryUserStore(), MemoryPublisher()
    await registered_users(store, 12)
    relay = OutboxRelay(store, publisher, "", RelayTuning(batch_users=5, idle_poll_seconds=60))
    async with running(relay):
        # 5 s: far less than the 60 s between idle sweeps.
        await until_published(publisher, 12, seconds=5)
    assert len(publisher.messages) == 12


class BackstopCountingStore(MemoryUserStore):
    def __init__(self) -> None:
        super().__init__()
        self.backstops = 0

    async def restore_markers(self, limit: int, after: str = "") -> str | None:
        self.backstops += 1
        return await super().restore_markers(limit, after)


async def test_events_without_a_marker_are_delivered_after_the_backstop_at_start() -> None:
    """As after an upgrade from a release without markers: the sweep cannot see them."""
    store, publisher = BackstopCountingStore(), MemoryPublisher()
    await registered_users(store, 3)
    store._outbox.markers.clear()
    relay = OutboxRelay(store, publisher, "", RelayTuning(backstop_batch_users=2))
    async with running(relay):
        await until_published(publisher, 3, seconds=5)
    assert len(publisher.messages) == 3
    assert store.backstops == 2  # two pages of two users at most


async def test_the_backstop_runs_rarely_while_the_markers_are_swept_often() -> None:
    store, publisher = BackstopCountingStore(), MemoryPublisher()
    relay = OutboxRelay(store, publisher, "", RelayTuning(idle_poll_seconds=0.02))
    async with running(relay):
        await registered_users(store, 1)  # found by a sweep: nothing notifies the relay
        await until_published(publisher, 1, seconds=5)
    assert len(publisher.messages) == 1
    assert store.backstops == 1


class PoisonedPublisher(MemoryPublisher):
    """Refuses every event of one user, as if it could never be encoded."""

    def __init__(self, poisoned: bytes) -> None:
        super().__init__()
        self.poisoned = poisoned

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        if key == self.poisoned:
            raise RuntimeError("cannot publish this one")
        await super().publish(topic, key, value)


async def test_a_user_that_always_fails_holds_back_no_one_behind_it() -> None:
    store = MemoryUserStore()
    await registered_users(store, 6)
    first = (await store.pending(1))[0].user_id
    publisher = PoisonedPublisher(first.encode())
    tuning = RelayTuning(batch_users=2, idle_poll_seconds=0.02, max_backoff_seconds=0.05)
    relay = OutboxRelay(store, publisher, "", tuning)
    async with running(relay):
        await until_published(publisher, 5, seconds=5)
    assert len(publisher.messages) == 5
    assert [batch.user_id for batch in await store.pending(10)] == [first]


class RefusingPublisher(MemoryPublisher):
    """A broker that refuses to create the topics until told otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.refusing = True

    async def ensure_topics(self, topics: list[str]) -> None:
        if self.refusing:
            raise TopicsRefused(f"{topics[0]}: error code 38: only 1 broker(s) are registered")


async def test_refused_topics_stop_delivery_and_say_why_until_they_are_created() -> None:
    store, publisher = MemoryUserStore(), RefusingPublisher()
    await registered_users(store, 1)
    relay = OutboxRelay(store, publisher, "p.")
    assert relay.topics == "pending"
    with pytest.raises(TopicsRefused):
        await relay.drain_once()
    assert (
        relay.topics == "failed: p.user.registered: error code 38: only 1 broker(s) are registered"
    )
    assert publisher.messages == []
    assert (await store.backlog())[0] == 1, "the event waits in the outbox"
    publisher.refusing = False
    assert await relay.drain_once() == 1
    assert relay.topics == "ok"


class UnreachablePublisherOnce(MemoryPublisher):
    """Kafka does not answer at first: that says nothing about the topics."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def ensure_topics(self, topics: list[str]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise PublishFailed("KafkaConnectionError")


async def test_an_unreachable_broker_leaves_the_topics_pending_not_failed() -> None:
    store, publisher = MemoryUserStore(), UnreachablePublisherOnce()
    relay = OutboxRelay(store, publisher, "")
    with pytest.raises(PublishFailed):
        await relay.drain_once()
    assert relay.topics == "pending"
    await relay.drain_once()
    await relay.drain_once()
    assert (relay.topics, publisher.calls) == ("ok", 2), "once made, never asked again"
