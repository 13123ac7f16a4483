"""Each contract test runs against the in-memory twin and the real adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from auth_api.security.memory_stores import MemoryRateLimiter, MemoryRevocationStore
from auth_api.security.redis_stores import (
    RedisRateLimiter,
    RedisRevocationStore,
    connect_cluster,
    near_cache_prefixes,
)
from auth_api.store.memory import MemoryUserStore
from auth_api.store.mongo import MongoUserStore
from auth_api.store.mongo_outbox import MARKERS
from quizauth_client.near_cache import NearCache
from tests.conftest import drop_test_data, session_redis
from tests.contract.twins import (
    InterferingMemoryStore,
    InterferingMongoStore,
    MemoryMarkers,
    MongoMarkers,
    Twin,
)
from tests.support.near_cache import until_live
from tests.support.servers import Servers


@asynccontextmanager
async def real_mongo(
    request: pytest.FixtureRequest, isolation: dict[str, str]
) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    """A client of the shared MongoDB; this test's database is dropped after it."""
    servers: Servers = request.getfixturevalue("servers")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongo_url, tz_aware=True)
    try:
        yield client
    finally:
        await client.close()
        await drop_test_data(servers, isolation)


@pytest.fixture(params=["memory", "mongo"])
async def user_store(
    request: pytest.FixtureRequest, isolation: dict[str, str]
) -> AsyncIterator[MemoryUserStore | MongoUserStore]:
    if request.param == "memory":
        yield MemoryUserStore()
        return
    async with real_mongo(request, isolation) as client:
        store = MongoUserStore(client, isolation["mongo_db"])
        await store.setup()
        yield store


@pytest.fixture(params=["memory", "mongo"])
async def twin(request: pytest.FixtureRequest, isolation: dict[str, str]) -> AsyncIterator[Twin]:
    """A store and its pending markers, reachable behind its back."""
    if request.param == "memory":
        store = MemoryUserStore()
        yield Twin(store, MemoryMarkers(store))
        return
    async with real_mongo(request, isolation) as client:
        mongo = MongoUserStore(client, isolation["mongo_db"])
        await mongo.setup()
        yield Twin(mongo, MongoMarkers(client[isolation["mongo_db"]][MARKERS]))


@pytest.fixture(params=["memory", "mongo"])
async def interfering_store(
    request: pytest.FixtureRequest, isolation: dict[str, str]
) -> AsyncIterator[InterferingMemoryStore | InterferingMongoStore]:
    if request.param == "memory":
        yield InterferingMemoryStore()
        return
    async with real_mongo(request, isolation) as client:
        store = InterferingMongoStore(client, isolation["mongo_db"])
        await store.setup()
        yield store


@pytest.fixture
async def redis_client(
    servers: Servers, isolation: dict[str, str]
) -> AsyncIterator[Redis | RedisCluster]:
    """The session's Redis: one server, or the clustered topology's Redis Cluster,
    which learns its slots before the first commands, as the service's does at start:
    many concurrent first commands on a client that has not can trip over each other."""
    client = session_redis(servers)
    if isinstance(client, RedisCluster):
        await client.initialize()
    yield client
    await client.aclose()
    await drop_test_data(servers, isolation)


@pytest.fixture(params=["memory", "redis", "redis-near-cache", "redis-cluster"])
async def revocations(
    request: pytest.FixtureRequest, isolation: dict[str, str]
) -> AsyncIterator[MemoryRevocationStore | RedisRevocationStore]:
    prefix = isolation["redis_prefix"]
    if request.param == "memory":
        yield MemoryRevocationStore()
        return
    if request.param == "redis-cluster":
        # With a near cache asked for: a cluster refuses its channel, so every check
        # reads Redis, and the contract holds the same.
        nodes = request.getfixturevalue("redis_cluster")
        cluster = connect_cluster(nodes.url, timeout_seconds=2.0)
        await cluster.initialize()
        store = RedisRevocationStore(cluster, prefix, read_legacy_keys=False, near_cache_keys=1000)
        await store.start()
        yield store
        await store.close()
        await cluster.aclose()
        return
    # Its own client rather than `redis_client`: an async fixture cannot request another.
    servers: Servers = request.getfixturevalue("servers")
    near_cache_keys = 1000 if request.param == "redis-near-cache" else None
    client = session_redis(servers)
    if isinstance(client, RedisCluster):
        await client.initialize()
    try:
        store = RedisRevocationStore(
            client,
            prefix,
            read_legacy_keys=not servers.redis_clustered,
            near_cache_keys=near_cache_keys,
        )
        await store.start()
        if store.near_cache is not None and not servers.redis_clustered:
            await until_live(store.near_cache)  # on a cluster it stays off: direct reads
        yield store
        await store.close()
    finally:
        await client.aclose()
    await drop_test_data(servers, isolation)


@pytest.fixture(params=["memory", "redis", "redis-near-cache", "redis-cluster"])
def limiter(
    request: pytest.FixtureRequest, isolation: dict[str, str]
) -> MemoryRateLimiter | RedisRateLimiter:
    prefix = isolation["redis_prefix"]
    if request.param == "memory":
        return MemoryRateLimiter()
    if request.param == "redis-cluster":
        return RedisRateLimiter(request.getfixturevalue("cluster_client"), prefix, cluster=True)
    clustered = request.getfixturevalue("servers").redis_clustered
    client = request.getfixturevalue("redis_client")
    if request.param == "redis-near-cache" and not clustered:  # a cluster has none
        near_cache = request.getfixturevalue("live_near_cache")
        return RedisRateLimiter(client, prefix, near_cache=near_cache)
    return RedisRateLimiter(client, prefix, cluster=clustered)


@pytest.fixture
async def live_near_cache(servers: Servers, isolation: dict[str, str]) -> AsyncIterator[NearCache]:
    """The service's kind of near cache (denylist and introspection counters), its
    channel up, on a client of its own."""
    async with Redis.from_url(servers.redis_url) as client:
        cache = NearCache(client, near_cache_prefixes(isolation["redis_prefix"]), 1000)
        async with cache:
            await until_live(cache)
            yield cache
