"""Fixtures of the robustness suite: a victim app with a genuine user and tokens, and a
stack of private servers that a test may stop and start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from auth_api.app import create_app
from auth_api.settings import Settings
from auth_api.tokens.key_directory import KeyDirectory
from infra.stack_lib.api import PrivateServer
from tests.conftest import drop_test_data, isolated_settings, new_isolation, running
from tests.support.servers import Servers
from tests.support.sessions import logged_in


@dataclass(frozen=True)
class Victim:
    """An app serving one registered user, and that user's genuine tokens."""

    api: httpx.AsyncClient
    access_token: str
    refresh_token: str


settings_for = isolated_settings


async def victim_of(settings: Settings) -> AsyncIterator[Victim]:
    async with running(create_app(settings)) as api:
        _, tokens = await logged_in(api)
        yield Victim(api, str(tokens["access_token"]), str(tokens["refresh_token"]))


@pytest.fixture(scope="module")
async def victim() -> AsyncIterator[Victim]:
    """HS256, the default signing mode. Shared by a module's attacks, which must change
    nothing (test_the_victims_session_survives_the_attacks checks it, last)."""
    async for value in victim_of(settings_for()):
        yield value


@pytest.fixture(scope="module")
async def rs_victim(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Victim]:
    """RS256 from a key directory made by the key CLI's own code."""
    keys = tmp_path_factory.mktemp("rs-keys")
    KeyDirectory(keys).generate("RS256", activate=True)
    settings = settings_for(jwt_algorithm="RS256", jwt_keys_dir=keys)
    async for value in victim_of(settings):
        yield value


@dataclass(frozen=True)
class Target:
    """An app on the real servers, and its database to look into."""

    api: httpx.AsyncClient
    db: AsyncDatabase[dict[str, Any]]


@pytest.fixture(scope="module")
async def target(servers: Servers) -> AsyncIterator[Target]:
    """Shared by a module's requests, each of which must leave no trace but its own."""
    isolation = new_isolation()
    settings = settings_for(
        mongo_url=servers.mongo_url,
        redis_url=servers.redis_url,
        kafka_bootstrap=servers.kafka_bootstrap,
        register_ip_limit=10_000,
        register_global_limit=10_000,
        login_ip_limit=10_000,
        **isolation,
    )
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongo_url, tz_aware=True)
    try:
        async with running(create_app(settings)) as api:
            yield Target(api, mongo[settings.mongo_db])
    finally:
        await mongo.close()
        await drop_test_data(servers, isolation)


@dataclass(frozen=True)
class PrivateStack:
    redis: PrivateServer
    mongo: PrivateServer
    kafka: PrivateServer

    @property
    def urls(self) -> dict[str, str]:
        """As settings fields: redis_url, mongo_url, kafka_bootstrap."""
        return {
            "redis_url": self.redis.url,
            "mongo_url": self.mongo.url,
            "kafka_bootstrap": self.kafka.url,
        }


@pytest.fixture
def private_stack(
    private_redis: PrivateServer, private_mongo: PrivateServer, private_kafka: PrivateServer
) -> PrivateStack:
    """Redis, MongoDB and Kafka of this test's own, which it may stop and start."""
    return PrivateStack(private_redis, private_mongo, private_kafka)
