"""One app on private servers, under steady traffic, while Redis, MongoDB and Kafka each
stop and come back in turn. In each window the documented behaviour holds; afterwards
the app serves again without a restart, and nothing recorded was lost or half-written.
(tests/integration/test_real_servers.py checks each outage alone, without traffic.)"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from auth_api.app import create_app
from auth_api.settings import Settings
from infra.stack_lib.api import PrivateServer
from tests.conftest import running
from tests.events.support import envelopes, outbox_drained, read_topic
from tests.robustness.conftest import PrivateStack
from tests.robustness.traffic import Traffic, traffic_through
from tests.support.api import (
    assert_problem,
    bearer,
    login,
    register,
    registered_token,
    unique_email,
)

pytestmark = pytest.mark.integration
GENERIC_503 = "The service is temporarily unavailable. Please retry shortly."


async def test_each_server_stops_and_returns_under_traffic(
    real_settings: Callable[..., Settings], private_stack: PrivateStack
) -> None:
    settings = real_settings(
        **private_stack.urls,
        # Short, so that an outage window takes seconds; not so short that a busy
        # two-core machine turns slow answers into timeouts.
        io_timeout_seconds=1.0,
        # Every /auth/me reads MongoDB; the cache's own window is the next test's.
        profile_cache_seconds=0,
        login_account_ip_limit=3,
        login_ip_limit=100_000,
        register_ip_limit=100_000,
        register_global_limit=100_000,
    )
    async with running(create_app(settings)) as api:
        async with traffic_through(api) as traffic:
            await traffic.rounds_in("healthy", 3)
            await redis_outage(api, traffic, private_stack.redis)
            await mongo_outage(api, traffic, private_stack.mongo)
            await kafka_outage(api, traffic, private_stack.kafka)
        await outbox_drained(api, seconds=60)
    assert_only_documented_failures(traffic)
    expect(traffic, "healthy", register=201, login=200, me=200)
    await assert_nothing_lost(settings, traffic)


async def test_a_cached_profile_outlives_mongodb_by_at_most_its_ttl(
    real_settings: Callable[..., Settings], private_mongo: PrivateServer
) -> None:
    settings = real_settings(
        mongo_url=f"mongodb://127.0.0.1:{private_mongo.port}",
        io_timeout_seconds=0.5,
        profile_cache_seconds=1,
    )
    async with running(create_app(settings)) as api:
        _, token = await registered_token(api)
        polled: list[tuple[float, int]] = []
        done = asyncio.Event()

        async def poll() -> None:  # more often than the TTL, as a busy client would
            while not done.is_set():
                status = (await api.get("/auth/me", headers=bearer(token))).status_code
                polled.append((time.monotonic(), status))
                await asyncio.sleep(0.25)

        poller = asyncio.create_task(poll())
        try:
            await asyncio.sleep(0.5)
            await asyncio.to_thread(private_mongo.stop)
            stopped = time.monotonic()
            await asyncio.sleep(3)
        finally:
            done.set()  # not cancel(): a driver call can lose a cancellation
            await poller
    # After the TTL, and a margin for the last read before the stop, no cache is left.
    late = [status for at, status in polled if at > stopped + 1.5]
    assert late
    assert set(late) == {503}


async def redis_outage(api: httpx.AsyncClient, traffic: Traffic, redis: PrivateServer) -> None:
    _, token = await registered_token(api)
    await stop(traffic, redis)
    await traffic.rounds_in("redis down", 3)
    # Fail closed: no token is accepted, and a logout does not claim success.
    assert_problem(
        await api.post("/auth/logout", headers=bearer(token)), 503, "SERVICE_UNAVAILABLE"
    )
    await assert_login_throttled_in_process(api)
    await restart(traffic, redis, lambda: me_answers_200(api))
    await traffic.rounds_in("redis back", 3)
    # The logout that failed can be retried, and then holds.
    assert (await api.post("/auth/logout", headers=bearer(token))).status_code == 204
    assert (await api.get("/auth/me", headers=bearer(token))).status_code == 401
    expect(traffic, "redis down", register=201, login=200, me=503)
    expect(traffic, "redis back", register=201, login=200, me=200)


async def assert_login_throttled_in_process(api: httpx.AsyncClient) -> None:
    """Without Redis the per-process limiter counts (limit 3): no unlimited guessing."""
    email = unique_email("guessed")
    assert (await register(api, email)).status_code == 201
    for _ in range(3):
        assert (await login(api, email, "wrong password!")).status_code == 401
    assert_problem(await login(api, email, "wrong password!"), 429, "RATE_LIMITED")


async def mongo_outage(api: httpx.AsyncClient, traffic: Traffic, mongo: PrivateServer) -> None:
    await stop(traffic, mongo)
    await traffic.rounds_in("mongo down", 3)
    ready = await api.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["mongodb"] == "unavailable"
    await restart(traffic, mongo, lambda: login_answers_200(api))
    await traffic.rounds_in("mongo back", 3)
    expect(traffic, "mongo down", register=503, login=503, me=503)
    expect(traffic, "mongo back", register=201, login=200, me=200)


async def kafka_outage(api: httpx.AsyncClient, traffic: Traffic, kafka: PrivateServer) -> None:
    await stop(traffic, kafka)
    await traffic.rounds_in("kafka down", 5)
    backlog = (await api.get("/health/ready")).json()["outbox"]["backlog"]
    assert backlog >= 10, "events recorded while Kafka is down wait in the outbox"
    # Recovered once delivery has caught up; requests never waited for Kafka.
    await restart(traffic, kafka, lambda: delivery_caught_up(api), seconds=60)
    await traffic.rounds_in("kafka back", 3)
    expect(traffic, "kafka down", register=201, login=200, me=200)
    expect(traffic, "kafka back", register=201, login=200, me=200)


async def stop(traffic: Traffic, server: PrivateServer) -> None:
    traffic.phase = f"{server.name} stopping"
    await asyncio.to_thread(server.stop)  # a thread: the traffic keeps running meanwhile


async def restart(
    traffic: Traffic,
    server: PrivateServer,
    recovered: Callable[[], Awaitable[bool]],
    seconds: float = 30,
) -> None:
    """Start the server again and wait, bounded, until the same app has recovered."""
    traffic.phase = f"{server.name} recovering"
    await asyncio.to_thread(server.start)
    deadline = time.monotonic() + seconds
    while not await recovered():
        assert time.monotonic() < deadline, f"no recovery within {seconds}s of {server.name}"
        await asyncio.sleep(0.2)


async def delivery_caught_up(api: httpx.AsyncClient) -> bool:
    """Only events recorded in the last second wait (the traffic keeps adding some)."""
    outbox = (await api.get("/health/ready")).json()["outbox"]
    return bool(outbox.get("status") == "ok" and outbox.get("oldest_age_seconds", 99) < 1)


async def login_answers_200(api: httpx.AsyncClient) -> bool:
    email = unique_email("probe")
    await register(api, email)
    return (await login(api, email)).status_code == 200


async def me_answers_200(api: httpx.AsyncClient) -> bool:
    # Logging in needs no Redis: the token is fresh, its check is what must recover.
    _, token = await registered_token(api)
    return (await api.get("/auth/me", headers=bearer(token))).status_code == 200


def expect(traffic: Traffic, phase: str, **statuses: int) -> None:
    """Every request of each operation that ran wholly within `phase` got its status."""
    for operation, status in statuses.items():
        seen = Counter(o.status for o in traffic.during(phase, operation))
        assert seen, f"no {operation} ran wholly within '{phase}'"
        assert set(seen) == {status}, f"{operation} during '{phase}': {dict(seen)}"


def assert_only_documented_failures(traffic: Traffic) -> None:
    """Whatever the phase: every request answered in bounded time, and the only server
    error is the retryable 503 whose body names no server."""
    for outcome in traffic.outcomes:
        assert outcome.status != 0, f"no answer: {outcome}"
        if outcome.status >= 500:
            assert (outcome.status, outcome.code) == (503, "SERVICE_UNAVAILABLE"), outcome
            assert (outcome.detail, outcome.retry_after) == (GENERIC_503, "1"), outcome


async def assert_nothing_lost(settings: Settings, traffic: Traffic) -> None:
    """Every stored user has exactly one user.registered event and every event a user;
    every successful login has its user.logged_in event."""
    assert settings.mongo_url is not None
    assert settings.kafka_bootstrap is not None
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    try:
        users = mongo[settings.mongo_db]["users"]
        stored = {doc["_id"]: doc["outbox"] async for doc in users.find({}, {"outbox": 1})}
    finally:
        await mongo.close()
    assert set(traffic.registered) <= set(stored), "a 201 registration was not stored"
    assert all(outbox == [] for outbox in stored.values()), "undelivered events remain"
    prefix = settings.kafka_topic_prefix
    registered = await events(settings.kafka_bootstrap, prefix + "user.registered")
    assert Counter(e["subject"] for e in registered) == Counter(set(stored))
    logins = await events(settings.kafka_bootstrap, prefix + "user.logged_in")
    sessions = Counter(e["data"]["session_id"] for e in logins)
    assert traffic.login_sessions <= set(sessions), "a 200 login has no event"
    assert set(sessions.values()) == {1}


async def events(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """The topic's events, one per event id: delivery is at least once, and a
    redelivered event keeps its id."""
    unique = {e["id"]: e for e in envelopes(await read_topic(bootstrap, topic))}
    return list(unique.values())
