"""Behaviours that only the real servers can show: concurrency, several instances,
timing, and what happens when a server stops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import argon2.low_level
import pytest
from pymongo import AsyncMongoClient

from auth_api.app import create_app
from auth_api.settings import Settings
from infra.stack_lib.api import PrivateServer
from tests.conftest import running
from tests.support.api import (
    assert_problem,
    bearer,
    login,
    register,
    registered_token,
    unique_email,
)
from tests.support.polling import eventually
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]


async def test_concurrent_registrations_of_one_email_create_one_user(
    real_settings: SettingsFactory, servers: Servers
) -> None:
    settings = real_settings(register_ip_limit=100)
    email = unique_email()
    async with running(create_app(settings)) as api:
        responses = await asyncio.gather(*(register(api, email) for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19
    mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(servers.mongo_url)
    try:
        users = mongo[settings.mongo_db]["users"]
        assert await users.count_documents({"email_normalized": email}) == 1
    finally:
        await mongo.close()


async def test_revocation_through_one_instance_holds_on_another(
    real_settings: SettingsFactory,
) -> None:
    settings = real_settings()
    async with running(create_app(settings)) as first, running(create_app(settings)) as second:
        _, token = await registered_token(first)
        assert (await second.get("/auth/me", headers=bearer(token))).status_code == 200
        assert (await first.post("/auth/logout", headers=bearer(token))).status_code == 204
        assert_problem(
            await second.get("/auth/me", headers=bearer(token)), 401, "NOT_AUTHENTICATED"
        )


async def test_rate_limits_are_shared_between_instances(real_settings: SettingsFactory) -> None:
    settings = real_settings(login_account_ip_limit=3)
    email = unique_email()
    async with running(create_app(settings)) as first, running(create_app(settings)) as second:
        await register(first, email)
        for client in (first, second, first):
            assert (await login(client, email, "wrong password!")).status_code == 401
        assert_problem(await login(second, email, "wrong password!"), 429, "RATE_LIMITED")


async def test_unknown_email_and_wrong_password_cost_the_same_hash(
    real_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login for an unknown email must not answer faster than a wrong password, or the
    time tells which emails have accounts. Both paths are made of the same work: one
    argon2 verification at the configured cost, against a real hash or a stand-in one.
    That is checked by counting the verifications, not by timing them, so that a loaded
    machine cannot make the test fail or pass by chance."""
    settings = real_settings(
        argon2_memory_kib=19456,
        argon2_time_cost=2,
        login_account_ip_limit=1000,
        login_ip_limit=1000,
        login_delay_after_failures=1000,
    )
    verified = record_argon2_verifications(monkeypatch)
    email = unique_email()
    async with running(create_app(settings)) as api:
        await register(api, email)
        costs: dict[str, list[str]] = {}
        for label, address in (("unknown", unique_email()), ("wrong", email)):
            verified.clear()
            assert (await login(api, address, "not the password")).status_code == 401
            costs[label] = list(verified)
    assert costs["unknown"] == costs["wrong"] == ["m=19456,t=2,p=1"], costs


def record_argon2_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The parameters of every argon2 hash verified against from now on."""
    seen: list[str] = []
    original = argon2.low_level.verify_secret

    def recording(hash: bytes, secret: bytes, type: argon2.low_level.Type) -> bool:
        seen.append(hash.decode().split("$")[3])
        return original(hash, secret, type)

    monkeypatch.setattr(argon2.low_level, "verify_secret", recording)
    return seen


async def test_redis_down_fails_closed_and_recovers(
    real_settings: SettingsFactory, private_redis: PrivateServer
) -> None:
    settings = real_settings(
        redis_url=f"redis://127.0.0.1:{private_redis.port}/0", io_timeout_seconds=0.5
    )
    async with running(create_app(settings)) as api:
        _, token = await registered_token(api)
        private_redis.stop()
        assert_problem(await api.get("/auth/me", headers=bearer(token)), 503, "SERVICE_UNAVAILABLE")
        assert_problem(
            await api.post("/auth/logout", headers=bearer(token)), 503, "SERVICE_UNAVAILABLE"
        )
        # Shared, and logins still work without it: reported, yet this process stays ready.
        ready = await api.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"]["redis"] == "unavailable"
        assert ready.json()["degraded"] == ["redis"]
        private_redis.start()

        async def me_ok() -> bool:
            return (await api.get("/auth/me", headers=bearer(token))).status_code == 200

        await eventually(me_ok, 10, "the service to recover after Redis came back")
        assert (await api.post("/auth/logout", headers=bearer(token))).status_code == 204
        assert (await api.get("/auth/me", headers=bearer(token))).status_code == 401


async def test_a_redis_restart_costs_no_request_on_a_connection_it_closed(
    real_settings: SettingsFactory, private_redis: PrivateServer
) -> None:
    """The pool still holds the connections the old server closed; the first command on
    each must reconnect rather than fail with 503."""
    settings = real_settings(redis_url=f"redis://127.0.0.1:{private_redis.port}/0")
    async with running(create_app(settings)) as api:
        _, token = await registered_token(api)

        async def me_statuses() -> list[int]:
            calls = (api.get("/auth/me", headers=bearer(token)) for _ in range(8))
            return [response.status_code for response in await asyncio.gather(*calls)]

        assert await me_statuses() == [200] * 8  # several connections now sit in the pool
        private_redis.stop()
        private_redis.start()
        assert await me_statuses() == [200] * 8


async def test_login_throttles_per_process_while_redis_is_down(
    real_settings: SettingsFactory, private_redis: PrivateServer
) -> None:
    settings = real_settings(
        redis_url=f"redis://127.0.0.1:{private_redis.port}/0",
        io_timeout_seconds=0.5,
        login_account_ip_limit=3,
    )
    email = unique_email()
    async with running(create_app(settings)) as api:
        await register(api, email)
        private_redis.stop()
        assert (await login(api, email)).status_code == 200
        for _ in range(3):
            assert (await login(api, email, "wrong password!")).status_code == 401
        assert_problem(await login(api, email, "wrong password!"), 429, "RATE_LIMITED")


async def test_mongo_down_is_503_with_a_generic_body_and_recovers(
    real_settings: SettingsFactory, private_mongo: PrivateServer
) -> None:
    settings = real_settings(
        mongo_url=f"mongodb://127.0.0.1:{private_mongo.port}", io_timeout_seconds=0.5
    )
    async with running(create_app(settings)) as api:
        email, _ = await registered_token(api)
        private_mongo.stop()
        body = assert_problem(await register(api), 503, "SERVICE_UNAVAILABLE")
        assert "mongo" not in body["detail"].lower()
        assert_problem(await login(api, email), 503, "SERVICE_UNAVAILABLE")
        ready = await api.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["mongodb"] == "unavailable"
        private_mongo.start()

        async def login_ok() -> bool:
            return (await login(api, email)).status_code == 200

        await eventually(login_ok, 20, "the service to recover after MongoDB came back")
