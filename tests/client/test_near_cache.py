"""The near cache of the denylist (quizauth_client.near_cache), on the real Redis: a
token checked again costs no Redis command; another process's revocation is seen
within a short wait, this process's own at once; and whatever happens to the
invalidation channel (cut, held down, Redis stopped), no revoked token is let through.

The tests that count commands or stop Redis use a Redis of their own."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from auth_api.security.redis_stores import RedisRevocationStore
from infra.stack_lib.api import PrivateServer
from quizauth_client import DenylistUnavailable, NearCachedDenylist
from quizauth_wire import DenylistLayout
from tests.conftest import drop_test_data
from tests.support.near_cache import (
    QUICK,
    commands_between,
    commands_run,
    cut_channel,
    until_live,
)
from tests.support.polling import eventually
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
Revoke = Callable[[RedisRevocationStore], Any]


class Token:
    """The revocation keys of one access token, fresh for each use."""

    def __init__(self) -> None:
        self.jti, self.user, self.session = (secrets.token_hex(6) for _ in range(3))
        self.issued_at = int(time.time()) - 5

    def args(self) -> tuple[str, str, str, int]:
        return self.jti, self.user, self.session, self.issued_at


# The three writes the service makes: logout, an ended session, logout everywhere.
REVOCATIONS: dict[str, Callable[[RedisRevocationStore, Token], Any]] = {
    "token": lambda store, t: store.revoke(t.jti, t.user, ttl_seconds=60),
    "session": lambda store, t: store.revoke_sessions(t.user, [t.session], ttl_seconds=60),
    "user": lambda store, t: store.revoke_user_tokens(t.user, int(time.time()), ttl_seconds=60),
}


def private_url(server: PrivateServer) -> str:
    return f"redis://127.0.0.1:{server.port}/0"


@pytest.fixture
async def shared(servers: Servers, isolation: dict[str, str]) -> AsyncIterator[Redis]:
    client = Redis.from_url(servers.redis_url)
    yield client
    await client.aclose()
    await drop_test_data(servers, isolation)


@pytest.fixture
async def near(servers: Servers, isolation: dict[str, str]) -> AsyncIterator[NearCachedDenylist]:
    """A quiz service's denylist with its near cache, on a client of its own."""
    async with (
        Redis.from_url(servers.redis_url) as reader,
        NearCachedDenylist(reader, isolation["redis_prefix"], timing=QUICK) as denylist,
    ):
        await until_live(denylist.cache)
        yield denylist


@pytest.fixture
def writer(shared: Redis, isolation: dict[str, str]) -> RedisRevocationStore:
    """Another process's store: it writes without a near cache of its own."""
    return RedisRevocationStore(shared, isolation["redis_prefix"])


@pytest.mark.parametrize("kind", REVOCATIONS)
async def test_another_processs_revocation_is_seen_within_a_short_wait(
    near: NearCachedDenylist, writer: RedisRevocationStore, kind: str
) -> None:
    token = Token()
    assert not await near.is_revoked(*token.args())
    assert not await near.is_revoked(*token.args())
    assert near.cache.stats.hits == 1  # the second check was answered from the copy
    await REVOCATIONS[kind](writer, token)
    await eventually(lambda: near.is_revoked(*token.args()), 5, f"the {kind} revocation seen")
    assert await near.is_revoked(*token.args())


async def test_a_checked_token_is_checked_again_without_a_redis_command(
    private_redis: PrivateServer, isolation: dict[str, str]
) -> None:
    url = private_url(private_redis)
    async with (
        Redis.from_url(url) as admin,
        Redis.from_url(url) as reader,
        NearCachedDenylist(reader, isolation["redis_prefix"], timing=QUICK) as near,
    ):
        await until_live(near.cache)
        token = Token()
        first = await commands_run(admin)
        assert not await near.is_revoked(*token.args())
        second = await commands_run(admin)
        for _ in range(100):
            assert not await near.is_revoked(*token.args())
        third = await commands_run(admin)
    assert commands_between(first, second) == {"mget": 1}  # the first check reads Redis
    assert commands_between(second, third) == {}
    assert near.cache.stats.hits == 100


@pytest.mark.parametrize("kind", REVOCATIONS)
async def test_the_writers_own_revocation_holds_in_its_own_checks_at_once(
    shared: Redis, isolation: dict[str, str], kind: str
) -> None:
    store = RedisRevocationStore(shared, isolation["redis_prefix"], near_cache_keys=1000)
    await store.start()
    try:
        assert store.near_cache is not None
        await until_live(store.near_cache)
        token = Token()
        assert not await store.is_revoked(*token.args())
        await REVOCATIONS[kind](store, token)
        assert await store.is_revoked(*token.args())  # no wait for Redis's report
    finally:
        await store.close()


