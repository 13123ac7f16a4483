"""The service on a master watched by Redis Sentinel (AUTH_REDIS_MODE=sentinel: a master,
one replica, three sentinels): two instances share revocations and rate limits, and the
master's death is a 503, never a 500, until the sentinels promote the replica."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from auth_api.app import create_app
from auth_api.errors import DependencyUnavailable
from auth_api.security.redis_stores import RedisRevocationStore
from auth_api.settings import Settings
from infra.stack_lib.api import free_port
from infra.stack_lib.redis_cluster import redis_cli
from infra.stack_lib.redis_sentinel import MASTER_NAME, NativeRedisSentinel
from tests.conftest import running
from tests.support.api import assert_problem, bearer
from tests.support.sessions import logged_in, me_status
from tests.support.two_instances import (
    login_limit_is_shared_by_two_instances,
    sessions_hold_across_two_instances,
)

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]


@pytest.fixture
def sentinel_settings(
    real_settings: SettingsFactory, redis_sentinel: NativeRedisSentinel
) -> SettingsFactory:
    def build(**overrides: object) -> Settings:
        sentinel = {
            "redis_mode": "sentinel",
            "redis_url": None,
            "redis_sentinels": redis_sentinel.sentinels,
            "redis_sentinel_master": MASTER_NAME,
        }
        return real_settings(**{**sentinel, **overrides})

    return build


async def test_sessions_work_across_two_instances(sentinel_settings: SettingsFactory) -> None:
    await sessions_hold_across_two_instances(sentinel_settings())


async def test_login_limits_are_shared_between_instances(
    sentinel_settings: SettingsFactory,
) -> None:
    await login_limit_is_shared_by_two_instances(sentinel_settings(login_account_ip_limit=3))


async def test_a_master_no_sentinel_knows_is_a_503(sentinel_settings: SettingsFactory) -> None:
    """The sentinels answer but know no master by that name (MasterNotFoundError):
    the documented 503 at once, not a 500 and not a wait."""
    async with running(create_app(sentinel_settings())) as served:
        _, tokens = await logged_in(served)
    access = str(tokens["access_token"])
    lost = sentinel_settings(redis_sentinel_master="no-such-master", io_timeout_seconds=0.5)
    async with running(create_app(lost)) as client:
        response = await client.get("/auth/me", headers=bearer(access))
        assert_problem(response, 503, "SERVICE_UNAVAILABLE")
        # Redis is shared state: readiness reports it degraded, and stays ready.
        ready = (await client.get("/health/ready")).json()
        assert (ready["checks"]["redis"], ready["degraded"]) == ("unavailable", ["redis"])


async def test_a_write_to_a_replica_is_unavailable_not_an_error(
    redis_sentinel: NativeRedisSentinel, isolation: dict[str, str]
) -> None:
    """What a write meets on a master the sentinels have just demoted: READONLY, which
    the service reports as Redis out of reach (its 503)."""
    replica = Redis(port=redis_sentinel.replica_port(), socket_timeout=2.0)
    try:
        store = RedisRevocationStore(replica, isolation["redis_prefix"])
        with pytest.raises(DependencyUnavailable):
            await store.revoke("jti", "user", ttl_seconds=60)
    finally:
        await replica.aclose()


async def statuses_until_served(client: httpx.AsyncClient, access: str) -> tuple[set[int], float]:
    """/auth/me, asked every 100 ms from the kill on until it answers 200 again (at most
    30 s): every status seen, and the seconds until the 200."""
    started, seen = time.monotonic(), set()
    while time.monotonic() - started < 30:
        status = await me_status(client, access)
        seen.add(status)
        if status == 200:
            break
        await asyncio.sleep(0.1)
    return seen, time.monotonic() - started


async def test_a_killed_master_is_a_503_until_the_sentinels_promote_the_replica(
    sentinel_settings: SettingsFactory, redis_sentinel: NativeRedisSentinel
) -> None:
    settings = sentinel_settings(io_timeout_seconds=0.5)
    async with running(create_app(settings)) as first, running(create_app(settings)) as second:
        _, tokens = await logged_in(first)
        access = str(tokens["access_token"])
        assert await me_status(second, access) == 200
        master = redis_sentinel.master_port()
        assert master is not None
        redis_sentinel.kill(master)
        try:
            seen, failover_seconds = await statuses_until_served(second, access)
            print(f"failover: /auth/me served again {failover_seconds:.1f} s after the kill")
            assert 200 in seen, "not served again 30 s after the master's kill"
            assert 503 in seen
            assert seen <= {503, 200}
            assert redis_sentinel.master_port() != master
            assert (await first.post("/auth/logout", headers=bearer(access))).status_code == 204
            assert await me_status(second, access) == 401
            assert await me_status(first, access) == 401
        finally:
            redis_sentinel.restart(master)


@pytest.fixture
def private_sentinel(tmp_path: Path) -> Iterator[NativeRedisSentinel]:
    """A setup of this test's own on free ports: pausing its servers would put the
    shared one's sentinels in TILT mode (no failover for 30 s) after they resume."""
    taken: set[int] = set()
    data = [free_port(taken) for _ in range(2)]
    sentinels = [free_port(taken) for _ in range(3)]
    setup = NativeRedisSentinel(tmp_path / "sentinel", data, sentinels)
    setup.start()
    yield setup
    setup.stop()


