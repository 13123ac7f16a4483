"""The wire contract holds between its writer and its readers: revocations written by the
service's Redis store are read, key for key, by the client library quiz services use."""

from __future__ import annotations

import ast
import sys
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

import quizauth_wire
from auth_api.security.redis_stores import RedisRevocationStore
from quizauth_client.revocation import RedisDenylist
from tests.support.servers import Servers

pytestmark = pytest.mark.integration

USER, SESSION, JTI = "user-1", "session-1", "jti-1"


AnyRedis = Redis | RedisCluster


@pytest.fixture
def service_store(
    redis_client: AnyRedis, isolation: dict[str, str], servers: Servers
) -> RedisRevocationStore:
    legacy = not servers.redis_clustered
    return RedisRevocationStore(redis_client, isolation["redis_prefix"], read_legacy_keys=legacy)


@pytest.fixture
def client_reader(redis_client: AnyRedis, isolation: dict[str, str]) -> RedisDenylist:
    return RedisDenylist(redis_client, isolation["redis_prefix"])


async def test_a_revoked_token_is_revoked_for_the_client(
    service_store: RedisRevocationStore, client_reader: RedisDenylist
) -> None:
    now = int(time.time())
    assert not await client_reader.is_revoked(JTI, USER, SESSION, now)
    await service_store.revoke(JTI, USER, ttl_seconds=60)
    assert await client_reader.is_revoked(JTI, USER, SESSION, now)
    assert not await client_reader.is_revoked("another-jti", USER, SESSION, now)


async def test_a_revoked_session_is_revoked_for_the_client(
    service_store: RedisRevocationStore, client_reader: RedisDenylist
) -> None:
    now = int(time.time())
    await service_store.revoke_sessions(USER, [SESSION], ttl_seconds=60)
    assert await client_reader.is_revoked("any-jti", USER, SESSION, now)
    assert not await client_reader.is_revoked("any-jti", USER, "session-2", now)


async def test_logout_all_is_honoured_by_the_client(
    service_store: RedisRevocationStore, client_reader: RedisDenylist
) -> None:
    cutoff = int(time.time())
    await service_store.revoke_user_tokens(USER, before=cutoff, ttl_seconds=60)
    assert await client_reader.is_revoked("old-jti", USER, SESSION, cutoff - 1)
    assert not await client_reader.is_revoked("new-jti", USER, SESSION, cutoff)
    assert not await client_reader.is_revoked("old-jti", "user-2", SESSION, cutoff - 1)


async def test_both_sides_read_the_same_keys(
    service_store: RedisRevocationStore, redis_client: Redis, isolation: dict[str, str]
) -> None:
    """The layout itself: what the service wrote sits where the contract says."""
    layout = quizauth_wire.DenylistLayout(isolation["redis_prefix"])
    await service_store.revoke(JTI, USER, ttl_seconds=60)
    await service_store.revoke_sessions(USER, [SESSION], ttl_seconds=60)
    await service_store.revoke_user_tokens(USER, before=123, ttl_seconds=60)
    values = await redis_client.mget(layout.keys_for(JTI, USER, SESSION))
    assert values == [b"1", b"1", b"123"]


def test_the_wire_module_imports_only_the_standard_library() -> None:
    source = Path(quizauth_wire.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.partition(".")[0])
    assert imported, "the parser found no import at all"
    assert imported <= sys.stdlib_module_names | {"__future__"}, imported


async def test_a_token_revoked_under_the_legacy_layout_stays_revoked(
    client_reader: RedisDenylist,
    redis_client: AnyRedis,
    isolation: dict[str, str],
    service_store: RedisRevocationStore,
) -> None:
    """Keys written by releases before the hash tags still deny, for the service's
    check and the client's alike, until they expire. A cluster, a new deployment that
    never held them, reads the hash-tagged keys only (README, "Upgrading from the
    layout without hash tags")."""
    layout = quizauth_wire.DenylistLayout(isolation["redis_prefix"])
    token, session, user = layout.legacy_keys_for(JTI, USER, SESSION)
    now = int(time.time())
    if isinstance(redis_client, RedisCluster):
        await redis_client.set(token, "1", ex=60)
        assert not await client_reader.is_revoked(JTI, USER, "other-session", now)
        assert not await service_store.is_revoked(JTI, USER, "other-session", now)
        return
    await redis_client.set(token, "1", ex=60)
    assert await client_reader.is_revoked(JTI, USER, "other-session", now)
    await redis_client.set(session, "1", ex=60)
    assert await client_reader.is_revoked("other-jti", USER, SESSION, now)
    await redis_client.set(user, str(now), ex=60)
    assert await client_reader.is_revoked("other-jti", USER, "other-session", now - 1)
    assert await service_store.is_revoked("other-jti", USER, "other-session", now - 1)
    assert not await service_store.is_revoked("other-jti", "user-2", "other-session", now - 1)