async def test_a_cut_channel_never_lets_a_revocation_through(
    near: NearCachedDenylist, writer: RedisRevocationStore, shared: Redis
) -> None:
    """Cut, revoke at once, check at once: the revocation made while the channel was
    down (and so never reported) is refused, each time; then the channel comes back."""
    for round_ in range(20):
        kind = list(REVOCATIONS)[round_ % 3]
        token = Token()
        assert not await near.is_revoked(*token.args())
        await until_live(near.cache)
        await cut_channel(shared, near.cache)
        await REVOCATIONS[kind](writer, token)
        assert await near.is_revoked(*token.args()), f"round {round_}: {kind} let through"
    await until_live(near.cache)
    assert near.cache.channel_losses >= 20
    assert await near.is_revoked(*token.args())


async def test_while_the_channel_cannot_come_back_every_check_reads_redis(
    private_redis: PrivateServer, isolation: dict[str, str]
) -> None:
    """The cache's Redis user loses the right to subscribe, and its channel is cut: it
    cannot come back. Revocations made meanwhile hold, each check reads Redis, and once
    the right is back the channel is up again and the copy is filled anew."""
    url, prefix = private_url(private_redis), isolation["redis_prefix"]
    rules = ["on", ">pw", "~*", "&*", "+@all"]
    async with Redis.from_url(url) as admin:
        await admin.execute_command("ACL", "SETUSER", "reader", *rules)
        writer = RedisRevocationStore(admin, prefix)
        async with (
            Redis.from_url(url, username="reader", password="pw") as reader,
            NearCachedDenylist(reader, prefix, timing=QUICK) as near,
        ):
            await until_live(near.cache)
            token = Token()
            assert not await near.is_revoked(*token.args())
            await admin.execute_command("ACL", "SETUSER", "reader", "-subscribe")
            await cut_channel(admin, near.cache)
            await writer.revoke(token.jti, token.user, ttl_seconds=60)
            before = await commands_run(admin)
            for _ in range(5):
                assert await near.is_revoked(*token.args())
            assert commands_between(before, await commands_run(admin)) == {"mget": 5}
            assert not near.cache.live
            await admin.execute_command("ACL", "SETUSER", "reader", "+subscribe")
            await until_live(near.cache)
            assert await near.is_revoked(*token.args())
            assert await near.is_revoked(*token.args())
            assert near.cache.stats.hits >= 1


async def test_a_redis_outage_is_unavailable_for_seen_and_unseen_tokens_alike(
    private_redis: PrivateServer, isolation: dict[str, str]
) -> None:
    """Redis stops: no check answers, not even for a token the copy held (fail closed,
    as without the cache); Redis back: the channel returns and checks answer again."""
    url, prefix = private_url(private_redis), isolation["redis_prefix"]
    async with (
        Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as reader,
        NearCachedDenylist(reader, prefix, timing=QUICK) as near,
    ):
        await until_live(near.cache)
        seen, unseen = Token(), Token()
        assert not await near.is_revoked(*seen.args())
        assert not await near.is_revoked(*seen.args())
        private_redis.stop()
        for token in (seen, unseen):
            with pytest.raises(DenylistUnavailable):
                await near.is_revoked(*token.args())
        assert not near.cache.live
        assert len(near.cache) == 0
        private_redis.start()
        await until_live(near.cache, seconds=20)
        assert not await near.is_revoked(*seen.args())


