"""The service on a Redis Cluster (AUTH_REDIS_MODE=cluster, 3 masters with 1 replica
each): two instances share revocations and rate limits, and a master's death is a 503,
never a 500, until its replica takes over."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from auth_api.app import create_app
from auth_api.security.redis_stores import RedisRevocationStore
from auth_api.settings import Settings
from infra.stack_lib.redis_cluster import NativeRedisCluster, redis_cli
from quizauth_wire import DenylistLayout
from tests.conftest import running
from tests.support.api import bearer
from tests.support.sessions import logged_in, me_status
from tests.support.two_instances import (
    login_limit_is_shared_by_two_instances,
    sessions_hold_across_two_instances,
)

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]


@pytest.fixture
def cluster_settings(
    real_settings: SettingsFactory, redis_cluster: NativeRedisCluster
) -> SettingsFactory:
    def build(**overrides: object) -> Settings:
        return real_settings(redis_mode="cluster", redis_url=redis_cluster.url, **overrides)

    return build


async def test_sessions_work_across_two_instances(cluster_settings: SettingsFactory) -> None:
    await sessions_hold_across_two_instances(cluster_settings())


async def test_login_limits_are_shared_between_instances(cluster_settings: SettingsFactory) -> None:
    await login_limit_is_shared_by_two_instances(cluster_settings(login_account_ip_limit=3))


async def user_id_of(client: httpx.AsyncClient, access: str) -> str:
    response = await client.get("/auth/me", headers=bearer(access))
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


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


async def test_a_killed_master_is_a_503_until_its_replica_takes_over(
    cluster_settings: SettingsFactory, redis_cluster: NativeRedisCluster
) -> None:
    settings = cluster_settings(io_timeout_seconds=0.5)
    async with running(create_app(settings)) as first, running(create_app(settings)) as second:
        _, tokens = await logged_in(first)
        access = str(tokens["access_token"])
        user_id = await user_id_of(second, access)
        master = redis_cluster.master_of(DenylistLayout(settings.redis_prefix).user_key(user_id))
        redis_cluster.kill(master)
        try:
            seen, failover_seconds = await statuses_until_served(second, access)
            print(f"failover: /auth/me served again {failover_seconds:.1f} s after the kill")
            topology = redis_cli(redis_cluster.live_ports()[0], "cluster", "nodes")
            assert 200 in seen, f"not served again after 30 s; the cluster says:\n{topology}"
            assert 503 in seen
            assert seen <= {503, 200}
            assert (await first.post("/auth/logout", headers=bearer(access))).status_code == 204
            assert await me_status(second, access) == 401
            assert await me_status(first, access) == 401
        finally:
            redis_cluster.restart(master)


async def test_a_fresh_instance_serves_a_burst_of_first_requests(
    cluster_settings: SettingsFactory,
) -> None:
    """The first requests of an instance arrive together: each one's check answers."""
    settings = cluster_settings()
    async with running(create_app(settings)) as first:
        _, tokens = await logged_in(first)
        access = str(tokens["access_token"])
        async with running(create_app(settings)) as fresh:
            statuses = await asyncio.gather(*(me_status(fresh, access) for _ in range(40)))
    assert set(statuses) == {200}


async def test_with_the_near_cache_asked_for_every_check_reads_the_cluster(
    cluster_settings: SettingsFactory,
) -> None:
    """AUTH_REVOCATION_NEAR_CACHE=true on a cluster: its channel is refused, so the
    copy is never used; the other instance refuses a logged-out token at once."""
    settings = cluster_settings(revocation_near_cache=True)
    second_app = create_app(settings)
    async with running(create_app(settings)) as first, running(second_app) as second:
        store = second_app.state.container.backends.revocations
        assert isinstance(store, RedisRevocationStore)
        assert store.near_cache is not None
        _, tokens = await logged_in(first)
        access = str(tokens["access_token"])
        for _ in range(3):
            assert await me_status(second, access) == 200
        assert (await first.post("/auth/logout", headers=bearer(access))).status_code == 204
        assert await me_status(second, access) == 401
        assert not store.near_cache.live
        assert store.near_cache.stats.hits == 0
        assert store.near_cache.stats.direct >= 4
