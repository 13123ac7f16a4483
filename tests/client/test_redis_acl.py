"""The Redis user docker-compose.yml creates for quiz services, against the real Redis:
its rules are read from the compose file itself, so what is tested is what ships. With
it, quizauth_client's RedisDenylist sees every revocation, and so does its
NearCachedDenylist, whose invalidation channel it may open; everything else is refused,
but the names of keys outside its patterns reach it through tracking."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import yaml
from redis.asyncio import Redis
from redis.exceptions import NoPermissionError

from auth_api.security.redis_stores import RedisRevocationStore
from quizauth_client import NearCachedDenylist, RedisDenylist
from quizauth_client.tracking import INVALIDATION_CHANNEL, InvalidationChannel
from quizauth_wire import DenylistLayout
from tests.conftest import drop_test_data
from tests.support.near_cache import QUICK, until_live
from tests.support.polling import eventually
from tests.support.servers import Servers

pytestmark = pytest.mark.integration

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
USER, SESSION, JTI = "user-1", "session-1", "jti-1"


def compose_quiz_user() -> tuple[str, list[str]]:
    """The `--user` directive of the redis service's command: the name and its rules,
    with compose's variables left in."""
    command: list[str] = yaml.safe_load(COMPOSE.read_text())["services"]["redis"]["command"]
    start = command.index("--user") + 1
    end = next((i for i in range(start, len(command)) if command[i].startswith("--")), None)
    name, *rules = command[start:end]
    return name, rules


def interpolated(rule: str, password: str, prefix: str) -> str:
    """What compose makes of a rule, for this test's password and key prefix."""
    rule = re.sub(r"\$\{REDIS_QUIZ_PASSWORD:\?[^}]*\}", password, rule)
    rule = rule.replace("${AUTH_REDIS_PREFIX:-auth:}", prefix)
    assert "$" not in rule, f"a compose variable this test does not know: {rule}"
    return rule


@pytest.fixture
async def admin(servers: Servers, isolation: dict[str, str]) -> AsyncIterator[Redis]:
    client = Redis.from_url(servers.redis_url)
    yield client
    await client.aclose()
    await drop_test_data(servers, isolation)


@pytest.fixture
async def quiz_redis(
    servers: Servers, admin: Redis, isolation: dict[str, str]
) -> AsyncIterator[Redis]:
    """A connection as the compose file's quiz user (under a name of this test's own,
    on the shared server), created with `ACL SETUSER` from the compose rules."""
    name, rules = compose_quiz_user()
    assert name == "quiz"
    password = secrets.token_hex(16)
    username = f"quiz-test-{secrets.token_hex(4)}"
    prefix = isolation["redis_prefix"]
    await admin.acl_setuser(username, reset=True)
    await admin.execute_command(
        "ACL", "SETUSER", username, *(interpolated(r, password, prefix) for r in rules)
    )
    client = Redis.from_url(servers.redis_url, username=username, password=password)
    yield client
    await client.aclose()
    await admin.acl_deluser(username)


def test_the_compose_rules_are_read_only_and_name_the_denylist_keys() -> None:
    _, rules = compose_quiz_user()
    layout = DenylistLayout("P:")
    patterns = {rule.removeprefix("%R~") for rule in rules if rule.startswith("%R~")}
    expected = set(layout.read_patterns())
    assert {interpolated(p, "pw", "P:") for p in patterns} == expected
    commands = {rule for rule in rules if rule[0] in "+-@"}
    channel = {"+client|id", "+client|tracking", "+ping", "+subscribe"}
    assert commands == {"+get", "+mget"} | channel
    channels = {rule for rule in rules if rule.startswith("&")}
    assert channels == {"&" + INVALIDATION_CHANNEL.decode()}
    everything = {"allkeys", "allcommands", "allchannels", "+@all", "+client"}
    assert not [r for r in rules if r.startswith("~") or r in everything]


async def test_the_quiz_user_sees_every_revocation(
    admin: Redis, quiz_redis: Redis, isolation: dict[str, str]
) -> None:
    service = RedisRevocationStore(admin, isolation["redis_prefix"])
    denylist = RedisDenylist(quiz_redis, isolation["redis_prefix"])
    now = int(time.time())
    assert not await denylist.is_revoked(JTI, USER, SESSION, now)
    await service.revoke(JTI, USER, ttl_seconds=60)
    assert await denylist.is_revoked(JTI, USER, SESSION, now)
    await service.revoke_sessions(USER, ["session-2"], ttl_seconds=60)
    assert await denylist.is_revoked("another", USER, "session-2", now)
    await service.revoke_user_tokens("user-2", before=now, ttl_seconds=60)
    assert await denylist.is_revoked("another", "user-2", SESSION, now - 1)
    assert not await denylist.is_revoked("another", USER, SESSION, now)