async def test_without_the_right_to_track_every_check_reads_redis(
    private_redis: PrivateServer, isolation: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A server that refuses tracking (here an ACL without it; a cluster or a proxy
    alike): the cache never answers from a copy, and every check is exact."""
    url, prefix = private_url(private_redis), isolation["redis_prefix"]
    layout = DenylistLayout(prefix)
    patterns = [f"%R~{p}*" for p in layout.key_prefixes()]
    async with Redis.from_url(url) as admin:
        await admin.execute_command("ACL", "SETUSER", "plain", "on", ">pw", *patterns, "+mget")
        async with (
            Redis.from_url(url, username="plain", password="pw") as reader,
            NearCachedDenylist(reader, prefix, timing=QUICK) as near,
        ):
            await eventually(
                lambda: "Redis refused tracking" in caplog.text, 10, "the refusal logged"
            )
            token = Token()
            assert not await near.is_revoked(*token.args())
            await RedisRevocationStore(admin, prefix).revoke(token.jti, token.user, ttl_seconds=60)
            assert await near.is_revoked(*token.args())
            assert not near.cache.live
            assert near.cache.stats.hits == 0
            assert near.cache.stats.direct == 2


class HeldReads(Redis):
    """A client whose MGET, while `hold` is set, has read Redis but waits for
    `release` before it answers: a write can land in between, as it can by chance."""

    hold = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.read_done = asyncio.Event()
        self.release = asyncio.Event()

    async def mget(self, keys: Any, *args: Any) -> Any:  # type: ignore[override]
        values = await super().mget(keys, *args)
        if self.hold:
            self.read_done.set()
            await self.release.wait()
        return values


async def test_a_reply_read_before_a_write_is_reported_is_not_kept(
    servers: Servers, writer: RedisRevocationStore, isolation: dict[str, str]
) -> None:
    reader = HeldReads.from_url(servers.redis_url)
    async with NearCachedDenylist(reader, isolation["redis_prefix"], timing=QUICK) as near:
        await until_live(near.cache)
        token = Token()
        reader.hold = True
        check = asyncio.create_task(near.is_revoked(*token.args()))
        await reader.read_done.wait()
        reported = near.cache.stats.reported
        await writer.revoke(token.jti, token.user, ttl_seconds=60)
        await eventually(lambda: near.cache.stats.reported > reported, 5, "the write reported")
        reader.release.set()
        assert not await check  # read before the write: it answers as of then...
        assert len(near.cache) == 0  # ...but is not kept
        reader.hold = False
        assert await near.is_revoked(*token.args())
        assert len(near.cache) == 6  # a reply with no write meanwhile is kept (legacy keys too)
    await reader.aclose()


async def test_the_copy_holds_at_most_its_size(servers: Servers, isolation: dict[str, str]) -> None:
    async with (
        Redis.from_url(servers.redis_url) as reader,
        NearCachedDenylist(reader, isolation["redis_prefix"], max_keys=7, timing=QUICK) as small,
    ):
        await until_live(small.cache)
        tokens = [Token() for _ in range(5)]
        for token in tokens:
            assert not await small.is_revoked(*token.args())
            assert len(small.cache) <= 7
        hits = small.cache.stats.hits
        assert not await small.is_revoked(*tokens[-1].args())  # the most recent: kept
        assert small.cache.stats.hits == hits + 1
        assert not await small.is_revoked(*tokens[0].args())  # the oldest: dropped
        assert small.cache.stats.hits == hits + 1


async def test_a_flush_of_redis_empties_the_copy(
    private_redis: PrivateServer, isolation: dict[str, str]
) -> None:
    url, prefix = private_url(private_redis), isolation["redis_prefix"]
    async with (
        Redis.from_url(url) as admin,
        Redis.from_url(url) as reader,
        NearCachedDenylist(reader, prefix, timing=QUICK) as near,
    ):
        await until_live(near.cache)
        token = Token()
        await RedisRevocationStore(admin, prefix).revoke(token.jti, token.user, ttl_seconds=60)
        assert await near.is_revoked(*token.args())
        assert await near.is_revoked(*token.args())
        await admin.flushdb()
        await eventually(lambda: len(near.cache) == 0, 5, "the copy emptied")
        assert not await near.is_revoked(*token.args())


async def test_closing_ends_the_channel_whenever_it_comes(servers: Servers) -> None:
    """Closed at every moment of its start (connecting, turning tracking on, reading):
    the channel ends every time, its connection closed. A close that arrives as a send
    completes is one that Python 3.11's wait_for, used by redis-py, swallows."""
    channel_ids: set[int] = set()
    async with (
        Redis.from_url(servers.redis_url) as reader,
        Redis.from_url(servers.redis_url) as admin,
    ):
        for step in range(40):
            cache = NearCachedDenylist(reader, "closing:", timing=QUICK).cache
            await cache.start()
            await asyncio.sleep(step * 0.0005)
            if cache.channel_client_id is not None:
                channel_ids.add(cache.channel_client_id)
            await asyncio.wait_for(cache.close(), 5)
            assert not cache.live
        assert channel_ids  # some closes came after the channel was up

        async def all_gone() -> bool:
            return not channel_ids & {int(c["id"]) for c in await admin.client_list()}

        await eventually(all_gone, 5, "the closed channels' connections gone")
