"""Helpers for the near-cache tests: waiting for the channel, counting Redis commands,
cutting the channel."""

from __future__ import annotations

from redis.asyncio import Redis

from bench.stats import command_calls, command_delta
from quizauth_client.near_cache import NearCache
from quizauth_client.tracking import ChannelTiming
from tests.support.polling import eventually

# Quick to notice a loss and to come back, so the tests stay short.
QUICK = ChannelTiming(ping_interval=0.2, reply_timeout=1.0, retry_max=0.2, unavailable_retry=0.2)


async def until_live(cache: NearCache, seconds: float = 10) -> None:
    await eventually(lambda: cache.live, seconds, "the near cache's channel up")


async def commands_run(redis: Redis) -> dict[str, int]:
    """Calls per command since the server started (INFO commandstats)."""
    return command_calls(await redis.info("commandstats"))


def commands_between(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """What ran between the two readings, without INFO and PING: the test's own
    readings, and the channel's keep-alive, which no check causes."""
    return command_delta(before, after)


async def cut_channel(admin: Redis, cache: NearCache) -> int:
    """Close the channel's connection from the server side; the id it had."""
    client_id = cache.channel_client_id
    assert client_id is not None, "the channel is not up"
    assert await admin.client_kill_filter(_id=str(client_id)) == 1
    return client_id
