"""AUTH_REDIS_MODE=sentinel: what it needs, what it refuses, and how the client is built."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError

from auth_api.container import near_cache_fits
from auth_api.security.redis_stores import connect_redis
from auth_api.settings import RedisMode, Settings
from quizauth_client.sentinel import (
    NodeAuth,
    SentinelMasterRedis,
    connect_sentinel_master,
    parse_sentinels,
)

SENTINEL = {
    "redis_mode": "sentinel",
    "redis_sentinels": "10.0.0.1:26379,10.0.0.2:26379,10.0.0.3",
    "redis_sentinel_master": "quizauth",
}


def sentinel_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"env": "test", "mongo_url": "mongodb://m", **SENTINEL}
    return Settings(**{**values, **overrides})


def test_sentinel_mode_needs_no_redis_url_and_is_not_embedded() -> None:
    settings = sentinel_settings()
    assert settings.redis_url is None
    assert settings.redis_configured
    assert not settings.embedded


def test_production_accepts_sentinels_in_place_of_a_redis_url() -> None:
    Settings(env="production", jwt_secret=None, **SENTINEL, mongo_url="mongodb://m")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"redis_sentinels": None}, "set AUTH_REDIS_SENTINELS"),
        ({"redis_sentinels": " , "}, "no sentinel address"),
        ({"redis_sentinels": "host:port"}, "not a sentinel address"),
        ({"redis_sentinels": "host:70000"}, "not a sentinel address"),
        ({"redis_sentinel_master": None}, "set AUTH_REDIS_SENTINEL_MASTER"),
        ({"redis_url": "redis://redis:6379/0"}, "names no host"),
        ({"redis_url": "http://:pw@/0"}, "not a redis:// or rediss:// URL"),
        ({"redis_url": "redis://:pw@/zero"}, "not a database number"),
    ],
)
def test_an_incomplete_or_contradictory_sentinel_setup_is_refused(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match="AUTH_REDIS_MODE=sentinel") as refused:
        sentinel_settings(**overrides)
    assert message in str(refused.value)


@pytest.mark.parametrize("mode", ["standalone", "cluster"])
def test_sentinel_settings_outside_sentinel_mode_are_refused(mode: str) -> None:
    with pytest.raises(ValidationError, match="apply only with AUTH_REDIS_MODE=sentinel"):
        Settings(env="test", redis_mode=mode, redis_url="redis://r", redis_sentinels="s:1")


def test_sentinel_addresses_parse_with_a_default_port() -> None:
    assert parse_sentinels(" a:1, b ,[::1]:3 ") == [("a", 1), ("b", 26379), ("::1", 3)]


def test_the_url_gives_the_master_credentials_database_and_tls() -> None:
    auth = NodeAuth.from_url("rediss://auth:p%40ss@/2")
    assert auth == NodeAuth(username="auth", password="p@ss", db=2, tls=True)
    assert NodeAuth.from_url(None) == NodeAuth()


async def test_the_service_builds_a_sentinel_client_with_the_sentinels_login() -> None:
    settings = sentinel_settings(
        redis_url="redis://:node-pw@/3",
        redis_sentinel_username="watcher",
        redis_sentinel_password="sentinel-pw",
    )
    client = connect_redis(settings)
    try:
        assert isinstance(client, SentinelMasterRedis)
        assert client.sentinels is not None
        first = client.sentinels.sentinels[0].connection_pool.connection_kwargs
        assert (first["username"], first["password"]) == ("watcher", "sentinel-pw")
        assert len(client.sentinels.sentinels) == 3
        node = client.connection_pool.connection_kwargs
        assert (node["password"], node["db"]) == ("node-pw", 3)
        assert node["socket_timeout"] == settings.io_timeout_seconds
    finally:
        await client.aclose()


async def test_no_sentinel_that_answers_is_a_connection_error_not_a_hang() -> None:
    """Nothing listens on port 1: every sentinel refuses at once, so the command fails
    with redis-py's ConnectionError (MasterNotFoundError), which callers report as
    Redis out of reach."""
    client = connect_sentinel_master("127.0.0.1:1,127.0.0.1:1", "m", timeout_seconds=0.5)
    try:
        with pytest.raises(RedisConnectionError, match="No master found"):
            await client.get("key")
    finally:
        await client.aclose()


def test_the_near_cache_stays_off_in_sentinel_mode() -> None:
    """Its channel could outlive a failover on the demoted master and miss the writes
    of the new one; every check reads the master instead."""
    assert not near_cache_fits(RedisMode.SENTINEL)
    assert near_cache_fits(RedisMode.STANDALONE)