async def test_a_hung_master_and_hung_sentinels_are_a_503_not_a_hang(
    real_settings: SettingsFactory, private_sentinel: NativeRedisSentinel
) -> None:
    """Master and sentinels frozen (SIGSTOP): connections open, no reply. Each request
    ends in a few I/O timeouts (0.5 s here) with a 503, and the service serves again
    once they resume."""
    settings = real_settings(
        redis_mode="sentinel",
        redis_url=None,
        redis_sentinels=private_sentinel.sentinels,
        redis_sentinel_master=MASTER_NAME,
        io_timeout_seconds=0.5,
    )
    master = private_sentinel.master_port()
    assert master is not None
    frozen = [master, *private_sentinel.sentinel_ports]
    async with running(create_app(settings)) as client:
        _, tokens = await logged_in(client)
        access = str(tokens["access_token"])
        private_sentinel.pause(*frozen)
        try:
            for _ in range(3):  # the pooled connection first, then fresh discoveries
                started = time.monotonic()
                async with asyncio.timeout(30):
                    response = await client.get("/auth/me", headers=bearer(access))
                print(f"hung: 503 after {time.monotonic() - started:.1f} s")
                assert_problem(response, 503, "SERVICE_UNAVAILABLE")
        finally:
            private_sentinel.resume(*frozen)
        assert await me_status(client, access) == 200


async def test_a_demoted_master_is_left_for_the_promoted_replica(
    sentinel_settings: SettingsFactory, redis_sentinel: NativeRedisSentinel
) -> None:
    """`SENTINEL FAILOVER`: the master becomes a replica while the service still holds
    connections to it. A write there meets READONLY, which drops those connections and
    asks the sentinels again: the logout lands on the new master (or is a 503 while the
    switch is under way), never a 500, and holds on both instances."""
    settings = sentinel_settings()
    async with running(create_app(settings)) as first, running(create_app(settings)) as second:
        _, tokens = await logged_in(first)
        access = str(tokens["access_token"])
        assert await me_status(second, access) == 200
        old = redis_sentinel.master_port()
        assert old is not None
        redis_cli(redis_sentinel.sentinel_ports[0], "sentinel", "failover", MASTER_NAME)
        redis_sentinel.wait_for_new_master(old)
        statuses = []
        for _ in range(50):
            statuses.append((await first.post("/auth/logout", headers=bearer(access))).status_code)
            if statuses[-1] == 204:
                break
            await asyncio.sleep(0.2)
        print(f"logout statuses after the switch: {statuses}")
        assert statuses[-1] == 204
        assert set(statuses) <= {204, 503}, statuses
        assert await me_status(second, access) == 401
        assert await me_status(first, access) == 401
    redis_sentinel.wait_until_settled()
