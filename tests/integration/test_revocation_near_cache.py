"""The service's near cache of the denylist (AUTH_REVOCATION_NEAR_CACHE), on the real
servers: in steady state an authenticated request makes no Redis command; without
the cache it makes one MGET; and a cut channel lets no revoked token through. Each
test has a Redis of its own, whose command counters only it moves."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from auth_api.app import create_app
from auth_api.security.redis_stores import RedisRevocationStore
from auth_api.settings import Settings
from infra.stack_lib.api import PrivateServer
from quizauth_client.near_cache import NearCache
from tests.conftest import running
from tests.ops.support import scrape
from tests.support.api import assert_problem, bearer, registered_token
from tests.support.near_cache import commands_between, commands_run, cut_channel, until_live
from tests.support.polling import eventually
from tests.support.sessions import logged_in, me_status

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]


def near_cache_of(app: FastAPI) -> NearCache | None:
    store = app.state.container.backends.revocations
    assert isinstance(store, RedisRevocationStore)
    return store.near_cache


@pytest.mark.parametrize(("near_cache", "expected"), [(True, {}), (False, {"mget": 20})])
async def test_me_in_steady_state_makes_no_redis_command_with_the_near_cache(
    real_settings: SettingsFactory,
    private_redis: PrivateServer,
    near_cache: bool,
    expected: dict[str, int],
) -> None:
    url = f"redis://127.0.0.1:{private_redis.port}/0"
    app = create_app(real_settings(redis_url=url, revocation_near_cache=near_cache))
    async with running(app) as api, Redis.from_url(url) as admin:
        cache = near_cache_of(app)
        assert (cache is not None) == near_cache
        if cache is not None:
            await until_live(cache)
        _, token = await registered_token(api)
        assert await me_status(api, token) == 200  # the first check reads Redis
        before = await commands_run(admin)
        for _ in range(20):
            assert await me_status(api, token) == 200
        assert commands_between(before, await commands_run(admin)) == expected


async def test_a_logout_meanwhile_a_cut_channel_is_refused(
    real_settings: SettingsFactory, private_redis: PrivateServer
) -> None:
    """Two instances; the second's channel is cut, and a logout through the first is
    refused by the second anyway, then again once its channel is back."""
    url = f"redis://127.0.0.1:{private_redis.port}/0"
    settings = real_settings(redis_url=url)
    second_app = create_app(settings)
    async with (
        running(create_app(settings)) as first,
        running(second_app) as second,
        Redis.from_url(url) as admin,
    ):
        cache = near_cache_of(second_app)
        assert cache is not None
        await until_live(cache)
        _, tokens = await logged_in(first)
        access = str(tokens["access_token"])
        assert await me_status(second, access) == 200
        assert await me_status(second, access) == 200
        await cut_channel(admin, cache)
        assert (await first.post("/auth/logout", headers=bearer(access))).status_code == 204
        refused = await second.get("/auth/me", headers=bearer(access))
        assert_problem(refused, 401, "NOT_AUTHENTICATED")
        await until_live(cache)
        assert await me_status(second, access) == 401


async def test_with_redis_stopped_a_token_seen_before_is_unavailable_not_accepted(
    real_settings: SettingsFactory, private_redis: PrivateServer
) -> None:
    url = f"redis://127.0.0.1:{private_redis.port}/0"
    app = create_app(real_settings(redis_url=url, io_timeout_seconds=0.5))
    async with running(app) as api:
        cache = near_cache_of(app)
        assert cache is not None
        await until_live(cache)
        _, token = await registered_token(api)
        assert await me_status(api, token) == 200
        assert await me_status(api, token) == 200
        assert cache.stats.hits >= 1
        private_redis.stop()
        unavailable = await api.get("/auth/me", headers=bearer(token))
        assert_problem(unavailable, 503, "SERVICE_UNAVAILABLE")
        private_redis.start()
        await until_live(cache, seconds=20)
        assert await me_status(api, token) == 200


async def test_embedded_mode_has_no_near_cache(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings())
    async with running(app) as api:
        assert not isinstance(app.state.container.backends.revocations, RedisRevocationStore)
        _, token = await registered_token(api)
        assert await me_status(api, token) == 200


async def test_metrics_show_where_revocation_checks_were_answered(
    real_settings: SettingsFactory, private_redis: PrivateServer
) -> None:
    url = f"redis://127.0.0.1:{private_redis.port}/0"
    app = create_app(real_settings(redis_url=url))
    async with running(app) as api, Redis.from_url(url) as admin:
        cache = near_cache_of(app)
        assert cache is not None
        await until_live(cache)
        _, token = await registered_token(api)
        before = await scrape(api)
        for _ in range(3):
            assert await me_status(api, token) == 200
        await cut_channel(admin, cache)
        await eventually(lambda: cache.channel_losses == 1, 5, "the loss noticed")
        after = await scrape(api)
    reads = "auth_revocation_near_cache_reads_total"
    assert after.value(reads, source="redis_miss") - before.value(reads, source="redis_miss") == 1
    assert after.value(reads, source="copy") - before.value(reads, source="copy") == 2
    assert after.value("auth_revocation_near_cache_channel_losses_total") == 1
    assert before.value("auth_revocation_near_cache_live") == 1
    assert before.value("auth_revocation_near_cache_keys") == 0
    assert after.value("auth_revocation_near_cache_keys") == 0  # emptied with the loss


INTROSPECTION_SECRET = "introspection-secret-0123456789"


async def introspected(api: httpx.AsyncClient, token: str) -> bool:
    """Whether introspection, by a client with valid credentials, says the token is active."""
    credentials = base64.b64encode(f"quiz-service:{INTROSPECTION_SECRET}".encode()).decode()
    reply = await api.post(
        "/auth/introspect",
        content=f"token={token}",
        headers={
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert reply.status_code == 200, reply.text
    return bool(reply.json()["active"])


@pytest.mark.parametrize(
    ("near_cache", "expected"), [(True, {}), (False, {"evalsha": 20, "get": 20, "mget": 20})]
)
async def test_introspection_in_steady_state_makes_no_redis_command_with_the_near_cache(
    real_settings: SettingsFactory,
    private_redis: PrivateServer,
    near_cache: bool,
    expected: dict[str, int],
) -> None:
    """Without the cache each introspection peeks at its caller's failure counter (the
    script, whose GET counts too) and reads the denylist (MGET); with it, a counter never
    written and a token checked before are both answered from the copy. A logout is
    still seen at once."""
    url = f"redis://127.0.0.1:{private_redis.port}/0"
    settings = real_settings(
        redis_url=url,
        revocation_near_cache=near_cache,
        introspection_clients=[f"quiz-service:{INTROSPECTION_SECRET}"],
    )
    app = create_app(settings)
    async with running(app) as api, Redis.from_url(url) as admin:
        cache = near_cache_of(app)
        if cache is not None:
            await until_live(cache)
        _, token = await registered_token(api)
        assert await introspected(api, token)  # the first reads Redis
        before = await commands_run(admin)
        for _ in range(20):
            assert await introspected(api, token)
        assert commands_between(before, await commands_run(admin)) == expected
        assert (await api.post("/auth/logout", headers=bearer(token))).status_code == 204
        assert not await introspected(api, token)
