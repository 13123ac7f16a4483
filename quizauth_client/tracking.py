"""The invalidation channel of a near cache: Redis server-assisted client-side caching
in broadcast mode (CLIENT TRACKING ... BCAST), over RESP2.

One dedicated connection does it all: it turns tracking on for the given key prefixes,
redirecting the invalidation messages to itself, then subscribes to
`__redis__:invalidate`. Redis then publishes there the name of every key written,
deleted or expired under those prefixes, whoever wrote it (and nil for FLUSHALL or
FLUSHDB). Tracking and subscription live and die with that one connection, so there is
no state in which one holds and the other silently does not.

The channel tells its listener when it is up (every write from now on will be
reported) and when it is down (writes may go unreported). While up it checks the
connection with a PING whenever it has heard nothing for `ping_interval`; no reply
within `reply_timeout` counts as down. `heard_within` lets the cache refuse its own
copy when the channel has been silent too long, even before the channel gives up.

`quiet` closes the last gap: bytes that have reached this host but that the channel
has not read yet (an invalidation, or the end of the connection). Redis writes a
write's invalidations before its reply to the writer, so a check made after the
writer heard back finds them here even when the channel's task has not run yet; the
cache then asks Redis instead of answering from its copy.

Connection needs, beyond GET and MGET: CLIENT ID, CLIENT TRACKING, SUBSCRIBE on the
channel `__redis__:invalidate`, and PING. A server that refuses tracking (an ACL without
it, a proxy that does not support it) leaves the channel down: the cache then reads
Redis on every check, and the channel asks again every `unavailable_retry`. Over a Redis
Cluster client the channel never comes up: each node tracks only the keys of its own
slots and reports them on its own connection, and one channel per node, followed
through slot moves and failovers, is not offered; every check reads Redis.
"""

from __future__ import annotations

import asyncio
import logging
import select
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError, ResponseError

INVALIDATION_CHANNEL = b"__redis__:invalidate"

log = logging.getLogger(__name__)


class TrackingUnavailable(Exception):
    """The server refused to track keys or to deliver the invalidations."""


class ChannelSilent(Exception):
    """The server did not answer a PING within the reply timeout."""


class ChannelListener(Protocol):
    def channel_up(self) -> None:
        """From now on, every write under the prefixes will be reported."""

    def channel_down(self) -> None:
        """Writes may go unreported from now on; called before anything else happens."""

    def keys_changed(self, keys: Sequence[str] | None) -> None:
        """These keys were written; None: possibly every key (a flush)."""


@dataclass(frozen=True)
class ChannelTiming:
    ping_interval: float = 1.0  # PING when nothing was heard for this long
    reply_timeout: float = 2.0  # the connection is lost when a reply takes longer
    retry_min: float = 0.05  # first wait before connecting again
    retry_max: float = 2.0  # the wait doubles up to this
    unavailable_retry: float = 30.0  # wait after the server refused tracking

    @property
    def lease(self) -> float:
        """How long a silent channel is still trusted: one PING interval plus its reply."""
        return self.ping_interval + self.reply_timeout


DEFAULT_TIMING = ChannelTiming()


