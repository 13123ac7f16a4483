"""A relay that dies mid-delivery, over both stores: its users wait for its lease to
lapse, then another relay delivers them, and only the event that was in flight when it
died arrives twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter

from auth_api.events.publisher import MemoryPublisher
from auth_api.events.relay import OutboxRelay, RelayTuning
from auth_api.model.events import EventType, PendingEvent
from tests.contract.test_user_store import make_user, record_event
from tests.contract.twins import Store
from tests.support.clock import ManualClock
from tests.support.polling import eventually


class DyingPublisher(MemoryPublisher):
    """Keeps every record, and never acknowledges those of one user: the process dies
    after the broker has the record and before the relay hears back."""

    def __init__(self, doomed: bytes) -> None:
        super().__init__()
        self.doomed = doomed
        self.in_flight = asyncio.Event()

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        await super().publish(topic, key, value)
        if key == self.doomed:
            self.in_flight.set()
            await asyncio.Event().wait()  # until cancelled: the process is gone


def ids(publisher: MemoryPublisher) -> list[str]:
    return [json.loads(message.value)["id"] for message in publisher.messages]


async def test_a_dead_relays_event_in_flight_is_the_only_one_published_twice(
    user_store: Store,
) -> None:
    clock = ManualClock()
    doomed, spared = make_user("doomed@example.com"), make_user("spared@example.com")
    first = PendingEvent.create(EventType.USER_REGISTERED, doomed.id, clock.now(), {})
    second = PendingEvent.create(EventType.USER_LOGGED_IN, doomed.id, clock.now(), {})
    other = PendingEvent.create(EventType.USER_REGISTERED, spared.id, clock.now(), {})
    await user_store.create(doomed, first)
    await record_event(user_store, doomed.id, second)
    await user_store.create(spared, other)

    dying = DyingPublisher(doomed.id.encode())
    crashed = OutboxRelay(user_store, dying, "", clock=clock, identity="crashed")
    task = asyncio.create_task(crashed.drain_once())
    await asyncio.wait_for(dying.in_flight.wait(), 10)

    async def spared_done() -> bool:  # that user's delivery ends on its own
        return other.id in ids(dying) and await user_store.events_of([spared.id]) == []

    await eventually(spared_done, 10, "the other user's delivery")
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

    survivor_publisher = MemoryPublisher()
    survivor = OutboxRelay(user_store, survivor_publisher, "", clock=clock, identity="alive")
    assert await survivor.drain_once() == 0  # the dead relay's lease still runs
    clock.advance(RelayTuning().lease_seconds)
    assert await survivor.drain_once() == 2
    assert ids(survivor_publisher) == [first.id, second.id]  # in order

    copies = Counter(ids(dying) + ids(survivor_publisher))
    assert copies == {first.id: 2, second.id: 1, other.id: 1}
    assert (await user_store.read_backlog(10)).events == 0
