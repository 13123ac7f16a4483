"""Shared fixtures. Integration tests get session-scoped real servers and, per test,
their own database, Redis key prefix and topic prefix, so tests cannot leak."""

from __future__ import annotations

import io
import logging
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from fastapi import FastAPI
from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from auth_api.app import create_app
from auth_api.observability import json_log_handler
from auth_api.security.redis_stores import connect_cluster
from auth_api.settings import Settings
from infra.stack_lib.api import PrivateCluster, PrivateServer
from infra.stack_lib.redis_cluster import NODES, NativeRedisCluster
from infra.stack_lib.redis_sentinel import NativeRedisSentinel, sentinel_ports_from_env
from tests.support.logs import CapturedLogs
from tests.support.servers import Servers, find_servers

# The built container image's checks need the image: `make image-test` runs them.
collect_ignore = ["image"]

TEST_SECRET = secrets.token_urlsafe(48)
# Cheap hashing keeps the suite fast; tests about hashing cost set their own parameters.
FAST_HASHING: dict[str, Any] = {"argon2_memory_kib": 64, "argon2_time_cost": 1}


def require_services() -> bool:
    return os.environ.get("AUTH_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    try:
        found = find_servers()
    except Exception as exc:
        if require_services():
            pytest.fail(f"real servers required (AUTH_REQUIRE_SERVICES=1): {exc}")
        pytest.skip(f"real servers unavailable: {exc}")
    if os.environ.get("AUTH_STACK_TOPOLOGY") == "cluster" and not found.redis_clustered:
        found.close()
        pytest.fail(
            f"AUTH_STACK_TOPOLOGY=cluster, but the servers found ({found.origin}) are not "
            "the clustered topology's: unset the AUTH_* server settings to use infra/stack"
        )
    yield found
    found.close()


def private_server(
    name: str, servers: Servers, tmp_path: Path, settings: dict[str, str] | None = None
) -> Iterator[PrivateServer]:
    """A server of this test's own, which the test may stop and start; the shared ones
    (`servers`) serve every other test and must never be disturbed."""
    server = PrivateServer(name, tmp_path / "stack", settings=settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_redis(servers: Servers, tmp_path: Path) -> Iterator[PrivateServer]:
    yield from private_server("redis", servers, tmp_path)


@pytest.fixture
def private_mongo(servers: Servers, tmp_path: Path) -> Iterator[PrivateServer]:
    """Kept in a file (the H2 backend): a restart keeps the data, as MongoDB's does, where
    the stack's default memory backend would come back empty."""
    persistent = {"AUTH_STACK_MONGO_BACKEND": "h2"}
    yield from private_server("mongo", servers, tmp_path, persistent)


@pytest.fixture
def private_kafka(servers: Servers, tmp_path: Path) -> Iterator[PrivateServer]:
    yield from private_server("kafka", servers, tmp_path)


@pytest.fixture
def private_mail(servers: Servers, tmp_path: Path) -> Iterator[PrivateServer]:
    """A mail catcher of the test's own: `url` is its SMTP URL, `mail_api` its API."""
    yield from private_server("mail", servers, tmp_path)


@pytest.fixture(scope="module")
def kafka_cluster(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrivateCluster]:
    """The clustered topology's Kafka, of this module's own on free ports: three KRaft
    nodes, each broker and controller, internal topics replicated 3 times with 2 in
    sync. A test may kill and restart its nodes. Started once per module that asks for
    it (about half a minute); the shared `servers` keep serving MongoDB and Redis."""
    cluster = PrivateCluster("kafka", tmp_path_factory.mktemp("kafka-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeRedisCluster]:
    """A native Redis Cluster (3 masters, 1 replica each), started once per session and
    only when a test asks for it. Its nodes take AUTH_STACK_REDIS_CLUSTER_PORT (default
    7000) and the five ports after it. It keeps nothing on disk: no key cleanup needed."""
    first = int(os.environ.get("AUTH_STACK_REDIS_CLUSTER_PORT", "7000"))
    ports = range(first, first + NODES)
    cluster = NativeRedisCluster(tmp_path_factory.mktemp("redis-cluster"), ports)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeRedisSentinel]:
    """A native Redis Sentinel setup (a master, a replica, 3 sentinels), started once per
    session and only when a test asks for it, on AUTH_STACK_REDIS_SENTINEL_DATA_PORT
    (6390, and the next port) and AUTH_STACK_REDIS_SENTINEL_PORT (26379, and the next
    two). It keeps nothing on disk; a test that kills the master restarts it."""
    data_ports, sentinel_ports = sentinel_ports_from_env()
    sentinel = NativeRedisSentinel(
        tmp_path_factory.mktemp("redis-sentinel"), data_ports, sentinel_ports
    )
    sentinel.start()
    yield sentinel
    sentinel.stop()


@pytest.fixture
async def cluster_client(redis_cluster: NativeRedisCluster) -> AsyncIterator[RedisCluster]:
    client = connect_cluster(redis_cluster.url, timeout_seconds=2.0)
    await client.initialize()
    yield client
    await client.aclose()


def session_redis(servers: Servers) -> Redis | RedisCluster:
    """A client of the session's Redis, whichever the topology: a cluster's on the
    clustered one."""
    if servers.redis_clustered:
        return connect_cluster(servers.redis_url, timeout_seconds=5.0)
    return Redis.from_url(servers.redis_url)


def new_isolation() -> dict[str, str]:
    """A database, Redis key prefix and topic prefix of their own, as settings fields;
    `drop_test_data` deletes all three."""
    tag = uuid.uuid4().hex[:12]
    return {
        "mongo_db": f"test_{tag}",
        "redis_prefix": f"test:{tag}:",
        "kafka_topic_prefix": f"t{tag}.",
    }


@pytest.fixture
def isolation() -> dict[str, str]:
    return new_isolation()


def isolated_settings(**overrides: Any) -> Settings:
    """In-process backends unless `overrides` name servers; never from AUTH_* variables."""
    values: dict[str, Any] = {
        "env": "test",
        "jwt_secret": TEST_SECRET,
        **FAST_HASHING,
        # Explicit, so AUTH_* variables in the environment cannot switch the mode.
        "mongo_url": None,
        "redis_url": None,
        "redis_mode": "standalone",
        "redis_sentinels": None,
        "redis_sentinel_master": None,
        "redis_sentinel_username": None,
        "redis_sentinel_password": None,
        "kafka_bootstrap": None,
        "smtp_url": None,
        # One partition per topic: hundreds of tests each create their own topics, and a
        # single local broker has a file-descriptor budget.
        "kafka_topic_partitions": 1,
        # One replica, whatever the environment says: the tests' broker is a single one.
        "kafka_replication_factor": 1,
        "kafka_min_insync_replicas": 1,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_settings() -> Callable[..., Settings]:
    return isolated_settings


@pytest.fixture
async def real_settings(
    servers: Servers, isolation: dict[str, str], make_settings: Callable[..., Settings]
) -> AsyncIterator[Callable[..., Settings]]:
    def build(**overrides: Any) -> Settings:
        connection = {
            "mongo_url": servers.mongo_url,
            "redis_url": servers.redis_url,
            "kafka_bootstrap": servers.kafka_bootstrap,
            **topology_of_shared(servers, overrides),
        }
        return make_settings(**{**connection, **isolation, **overrides})

    yield build
    await drop_test_data(servers, isolation)


def topology_of_shared(servers: Servers, overrides: dict[str, Any]) -> dict[str, Any]:
    """The session topology's settings for the shared servers that `overrides` keep:
    a test's private Redis or Kafka is a single server (PrivateServer)."""
    replaced = {
        "redis_url": ("redis_mode",),
        "kafka_bootstrap": ("kafka_replication_factor", "kafka_min_insync_replicas"),
    }
    dropped = {
        field for server, fields in replaced.items() if server in overrides for field in fields
    }
    return {field: value for field, value in servers.topology.items() if field not in dropped}


async def drop_test_topics(servers: Servers, prefix: str) -> None:
    """Delete the test's topics: left behind, they pile up across runs on the broker."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    except (KafkaError, OSError):
        pass  # best effort: a broker a test stopped on purpose may still be coming back
    finally:
        await admin.close()


async def drop_test_data(servers: Servers, isolation: dict[str, str]) -> None:
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongo_url)
    try:
        await mongo.drop_database(isolation["mongo_db"])
    finally:
        await mongo.close()
    redis = session_redis(servers)
    try:
        keys = [key async for key in redis.scan_iter(match=isolation["redis_prefix"] + "*")]
        for key in keys:  # one at a time: on a cluster they lie in many slots
            await redis.delete(key)
    finally:
        await redis.aclose()
    if topic_prefix := isolation.get("kafka_topic_prefix"):
        await drop_test_topics(servers, topic_prefix)


@asynccontextmanager
async def running(app: FastAPI, ip: str = "203.0.113.7") -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to the app, with its lifespan started and stopped."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


def client_at(app: FastAPI, ip: str) -> httpx.AsyncClient:
    """One more client of an app that is already `running`, from another address."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture(params=["embedded", "real"])
def api_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Callable[..., Settings]:
    """Settings factory for both modes: every API behaviour test runs against each."""
    if request.param == "embedded":
        return make_settings
    factory: Callable[..., Settings] = request.getfixturevalue("real_settings")
    return factory


@pytest.fixture
async def api(api_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(api_settings())) as client:
        yield client


@pytest.fixture
def json_logs() -> Iterator[CapturedLogs]:
    """Every log record of the process, at INFO and above, through the JSON formatter."""
    stream = io.StringIO()
    handler = json_log_handler(stream)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