class InvalidationChannel:
    def __init__(
        self,
        redis: Redis | RedisCluster,
        prefixes: Sequence[str],
        listener: ChannelListener,
        timing: ChannelTiming = DEFAULT_TIMING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._prefixes = tuple(prefixes)
        self._listener = listener
        self._timing = timing
        self._clock = clock
        self._last_heard = float("-inf")
        self.client_id: int | None = None  # the connection's id in Redis while it is up
        self._probe: UnreadProbe | None = None
        self.losses = 0  # times the channel went down after being up

    def heard_within(self, seconds: float) -> bool:
        return self._clock() - self._last_heard <= seconds

    def quiet(self) -> bool:
        """Up, and nothing arrived that is not read yet. One poll(2) with no wait."""
        return self._probe is not None and not self._probe.unread()

    async def run(self) -> None:
        """Keep the channel up until cancelled, connecting again after each loss. The
        first failure after an up is a warning; the retries that follow are debug lines,
        so that a long Redis outage does not flood the log."""
        if isinstance(self._redis, RedisCluster):
            log.warning(
                "near cache: a Redis Cluster tracks keys per node, which this channel does "
                "not follow; every check reads Redis"
            )
            return
        delay, level = self._timing.retry_min, logging.WARNING
        while True:
            honour_cancellation()
            losses, refused, reason = self.losses, False, ""
            try:
                await self._session()
            except TrackingUnavailable as exc:
                refused, reason = True, f"Redis refused tracking: {exc}"
            except (RedisError, OSError, TimeoutError, ChannelSilent) as exc:
                reason = f"channel lost: {type(exc).__name__}: {exc}"
            except Exception:  # a bug must not end the retries: the copy stays unused
                log.exception("near cache: channel failed; reading Redis directly")
            if self.losses > losses:  # it was up: a fresh loss
                delay, level = self._timing.retry_min, logging.WARNING
            if reason:
                log.log(level, "near cache: %s; reading Redis directly", reason)
            level = logging.DEBUG
            await asyncio.sleep(self._timing.unavailable_retry if refused else delay)
            delay = min(delay * 2, self._timing.retry_max)

    async def _session(self) -> None:
        """One connection, from connect to loss (it always ends in an exception)."""
        connection = self._connection()
        up = False
        try:
            await connection.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it bare
            await self._subscribe(connection)
            self._probe = UnreadProbe(connection)
            up = True
            self._last_heard = self._clock()
            self._listener.channel_up()
            log.info("near cache: invalidation channel up (client id %s)", self.client_id)
            await self._listen(connection)
        finally:
            # Down first, synchronously: nothing may be answered from the copy once the
            # connection is known lost, not even while it is being closed.
            self._listener.channel_down()
            self._probe = None
            self.losses += up
            self.client_id = None
            await connection.disconnect(nowait=True)

    def _connection(self) -> AbstractConnection:
        """A connection of its own, with the client's address and credentials, outside
        its pool: RESP2 (pub/sub replies as plain arrays), raw bytes, and no health check
        of redis-py's, whose PING would read our messages."""
        if isinstance(self._redis, RedisCluster):  # run() stops before, for a cluster
            raise TrackingUnavailable("a Redis Cluster tracks keys per node")
        pool = self._redis.connection_pool
        kwargs: dict[str, Any] = {
            **pool.connection_kwargs,
            "protocol": 2,
            "decode_responses": False,
            "health_check_interval": 0,
            "socket_timeout": self._timing.reply_timeout,
            "socket_connect_timeout": self._timing.reply_timeout,
        }
        connection: AbstractConnection = pool.connection_class(**kwargs)
        return connection

    async def _subscribe(self, connection: AbstractConnection) -> None:
        client_id = await self._call(connection, "CLIENT", "ID")
        prefixes = [part for prefix in self._prefixes for part in ("PREFIX", prefix)]
        await self._call(
            connection, "CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", *prefixes
        )
        reply = await self._call(connection, "SUBSCRIBE", INVALIDATION_CHANNEL)
        if not (isinstance(reply, list) and reply[:2] == [b"subscribe", INVALIDATION_CHANNEL]):
            raise TrackingUnavailable(f"unexpected reply to SUBSCRIBE: {reply!r}")
        self.client_id = int(client_id)

    async def _call(self, connection: AbstractConnection, *command: object) -> Any:
        await connection.send_command(*command, check_health=False)
        honour_cancellation()
        try:
            return await connection.read_response(disconnect_on_error=False)
        except ResponseError as exc:  # NOPERM, unknown command, a cluster's refusal
            raise TrackingUnavailable(f"{command[0]!s} {command[1]!s}: {exc}") from exc

    async def _listen(self, connection: AbstractConnection) -> None:
        """Read invalidations until the connection fails or stays silent too long."""
        timing, ping_sent_at = self._timing, None
        while True:
            honour_cancellation()
            now = self._clock()
            if ping_sent_at is None:
                wait = self._last_heard + timing.ping_interval - now
                if wait <= 0:
                    await connection.send_command("PING", check_health=False)
                    ping_sent_at = now
                    continue
            else:
                wait = ping_sent_at + timing.reply_timeout - now
                if wait <= 0:
                    raise ChannelSilent(f"no reply to PING within {timing.reply_timeout}s")
            message = await connection.read_response(timeout=wait, disconnect_on_error=False)
            if message is None:  # the wait ended first
                continue
            self._last_heard = self._clock()
            if self._handle(message):
                ping_sent_at = None

    def _handle(self, message: object) -> bool:
        """Pass an invalidation on; True for the reply to our PING."""
        if not isinstance(message, list) or not message:
            raise ChannelSilent(f"unexpected message on the channel: {message!r}")
        if message[0] == b"pong":
            return True
        if message[0] == b"message" and message[1] == INVALIDATION_CHANNEL:
            keys = message[2]
            self._listener.keys_changed(None if keys is None else [decoded(k) for k in keys])
        return False


def honour_cancellation() -> None:
    """Stop if this task was asked to. On Python 3.11, asyncio.wait_for (which redis-py
    sends through when a socket timeout is set) can swallow a cancellation that arrives
    as the send completes: the task stays marked as cancelling, and would run on."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def decoded(key: bytes) -> str:
    """Key names as the cache holds them: redis-py sends str keys as UTF-8."""
    return key.decode("utf-8", errors="surrogateescape")


class UnreadProbe:
    """Whether bytes wait on a connection that its reader has not taken yet: in the
    kernel's socket buffer (or its end, or an error), or in the asyncio stream's buffer.
    The parser's own buffer needs no look: the channel drains it without yielding."""

    def __init__(self, connection: AbstractConnection) -> None:
        reader: asyncio.StreamReader | None = getattr(connection, "_reader", None)
        writer: asyncio.StreamWriter | None = getattr(connection, "_writer", None)
        sock = writer.get_extra_info("socket") if writer is not None else None
        if (
            reader is None
            or sock is None
            or not isinstance(getattr(reader, "_buffer", None), bytearray)
        ):
            # A redis-py that keeps its stream elsewhere: without the probe the copy
            # could answer past a report already here, so it is not used at all.
            raise TrackingUnavailable("cannot watch the channel's connection")
        self._reader = reader
        self._poll = select.poll()
        self._poll.register(sock.fileno(), select.POLLIN | select.POLLPRI)

    def unread(self) -> bool:
        buffered: bytearray = self._reader._buffer  # type: ignore[attr-defined]
        return bool(buffered) or self._reader.at_eof() or bool(self._poll.poll(0))
