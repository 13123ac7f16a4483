"""What the broker-kill fault test needs: every event the service records, seen as the
relay reads it; users driven through the API at a steady pace; the outbox watched while
a broker is away; and what reached Kafka, compared event by event with what was
recorded."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from auth_api import container as container_module
from auth_api.container import Backends
from auth_api.model.events import PendingEvent, encode
from auth_api.settings import Settings
from auth_api.store.ports import (
    BacklogReading,
    Lease,
    LeaseTerms,
    MarkerPage,
    Outbox,
    PendingPage,
    UserEvents,
)
from quizauth_wire import topic_for
from tests.support.api import bearer, login, register, unique_email
from tests.support.forgery import parts


class RecordingOutbox:
    """The store's outbox, noting each event the relay reads from it, in the order it
    was recorded. An event leaves the outbox only when the relay has read it and marked
    it delivered, so once the outbox is empty this has seen every event recorded."""

    def __init__(self, inner: Outbox) -> None:
        self._inner = inner
        self.events: dict[str, PendingEvent] = {}
        self.order: dict[str, list[str]] = defaultdict(list)  # user id -> event ids

    def _note(self, batch: UserEvents) -> None:
        # A user's outbox only grows at its end and shrinks at its start, so a new id
        # read anywhere comes after every id already noted for that user.
        for event in batch.events:
            if event.id not in self.events:
                self.events[event.id] = event
                self.order[batch.user_id].append(event.id)

    async def pending(self, limit: int) -> list[UserEvents]:
        batches = await self._inner.pending(limit)
        for batch in batches:
            self._note(batch)
        return batches

    async def pending_page(self, limit: int) -> PendingPage:
        page = await self._inner.pending_page(limit)
        for batch in page.batches:
            self._note(batch)
        return page

    async def restore_markers(self, limit: int, after: str = "") -> str | None:
        return await self._inner.restore_markers(limit, after)

    async def read_backlog(self, max_users: int) -> BacklogReading:
        return await self._inner.read_backlog(max_users)

    async def pending_of(self, user_id: str) -> UserEvents | None:
        batch = await self._inner.pending_of(user_id)
        if batch is not None:
            self._note(batch)
        return batch

    async def events_of(self, user_ids: list[str]) -> list[UserEvents]:
        batches = await self._inner.events_of(user_ids)
        for batch in batches:
            self._note(batch)
        return batches

    async def mark_delivered(self, user_id: str, events: list[PendingEvent]) -> bool:
        return await self._inner.mark_delivered(user_id, events)

    async def unleased_page(self, limit: int, now: datetime) -> MarkerPage:
        return await self._inner.unleased_page(limit, now)

    async def lease(self, user_id: str, terms: LeaseTerms) -> Lease | None:
        return await self._inner.lease(user_id, terms)

    async def drop_if_unchanged(self, user_id: str, version: str | None) -> bool:
        return await self._inner.drop_if_unchanged(user_id, version)

    async def release(self, user_id: str, owner: str) -> None:
        await self._inner.release(user_id, owner)

    async def backlog(self) -> tuple[int, Any]:
        return await self._inner.backlog()


def recording_backends(outbox: list[RecordingOutbox]) -> Callable[[Settings], Backends]:
    """connected_backends, with the outbox the relay reads wrapped; the wrapper is
    appended to `outbox` once the app has built it."""
    connect = container_module.connected_backends

    def build(settings: Settings) -> Backends:
        backends = connect(settings)
        recording = RecordingOutbox(backends.outbox)
        backends.outbox = recording
        outbox.append(recording)
        return backends

    return build


@dataclass
class UserFlow:
    """One user's requests: register, log in twice, log the first session out. Each
    records one event: user.registered, user.logged_in twice, user.logged_out."""

    user_id: str = ""
    session_ids: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    async def run(self, api: httpx.AsyncClient) -> None:
        email = unique_email("load")
        registered = await register(api, email)
        self.statuses.append(registered.status_code)
        if registered.status_code != 201:
            return
        self.user_id = registered.json()["id"]
        tokens = []
        for _ in range(2):
            response = await login(api, email)
            self.statuses.append(response.status_code)
            if response.status_code != 200:
                return
            tokens.append(response.json()["access_token"])
            self.session_ids.append(parts(tokens[-1])[1]["sid"])
        logout = await api.post("/auth/logout", headers=bearer(tokens[0]))
        self.statuses.append(logout.status_code)

    @property
    def succeeded(self) -> bool:
        return self.statuses == [201, 200, 200, 204]


async def paced_users(api: httpx.AsyncClient, count: int, seconds: float) -> list[UserFlow]:
    """`count` users, one starting every seconds/count: a steady load, bounded."""
    flows = [UserFlow() for _ in range(count)]
    tasks = []
    start = time.monotonic()
    for index, flow in enumerate(flows):
        await asyncio.sleep(max(0.0, start + index * seconds / count - time.monotonic()))
        tasks.append(asyncio.create_task(flow.run(api)))
    await asyncio.gather(*tasks)
    return flows


@dataclass
class Sample:
    at: float  # wall time, seconds
    oldest_age: float  # how long the oldest undelivered event has waited
    publish_failures: int  # the relay's count so far


@dataclass
class DeliveryWatch:
    """Samples, every `interval` seconds, how long the oldest undelivered event has
    waited and how many publishes failed: when delivery stalled, when it caught up, and
    when the relay met a failure (and may resend what was in fact written)."""

    outbox: Outbox
    failures: Callable[[], int]
    interval: float = 0.2
    samples: list[Sample] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while not self._stop.is_set():
            _, oldest = await self.outbox.backlog()
            now = time.time()
            age = now - oldest.timestamp() if oldest else 0.0
            self.samples.append(Sample(now, age, self.failures()))
            await asyncio.sleep(self.interval)

    def stop(self) -> None:
        self._stop.set()

    def longest_wait(self, since: float = 0.0, until: float = float("inf")) -> float:
        """The longest an event was seen waiting, between two wall times."""
        return max((s.oldest_age for s in self.samples if since <= s.at <= until), default=0.0)

    def caught_up_at(self, after: float, lag: float = 1.0) -> float:
        """When, after `after`, the oldest waiting event was last `lag` seconds old or
        more: from then on every event was delivered within `lag`."""
        late = [s.at for s in self.samples if s.at >= after and s.oldest_age >= lag]
        return max(late, default=after)

    def failures_until(self, moment: float) -> int:
        return max((s.publish_failures for s in self.samples if s.at <= moment), default=0)

    def failure_times(self) -> list[float]:
        """When the relay's failure count was seen to grow."""
        pairs = itertools.pairwise(self.samples)
        return [b.at for a, b in pairs if b.publish_failures > a.publish_failures]