async def test_the_quiz_user_keeps_a_near_cache_that_sees_every_revocation(
    admin: Redis, quiz_redis: Redis, isolation: dict[str, str]
) -> None:
    prefix = isolation["redis_prefix"]
    service = RedisRevocationStore(admin, prefix)
    now = int(time.time())
    async with NearCachedDenylist(quiz_redis, prefix, timing=QUICK) as denylist:
        await until_live(denylist.cache)
        assert not await denylist.is_revoked(JTI, USER, SESSION, now)
        assert not await denylist.is_revoked(JTI, USER, SESSION, now)
        assert denylist.cache.stats.hits == 1
        await service.revoke(JTI, USER, ttl_seconds=60)
        await eventually(lambda: denylist.is_revoked(JTI, USER, SESSION, now), 5, "a logout")
        assert not await denylist.is_revoked("other", "user-2", "session-2", now)
        await service.revoke_sessions("user-2", ["session-2"], ttl_seconds=60)
        await eventually(
            lambda: denylist.is_revoked("other", "user-2", "session-2", now), 5, "an ended session"
        )
        assert not await denylist.is_revoked("other", "user-3", "session-3", now - 1)
        await service.revoke_user_tokens("user-3", before=now, ttl_seconds=60)
        await eventually(
            lambda: denylist.is_revoked("other", "user-3", "session-3", now - 1), 5, "a logout-all"
        )


async def test_the_quiz_user_can_write_nothing(
    admin: Redis, quiz_redis: Redis, isolation: dict[str, str]
) -> None:
    layout = DenylistLayout(isolation["redis_prefix"])
    await RedisRevocationStore(admin, isolation["redis_prefix"]).revoke(JTI, USER, ttl_seconds=60)
    key = layout.token_key(JTI, USER)
    for write in (
        quiz_redis.set(key, "0"),
        quiz_redis.delete(key),
        quiz_redis.set(layout.token_key("new", USER), "1"),
        quiz_redis.expire(key, 1),
        quiz_redis.getdel(key),
    ):
        with pytest.raises(NoPermissionError):
            await write
    assert await admin.get(key) == b"1"
    assert await admin.ttl(key) > 1


async def test_the_quiz_user_reads_no_other_key_and_runs_no_other_command(
    admin: Redis, quiz_redis: Redis, isolation: dict[str, str]
) -> None:
    counter = f"{isolation['redis_prefix']}rl:login:ip:203.0.113.7"
    await admin.set(counter, "3")
    with pytest.raises(NoPermissionError):
        await quiz_redis.get(counter)
    with pytest.raises(NoPermissionError):
        await quiz_redis.mget(
            [DenylistLayout(isolation["redis_prefix"]).token_key("j", USER), counter]
        )
    for command in (
        ("KEYS", "*"),
        ("FLUSHALL",),
        ("CONFIG", "GET", "*"),
        ("ACL", "LIST"),
        ("CLIENT", "LIST"),
        ("CLIENT", "KILL", "ID", "1"),
        ("PUBLISH", INVALIDATION_CHANNEL, "forged"),
        ("SUBSCRIBE", "other-channel"),
        ("PSUBSCRIBE", "*"),
    ):
        with pytest.raises(NoPermissionError):
            await quiz_redis.execute_command(*command)
    assert await admin.get(counter) == b"3"


class Heard:
    """A channel listener that keeps the key names it is told of."""

    def __init__(self) -> None:
        self.up = False
        self.keys: list[str] = []

    def channel_up(self) -> None:
        self.up = True

    def channel_down(self) -> None:
        self.up = False

    def keys_changed(self, keys: Sequence[str] | None) -> None:
        self.keys += keys or []


async def test_with_the_tracking_rights_the_quiz_user_hears_other_key_names(
    admin: Redis, quiz_redis: Redis, isolation: dict[str, str]
) -> None:
    """What README's "A Redis user for quiz services" warns of, on this Redis (7.0): the
    prefixes a connection tracks are not checked against its user's key patterns, so
    the quiz user hears the name (never the value) of a rate-limit counter written."""
    counter = f"{isolation['redis_prefix']}rl:login:ip:203.0.113.9"
    heard = Heard()
    channel = InvalidationChannel(quiz_redis, [f"{isolation['redis_prefix']}rl:"], heard, QUICK)
    task = asyncio.create_task(channel.run())
    try:
        await eventually(lambda: heard.up, 10, "the channel up")
        await admin.set(counter, "1")
        await eventually(lambda: counter in heard.keys, 5, "the counter's name heard")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    with pytest.raises(NoPermissionError):
        await quiz_redis.get(counter)
