"""A near cache: this process's own copy of some Redis keys, kept coherent by push, so
that reading them again costs no round trip.

Each key read through `mget` is kept (its value, or None for a missing key) in a
bounded least-recently-used map. Redis reports every write under the tracked prefixes
on the invalidation channel (quizauth_client.tracking), and the reported keys are
dropped, so the next read fetches them again.

Fail closed. The copy is used only while the channel is up, was heard from within
its lease (a PING interval plus its reply timeout), and has nothing arrived that it has
not read yet (see quizauth_client.tracking). Whenever the channel goes down the
copy is emptied, every read goes to Redis and nothing read is kept; when the channel
is back the copy is emptied again, and filled anew. A Redis outage therefore answers
as without the cache: the read fails (the caller's 503), for a key seen before as for
one never seen.

The race between a read and a write: a write may land after the MGET read its key but
before its reply is kept. Every invalidation and every emptying moves a generation
counter on; a reply is kept only if the generation did not move while it was awaited.
Otherwise it is returned, not kept.

Imports neither the web framework nor the auth service: the service uses it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Final

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from quizauth_client.tracking import DEFAULT_TIMING, ChannelTiming, InvalidationChannel

Value = bytes | str | None
_ABSENT: Final = object()  # not in the copy (None is a value: the key does not exist)
DEFAULT_MAX_KEYS = 100_000
# Event-loop turns a read may wait for the channel to read bytes that have arrived,
# before it asks Redis instead: the loop reads the socket in one turn, and runs the
# channel's task in the next.
SETTLING_TURNS = 2


@dataclass
class NearCacheStats:
    hits: int = 0  # reads answered from the copy
    fetches: int = 0  # reads that went to Redis while the channel was up
    direct: int = 0  # reads that went to Redis while it was down
    settling: int = 0  # loop turns reads waited for the channel to read what arrived
    reported: int = 0  # keys Redis reported written (a flush counts one)
    invalidations: int = 0  # keys dropped from the copy because they were written
    flushes: int = 0  # times the whole copy was emptied


class NearCache:
    def __init__(
        self,
        redis: Redis | RedisCluster,
        prefixes: Sequence[str],
        max_keys: int = DEFAULT_MAX_KEYS,
        timing: ChannelTiming = DEFAULT_TIMING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self._redis = redis
        self._prefixes = tuple(prefixes)
        self._max_keys = max_keys
        self._lease = timing.lease
        self._entries: OrderedDict[str, Value] = OrderedDict()
        self._generation = 0
        self._up = False
        self._channel = InvalidationChannel(redis, self._prefixes, self, timing, clock)
        self._task: asyncio.Task[None] | None = None
        self.stats = NearCacheStats()

    # --- Life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start keeping the channel up, in the background: reads go to Redis until it
        is. Never fails: without Redis the cache simply stays unused."""
        if self._task is None:
            self._task = asyncio.create_task(self._channel.run(), name="near-cache-channel")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.channel_down()

    async def __aenter__(self) -> NearCache:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # --- Reading ---------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """Whether reads may be answered from the copy now."""
        return self._up and self._channel.heard_within(self._lease)

    @property
    def channel_client_id(self) -> int | None:
        """The channel connection's id in Redis (CLIENT LIST), while it is up."""
        return self._channel.client_id

    @property
    def channel_losses(self) -> int:
        return self._channel.losses

    def __len__(self) -> int:
        return len(self._entries)

    async def mget(self, keys: Sequence[str]) -> list[Value]:
        """The values of `keys`, as Redis MGET returns them. Raises what the Redis
        client raises when Redis has to be asked and cannot answer."""
        for turn in range(SETTLING_TURNS + 1):
            if not self.live:
                self.stats.direct += 1
                return list(await self._redis.mget(keys))
            cached = [self._entries.get(key, _ABSENT) for key in keys]
            if any(value is _ABSENT for value in cached):
                break
            if self._channel.quiet():
                for key in keys:
                    self._entries.move_to_end(key)
                self.stats.hits += 1
                return cached  # type: ignore[return-value]  # no _ABSENT left in it
            if turn < SETTLING_TURNS:
                # Bytes wait on the channel: most often the reply to its PING, at times
                # an invalidation. Let the channel's task read them, then look again.
                self.stats.settling += 1
                await asyncio.sleep(0)
        # A key missing, or reports still unread: all are read again, so that the
        # answer is of one moment, and kept only if nothing was reported meanwhile.
        generation = self._generation
        values: list[Value] = list(await self._redis.mget(keys))
        self.stats.fetches += 1
        if generation == self._generation and self.live:
            self._keep(keys, values)
        return values

    def _keep(self, keys: Sequence[str], values: Sequence[Value]) -> None:
        for key, value in zip(keys, values, strict=True):
            if key.startswith(self._prefixes):  # only what the channel reports writes of
                self._entries[key] = value
                self._entries.move_to_end(key)
        while len(self._entries) > self._max_keys:
            self._entries.popitem(last=False)

    # --- Forgetting ------------------------------------------------------------------

    def invalidate(self, keys: Sequence[str]) -> None:
        """Drop these keys, and keep no reply awaited meanwhile. For the process's own
        writes, right after each (a later read of the writer sees its write at once)."""
        for key in keys:
            if self._entries.pop(key, _ABSENT) is not _ABSENT:
                self.stats.invalidations += 1
        self._generation += 1

    def flush(self) -> None:
        self._entries.clear()
        self._generation += 1
        self.stats.flushes += 1

    # --- The channel's listener ------------------------------------------------------

    def channel_up(self) -> None:
        self.flush()  # what was kept before may have missed writes while down
        self._up = True

    def channel_down(self) -> None:
        self._up = False
        self.flush()

    def keys_changed(self, keys: Sequence[str] | None) -> None:
        self.stats.reported += 1 if keys is None else len(keys)
        if keys is None:
            self.flush()
        else:
            self.invalidate(keys)