async def leader_of(bootstrap: str, topic: str, partition: int = 0) -> int | None:
    """The node id leading one partition, the broker whose loss this partition feels;
    None while the broker asked does not know the new topic yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    leaders = [p["leader"] for p in described["partitions"] if p["partition"] == partition]
    return int(leaders[0]) if leaders and leaders[0] >= 0 else None


async def replication(bootstrap: str, topics: list[str]) -> dict[tuple[str, int], Any]:
    """(topic, partition) -> (replicas, in-sync replicas), as node id sets."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return {
        (t["topic"], p["partition"]): (set(p["replicas"]), set(p["isr"]))
        for t in described
        for p in t["partitions"]
    }


@dataclass(frozen=True)
class Copy:
    """One message that carried an event, where Kafka put it."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes
    value: bytes


def copies_by_event(
    records: list[Any], event_id_of: Callable[[bytes], str]
) -> dict[str, list[Copy]]:
    """Every copy of each event id, earliest first: all in one partition (same topic,
    same key), so in offset order."""
    found: dict[str, list[Copy]] = defaultdict(list)
    for r in records:
        found[event_id_of(r.value)].append(
            Copy(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value)
        )
    for copies in found.values():
        copies.sort(key=lambda c: c.offset)
    return found


def mismatches(
    recorded: dict[str, PendingEvent], copies: dict[str, list[Copy]], prefix: str
) -> Iterator[str]:
    """Each way in which what Kafka holds differs from what was recorded."""
    for event_id in recorded.keys() - copies.keys():
        yield f"lost: {event_id}"
    for event_id in copies.keys() - recorded.keys():
        yield f"never recorded: {event_id}"
    for event_id in recorded.keys() & copies.keys():
        event = recorded[event_id]
        for copy in copies[event_id]:
            where = (copy.topic, copy.key, copy.value)
            if where != (topic_for(event.type, prefix), event.subject.encode(), encode(event)):
                yield f"altered: {event_id} arrived as {where}"


def order_breaks(order: dict[str, list[str]], copies: dict[str, list[Copy]]) -> Iterator[str]:
    """Each pair of a user's events whose first copies Kafka holds out of recorded order:
    appended later (producer time), or at a lower offset of the same partition. Topics
    share no offsets, so across topics only the append times can be compared."""
    for user_id, event_ids in order.items():
        firsts = [copies[event_id][0] for event_id in event_ids if event_id in copies]
        for earlier, later in itertools.pairwise(firsts):
            same_log = (earlier.topic, earlier.partition) == (later.topic, later.partition)
            if earlier.timestamp_ms > later.timestamp_ms or (
                same_log and earlier.offset > later.offset
            ):
                yield f"user {user_id}: {earlier} before {later}"


def duplicate_firsts(copies: dict[str, list[Copy]]) -> list[Copy]:
    """The first copy of each event Kafka holds more than once."""
    return [found[0] for found in copies.values() if len(found) > 1]


def unexplained_duplicates(
    copies: dict[str, list[Copy]], failures: list[float], timeout: float, slack: float = 1.0
) -> list[Copy]:
    """Duplicates no failed publish accounts for. The relay sends an event again only
    after a publish failed, and the copy written anyway was sent at most `timeout`
    before that failure was seen: any other duplicate happened in the steady state."""
    return [
        first
        for first in duplicate_firsts(copies)
        if not any(
            at - timeout - slack <= first.timestamp_ms / 1000 <= at + slack for at in failures
        )
    ]


def extra_copies(copies: dict[str, list[Copy]]) -> int:
    return sum(Counter({k: len(v) - 1 for k, v in copies.items()}).values())
