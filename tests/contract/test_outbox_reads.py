"""How many documents the outbox's periodic and anonymous reads take from MongoDB,
counted by a driver-level spy on every reply, with a backlog of 10,000 events."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from auth_api.model.clock import utc_now
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.user import User, new_user_id
from auth_api.store.mongo import MongoUserStore, to_document
from auth_api.store.mongo_outbox import MARKERS
from auth_api.store.ports import BACKLOG_MAX_USERS
from tests.conftest import drop_test_data
from tests.support.servers import Servers

BACKLOG = 10_000


class ReadSpy(monitoring.CommandListener):
    """Documents returned by find, getMore and aggregate, per collection."""

    def __init__(self) -> None:
        self.documents: Counter[str] = Counter()
        self._collections: dict[int, str] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in ("find", "aggregate"):
            self._collections[event.request_id] = str(event.command[name])
        elif name == "getMore":
            self._collections[event.request_id] = str(event.command["collection"])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        collection = self._collections.pop(event.request_id, None)
        cursor = event.reply.get("cursor") if collection else None
        if collection and isinstance(cursor, dict):
            batch = cursor.get("firstBatch", cursor.get("nextBatch", []))
            self.documents[collection] += len(batch)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._collections.pop(event.request_id, None)

    def total(self) -> int:
        return sum(self.documents.values())


@dataclass
class Spied:
    store: MongoUserStore
    spy: ReadSpy
    client: AsyncMongoClient[dict[str, Any]]
    database: str


@pytest.fixture
async def spied(servers: Servers, isolation: dict[str, str]) -> AsyncIterator[Spied]:
    spy = ReadSpy()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        servers.mongo_url, tz_aware=True, event_listeners=[spy]
    )
    store = MongoUserStore(client, isolation["mongo_db"])
    await store.setup()
    yield Spied(store, spy, client, isolation["mongo_db"])
    await client.close()
    await drop_test_data(servers, isolation)


async def ten_thousand_users(spied: Spied, pending: bool) -> None:
    """Written in bulk, as the store leaves them: each user with its event and its
    marker, or with its event delivered and no marker."""
    now = utc_now()
    users, markers = [], []
    for index in range(BACKLOG):
        user = User(new_user_id(), f"u{index}@x.org", f"u{index}@x.org", "u", "$h", now, now)
        event = PendingEvent.create(EventType.USER_REGISTERED, user.id, now, {})
        users.append({**to_document(user, event), **({} if pending else {"outbox": []})})
        markers.append({"_id": user.id, "v": event.id, "n": 1, "since": now})
    database = spied.client[spied.database]
    await database["users"].insert_many(users)
    if pending:
        await database[MARKERS].insert_many(markers)


async def test_a_backlog_reading_reads_a_bounded_number_of_documents(spied: Spied) -> None:
    await ten_thousand_users(spied, pending=True)
    spied.spy.documents.clear()
    reading = await spied.store.read_backlog(BACKLOG_MAX_USERS)
    assert (reading.events, reading.complete) == (BACKLOG_MAX_USERS, False)
    assert reading.oldest is not None
    assert spied.spy.total() <= BACKLOG_MAX_USERS + 1
    assert spied.spy.documents["users"] == 0


async def test_one_user_with_ten_thousand_events_is_one_marker_read(spied: Spied) -> None:
    now = utc_now()
    user = User(new_user_id(), "one@x.org", "one@x.org", "u", "$h", now, now)
    events = [
        PendingEvent.create(EventType.USER_LOGGED_IN, user.id, now, {}) for _ in range(BACKLOG)
    ]
    await spied.store.create(user, events[0])
    users = spied.client[spied.database]["users"]
    rest = [e.to_document() for e in events[1:]]
    await users.update_one({"_id": user.id}, {"$push": {"outbox": {"$each": rest}}})
    await spied.client[spied.database][MARKERS].update_one(
        {"_id": user.id}, {"$inc": {"n": len(rest)}}
    )
    spied.spy.documents.clear()
    assert await spied.store.backlog() == (BACKLOG, now)
    assert spied.spy.total() == 1


async def test_an_idle_sweep_reads_nothing_however_many_users(spied: Spied) -> None:
    await ten_thousand_users(spied, pending=False)
    spied.spy.documents.clear()
    page = await spied.store.pending_page(100)
    assert (page.batches, page.full) == ([], False)
    assert await spied.store.backlog() == (0, None)
    assert spied.spy.total() == 0
