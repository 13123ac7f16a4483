"""A tiny quiz app protected by quizauth_client, run in the test's process: it holds
no secret, only the auth service's JWKS URL, and checks revocations in Redis on every
request (RedisDenylist) or through its near cache (NearCachedDenylist)."""

# No `from __future__ import annotations`: FastAPI must see the local dependency object.

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from auth_api.security.redis_stores import connect_cluster
from quizauth_client import (
    AuthenticatedUser,
    Denylist,
    JwksCache,
    NearCachedDenylist,
    RedisDenylist,
    TokenVerifier,
    require_user,
)
from tests.support.near_cache import QUICK
from tests.support.near_cache import until_live as until_channel_up


def quiz_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    user_dependency = require_user(verifier)

    @app.get("/quiz/next")
    async def next_question(
        user: Annotated[AuthenticatedUser, Depends(user_dependency)],
    ) -> dict[str, str]:
        return {"player": user.user_id, "question": "What is 6 x 7?"}

    return app


@asynccontextmanager
async def quiz_denylist(
    redis: Redis | RedisCluster, prefix: str, near_cache: bool
) -> AsyncIterator[Denylist]:
    """The quiz app's revocation source; with the near cache, once its channel is up."""
    if not near_cache:
        yield RedisDenylist(redis, prefix)
        return
    async with NearCachedDenylist(redis, prefix, timing=QUICK) as near:
        await until_channel_up(near.cache)
        yield near


@asynccontextmanager
async def quiz_redis(redis_url: str, clustered: bool) -> AsyncIterator[Redis | RedisCluster]:
    """The quiz app's Redis client; a cluster's learns its slots before serving."""
    if not clustered:
        async with Redis.from_url(redis_url) as redis:
            yield redis
        return
    cluster = connect_cluster(redis_url, timeout_seconds=5.0)
    try:
        await cluster.initialize()
        yield cluster
    finally:
        await cluster.aclose()


@asynccontextmanager
async def quiz_client(
    jwks_url: str,
    redis_url: str,
    prefix: str,
    issuer: str,
    audience: str,
    near_cache: bool,
    clustered: bool = False,
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the quiz app; its `denylist` attribute is the app's source.
    `clustered`: `redis_url` names a Redis Cluster's seed nodes."""
    async with AsyncExitStack() as stack:
        redis = await stack.enter_async_context(quiz_redis(redis_url, clustered))
        http = await stack.enter_async_context(httpx.AsyncClient())
        denylist = await stack.enter_async_context(quiz_denylist(redis, prefix, near_cache))
        jwks = JwksCache(jwks_url, http, refetch_cooldown=0.0)
        verifier = TokenVerifier(jwks, denylist, issuer, audience)
        transport = httpx.ASGITransport(app=quiz_app(verifier))
        client = httpx.AsyncClient(transport=transport, base_url="http://quiz")
        client.denylist = denylist  # type: ignore[attr-defined]
        async with client:
            yield client
