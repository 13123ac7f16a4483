"""`python -m bench.redis_memory [--count N]`: how much Redis memory each kind of entry
the service writes takes, for sizing Redis (docs/scaling.md).

A private Redis is started; for each kind, N entries are written through the service's
own stores (the same keys, values and TTLs as in production), and the growth of
`used_memory` is divided by N. Ids have their production shapes: a 36-character user
id, a 24-character session id, a 22-character jti."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from auth_api.security.addresses import limit_subject
from auth_api.security.login_limits import account_ip_key, account_key, account_subject
from auth_api.security.redis_stores import RedisRateLimiter, RedisRevocationStore
from auth_api.security.stores import LimitRule
from bench.servers import PrivateRedis

PREFIX = "auth:"
ACCESS_TTL = 900 + 10  # the default token lifetime and leeway
WINDOW = 900
BATCH = 50  # writes in flight at once, within the client pool's connections

Write = Callable[[int], Awaitable[object]]


def writers(client: Redis) -> dict[str, Write]:
    revocations = RedisRevocationStore(client, PREFIX)
    limiter = RedisRateLimiter(client, PREFIX)

    async def failed_login(i: int) -> object:
        account, address = account_subject(f"user{i}@example.com"), limit_subject(ip(i))
        return await limiter.hit(
            [
                LimitRule(f"login:ip:{address}", 20, WINDOW),
                LimitRule(account_ip_key(account, address), 5, WINDOW),
                LimitRule(account_key(account), None, WINDOW),
            ]
        )

    return {
        "a logged-out token (revoked jti)": lambda i: revocations.revoke(
            secrets.token_urlsafe(16), str(uuid.uuid4()), ACCESS_TTL
        ),
        "an ended session": lambda i: revocations.revoke_sessions(
            str(uuid.uuid4()), [secrets.token_hex(12)], ACCESS_TTL
        ),
        "a user cut-off (logout-all, reset, disable)": lambda i: revocations.revoke_user_tokens(
            str(uuid.uuid4()), 1_800_000_000, ACCESS_TTL
        ),
        "a failed login from a new address (3 counters)": failed_login,
    }


def ip(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


async def bytes_per_entry(client: Redis, write: Write, count: int) -> float:
    await client.flushdb()
    before = await used_memory(client)
    for start in range(0, count, BATCH):
        await asyncio.gather(*(write(i) for i in range(start, min(start + BATCH, count))))
    return (await used_memory(client) - before) / count


async def used_memory(client: Redis) -> int:
    return int((await client.info("memory"))["used_memory"])


async def measure(url: str, count: int) -> dict[str, float]:
    client = Redis.from_url(url)
    try:
        return {
            kind: await bytes_per_entry(client, write, count)
            for kind, write in writers(client).items()
        }
    finally:
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    count = parser.parse_args().count
    redis_server = PrivateRedis()
    redis_server.start()
    try:
        figures = asyncio.run(measure(redis_server.url, count))
    finally:
        redis_server.stop()
    print(f"| entry ({count:,} of each) | bytes each |")
    print("| --- | ---: |")
    for kind, size in figures.items():
        print(f"| {kind} | {size:,.0f} |")


if __name__ == "__main__":
    main()
