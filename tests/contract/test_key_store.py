"""The contract of the key store: a first start writes the document, every later start
and every concurrent first start reads that same one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, MongoClient

from auth_api.store.key_store import KEY_COLLECTION, MemoryKeyStore, MongoKeyStore
from tests.conftest import drop_test_data
from tests.support.servers import Servers

Store = MemoryKeyStore | MongoKeyStore


@pytest.fixture
async def mongo_client(
    servers: Servers, isolation: dict[str, str]
) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongo_url, tz_aware=True)
    yield client
    await client.close()
    await drop_test_data(servers, isolation)


@pytest.fixture(params=["memory", "mongo"])
def key_store(request: pytest.FixtureRequest, isolation: dict[str, str]) -> Store:
    if request.param == "memory":
        return MemoryKeyStore()
    return MongoKeyStore(request.getfixturevalue("mongo_client"), isolation["mongo_db"])


class Maker:
    """Makes numbered candidates and counts the calls."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self) -> dict[str, Any]:
        self.made += 1
        return {"key": f"candidate-{self.made}"}


async def test_the_first_document_is_kept_and_later_starts_make_none(key_store: Store) -> None:
    first, later = Maker(), Maker()
    kept = await key_store.keep_first("refresh-rotation", first)
    assert kept == {"_id": "refresh-rotation", "key": "candidate-1"}
    assert await key_store.keep_first("refresh-rotation", later) == kept
    assert (first.made, later.made) == (1, 0)  # no key generated only to be thrown away


async def test_documents_are_kept_by_id(key_store: Store) -> None:
    es256 = await key_store.keep_first("signing-ES256", lambda: {"alg": "ES256"})
    rs256 = await key_store.keep_first("signing-RS256", lambda: {"alg": "RS256"})
    assert (es256["alg"], rs256["alg"]) == ("ES256", "RS256")


async def test_concurrent_first_starts_agree_on_one_document(
    mongo_client: AsyncMongoClient[dict[str, Any]], isolation: dict[str, str]
) -> None:
    # One store per replica, all starting at once on an empty database.
    replicas = [MongoKeyStore(mongo_client, isolation["mongo_db"]) for _ in range(8)]
    candidates = [{"key": f"replica-{n}"} for n in range(8)]
    kept = await asyncio.gather(
        *(
            store.keep_first("signing-ES256", lambda c=candidate: c)
            for store, candidate in zip(replicas, candidates, strict=True)
        )
    )
    assert len({doc["key"] for doc in kept}) == 1
    stored = await mongo_client[isolation["mongo_db"]][KEY_COLLECTION].find().to_list()
    assert stored == [kept[0]]


@pytest.fixture
def other_replica(servers: Servers, isolation: dict[str, str]) -> Iterator[MongoClient[Any]]:
    client: MongoClient[Any] = MongoClient(servers.mongo_url)
    yield client
    client.close()


async def test_a_start_that_loses_the_insert_reads_the_winner(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    other_replica: MongoClient[Any],
    isolation: dict[str, str],
) -> None:
    collection = other_replica[isolation["mongo_db"]][KEY_COLLECTION]

    def make_while_another_replica_wins() -> dict[str, Any]:
        # Between this start's read (nothing there) and its insert, another replica
        # inserts its own: the insert fails on the duplicate _id.
        collection.insert_one({"_id": "signing-ES256", "key": "winner"})
        return {"key": "loser"}

    store = MongoKeyStore(mongo_client, isolation["mongo_db"])
    kept = await store.keep_first("signing-ES256", make_while_another_replica_wins)
    assert kept == {"_id": "signing-ES256", "key": "winner"}
    assert list(collection.find()) == [kept]
