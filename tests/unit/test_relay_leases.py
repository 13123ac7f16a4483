"""Several relays over one outbox, as with several API processes: each event published
once, each user's events in order, and a dead relay's users taken over once its lease
lapses."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest

from auth_api.events.publisher import MemoryPublisher, PublishFailed
from auth_api.events.relay import OutboxRelay, RelayTuning
from auth_api.model.clock import utc_now
from auth_api.model.events import EventType, PendingEvent
from auth_api.store.memory import MemoryUserStore
from auth_api.store.ports import LeaseTerms
from tests.support.clock import ManualClock
from tests.unit.test_relay import running, until_published, user


class InterleavingPublisher(MemoryPublisher):
    """Yields to the other relays at every publish, as a broker's round trip would."""

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        await asyncio.sleep(0.001)
        await super().publish(topic, key, value)


def published_ids(publisher: MemoryPublisher) -> list[str]:
    return [json.loads(message.value)["id"] for message in publisher.messages]


async def test_three_relays_publish_each_event_once_and_in_order_per_user() -> None:
    store, publisher = MemoryUserStore(), InterleavingPublisher()
    tuning = RelayTuning(idle_poll_seconds=0.005, batch_users=4, concurrent_users=2)
    relays = [OutboxRelay(store, publisher, "", tuning, identity=f"r{i}") for i in range(3)]
    recorded: dict[str, list[str]] = {}
    async with AsyncExitStack() as stack:
        for relay in relays:
            await stack.enter_async_context(running(relay))
        people = [user(f"p{i}@example.com") for i in range(20)]
        for round_ in range(3):
            for index, someone in enumerate(people):
                kind = EventType.USER_REGISTERED if round_ == 0 else EventType.USER_LOGGED_IN
                event = PendingEvent.create(kind, someone.id, utc_now(), {})
                if round_ == 0:
                    await store.create(someone, event)
                else:
                    await store.end_sessions(someone.id, [], event, only_if_active=False)
                recorded.setdefault(someone.id, []).append(event.id)
                # Every relay hears of some events from its own requests; all sweep.
                relays[(index + round_) % 3].notify(someone.id)
            await asyncio.sleep(0.01)
        await until_published(publisher, 60, seconds=10)
        await asyncio.sleep(0.1)  # time for any second copy to show up
    copies = Counter(published_ids(publisher))
    assert len(copies) == 60
    assert set(copies.values()) == {1}
    per_user: dict[str, list[str]] = {}
    for message in publisher.messages:
        per_user.setdefault(message.key.decode(), []).append(json.loads(message.value)["id"])
    assert per_user == recorded
    assert sum(relay.published for relay in relays) == 60
    assert (await store.read_backlog(100)).events == 0


async def test_a_dead_relays_users_wait_for_its_lease_to_lapse() -> None:
    clock = ManualClock()
    store, publisher = MemoryUserStore(), MemoryPublisher()
    someone = user("held@example.com")
    registered = PendingEvent.create(EventType.USER_REGISTERED, someone.id, clock.now(), {})
    await store.create(someone, registered)
    lease = timedelta(seconds=RelayTuning().lease_seconds)
    await store.lease(someone.id, LeaseTerms("dead", clock.now(), clock.now() + lease))
    relay = OutboxRelay(store, publisher, "", clock=clock, identity="alive")
    assert await relay.drain_once() == 0
    clock.advance(lease.total_seconds() - 1)
    assert await relay.drain_once() == 0
    clock.advance(1)
    assert await relay.drain_once() == 1
    assert published_ids(publisher) == [registered.id]


class RefusingPublisher(MemoryPublisher):
    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        raise PublishFailed("broker unreachable")


async def test_a_relay_that_cannot_publish_lets_go_of_its_users_at_once() -> None:
    store = MemoryUserStore()
    someone = user("retry@example.com")
    await store.create(
        someone, PendingEvent.create(EventType.USER_REGISTERED, someone.id, utc_now(), {})
    )
    failing = OutboxRelay(store, RefusingPublisher(), "", identity="failing")
    with pytest.raises(PublishFailed):
        await failing.drain_once()
    working = MemoryPublisher()
    assert await OutboxRelay(store, working, "", identity="working").drain_once() == 1
    assert len(working.messages) == 1
