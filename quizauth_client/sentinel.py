"""A Redis client for a master that Redis Sentinel watches: the auth service and quiz
services build theirs here, so both find the master the same way.

The client asks the sentinels for the master's address on each new connection, and
drops its connections when the master it knew has become a replica, so after a
failover the next commands go to the promoted replica. While no master is known every
command fails with a redis-py `ConnectionError` (`MasterNotFoundError`), which callers
treat as "Redis out of reach", like a down server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

DEFAULT_SENTINEL_PORT = 26379


def parse_sentinels(addresses: str) -> list[tuple[str, int]]:
    """`host:port,host:port` (a missing port is 26379) as (host, port) pairs;
    ValueError for an empty list or a bad port."""
    parsed: list[tuple[str, int]] = []
    for part in addresses.split(","):
        address = part.strip()
        if not address:
            continue
        host, colon, port_text = address.rpartition(":")
        if not colon:
            host, port_text = address, str(DEFAULT_SENTINEL_PORT)
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"not a sentinel address (host:port): {address!r}")
        parsed.append((host.strip("[]"), int(port_text)))
    if not parsed:
        raise ValueError("no sentinel address given (host:port,host:port)")
    return parsed


@dataclass(frozen=True)
class NodeAuth:
    """How to log in to the master and its replicas, which may differ from the
    sentinels' own login: credentials, database number and TLS."""

    username: str | None = None
    password: str | None = None
    db: int = 0
    tls: bool = False

    @classmethod
    def from_url(cls, url: str | None) -> NodeAuth:
        """`redis[s]://[user:password@][/db]`: a URL without a host, since the sentinels
        say where the master is."""
        if not url:
            return cls()
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"not a redis:// or rediss:// URL: scheme {parts.scheme!r}")
        if parts.hostname:
            raise ValueError(
                "with Sentinel the URL names no host (redis://user:password@/0): "
                "the sentinels say where the master is"
            )
        db_text = parts.path.strip("/") or "0"
        if not db_text.isdigit():
            raise ValueError(f"not a database number: {db_text!r}")
        return cls(
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            db=int(db_text),
            tls=parts.scheme == "rediss",
        )


@dataclass(frozen=True)
class SentinelAuth:
    """The sentinels' own login (`requirepass` / ACL user of the sentinels)."""

    username: str | None = None
    password: str | None = None


class SentinelMasterRedis(Redis):
    """The master's client; closing it also closes its connections to the sentinels."""

    # Not `sentinel`: that name is redis-py's SENTINEL command.
    sentinels: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinels is not None:
            await self.sentinels.aclose()


def connect_sentinel_master(
    sentinels: str,
    master_name: str,
    *,
    timeout_seconds: float,
    node_auth: NodeAuth | None = None,
    sentinel_auth: SentinelAuth | None = None,
    **client_options: Any,
) -> SentinelMasterRedis:
    """A client of the master named `master_name` (the sentinels' `monitor` name).
    `timeout_seconds` bounds every connect and reply, the sentinels' included, so a
    hung sentinel or master costs a timeout, never a hang. `client_options` go to the
    master's connections (e.g. `health_check_interval`); by default a connection the
    master closed is retried once, at once, on a fresh one (which asks the sentinels
    again), and a timeout is not retried."""
    nodes = node_auth or NodeAuth()
    login = sentinel_auth or SentinelAuth()
    # No retry per sentinel: redis-py's default (10 retries with backoff) would make a
    # dead sentinel cost seconds, and discovery already moves on to the next sentinel.
    sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        parse_sentinels(sentinels),
        sentinel_kwargs={
            "socket_timeout": timeout_seconds,
            "socket_connect_timeout": timeout_seconds,
            "retry": Retry(NoBackoff(), retries=0),
            "username": login.username,
            "password": login.password,
        },
    )
    client_options.setdefault(
        "retry", Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,))
    )
    client = sentinel.master_for(
        master_name,
        redis_class=SentinelMasterRedis,
        username=nodes.username,
        password=nodes.password,
        db=nodes.db,
        ssl=nodes.tls,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        **client_options,
    )
    if not isinstance(client, SentinelMasterRedis):
        raise TypeError(f"redis-py built a {type(client).__name__}, not a SentinelMasterRedis")
    client.sentinels = sentinel
    return client
