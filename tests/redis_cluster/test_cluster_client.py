"""quizauth_client over a RedisCluster client reads what the service writes on the
cluster, with or without its near cache (which falls back to reading every check), and
the service's errors of a cluster (not RedisErrors) are 503s."""

from __future__ import annotations

import time

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, SlotNotCoveredError

from auth_api.errors import DependencyUnavailable
from auth_api.security.redis_stores import RedisRevocationStore, redis_errors
from quizauth_client.denylist import DenylistUnavailable
from quizauth_client.revocation import NearCachedDenylist, RedisDenylist
from tests.support.near_cache import QUICK

pytestmark = pytest.mark.integration
USER, SESSION, JTI = "user-1", "session-1", "jti-1"


async def test_the_client_reads_the_service_revocations_on_a_cluster(
    cluster_client: RedisCluster, isolation: dict[str, str]
) -> None:
    prefix = isolation["redis_prefix"]
    service = RedisRevocationStore(cluster_client, prefix, read_legacy_keys=False)
    reader = RedisDenylist(cluster_client, prefix)
    now = int(time.time())
    assert not await reader.is_revoked(JTI, USER, SESSION, now)
    await service.revoke(JTI, USER, ttl_seconds=60)
    assert await reader.is_revoked(JTI, USER, "other-session", now)
    await service.revoke_sessions(USER, [SESSION], ttl_seconds=60)
    assert await reader.is_revoked("other-jti", USER, SESSION, now)
    await service.revoke_user_tokens("user-2", before=now, ttl_seconds=60)
    assert await reader.is_revoked("other-jti", "user-2", "other-session", now - 1)
    assert not await reader.is_revoked("other-jti", USER, "other-session", now)


async def test_a_cross_slot_read_is_unavailable_not_an_error(
    cluster_client: RedisCluster,
) -> None:
    """What the layout before hash tags would meet on a cluster: redis-py refuses the
    MGET with a RedisClusterException, which the service and the client turn into
    their 'unavailable' (503), never a 500."""
    with pytest.raises(DependencyUnavailable):
        async with redis_errors():
            await cluster_client.mget(["a-key", "another-key"])
    with pytest.raises(DependencyUnavailable):
        async with redis_errors():
            raise SlotNotCoveredError("no node serves this slot")
    assert not issubclass(RedisClusterException, DependencyUnavailable)


async def test_the_client_reports_a_cluster_error_as_unavailable(
    cluster_client: RedisCluster,
) -> None:
    """A prefix with a brace moves the hash tag: the keys of one check then span slots,
    and redis-py refuses the MGET. The client says "unavailable" (its 503), not a crash."""
    with pytest.raises(DenylistUnavailable):
        await RedisDenylist(cluster_client, prefix="{p").is_revoked("j", "u", "s", 0)


async def test_the_near_cached_client_reads_every_check_from_a_cluster(
    cluster_client: RedisCluster, isolation: dict[str, str]
) -> None:
    """A cluster refuses the invalidation channel here (tracking is per node): the near
    cache never answers from a copy, and every check reads the cluster, exactly."""
    prefix = isolation["redis_prefix"]
    service = RedisRevocationStore(cluster_client, prefix, read_legacy_keys=False)
    now = int(time.time())
    async with NearCachedDenylist(cluster_client, prefix, timing=QUICK) as near:
        assert not await near.is_revoked(JTI, USER, SESSION, now)
        assert not await near.is_revoked(JTI, USER, SESSION, now)
        await service.revoke(JTI, USER, ttl_seconds=60)
        assert await near.is_revoked(JTI, USER, SESSION, now)
        await service.revoke_sessions(USER, ["s-2"], ttl_seconds=60)
        assert await near.is_revoked("other-jti", USER, "s-2", now)
        await service.revoke_user_tokens("user-2", before=now, ttl_seconds=60)
        assert await near.is_revoked("other-jti", "user-2", "s-3", now - 1)
        assert not near.ready
        assert near.cache.stats.hits == 0
        assert near.cache.stats.direct == 5
