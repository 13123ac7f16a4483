"""`python -m bench.quizapp '<json>'`: a quiz service built on quizauth_client, for the
propagation scenario. One route per revocation mode, `/quiz/<mode>`, each verifying
with the same JWKS and its own revocation source; `/ready` answers 200 once every
source can answer (the events mode has read the log back).

A mode is one entry of MODES: a function of the run's settings that yields a started
revocation source and stops it when the app stops."""

# No `from __future__ import annotations`: FastAPI must see the route's dependency.

import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Annotated, Any

import httpx
import uvicorn
from fastapi import Depends, FastAPI, Response

from quizauth_client import (
    AuthenticatedUser,
    Denylist,
    EventsDenylist,
    EventsModeSettings,
    JwksCache,
    NearCachedDenylist,
    RedisDenylist,
    TokenVerifier,
    require_user,
)

Config = dict[str, Any]


@asynccontextmanager
async def redis_mode(config: Config) -> AsyncIterator[Denylist]:
    """Reads the auth service's Redis on every check."""
    from redis.asyncio import Redis  # noqa: PLC0415 - only this mode needs redis-py

    redis = Redis.from_url(config["redis_url"])
    try:
        yield RedisDenylist(redis, config["redis_prefix"])
    finally:
        await redis.aclose()


@asynccontextmanager
async def near_cache_mode(config: Config) -> AsyncIterator[Denylist]:
    """Reads the auth service's Redis once per token, then keeps a copy that Redis
    keeps coherent (CLIENT TRACKING); ready once its invalidation channel is up."""
    from redis.asyncio import Redis  # noqa: PLC0415 - only the Redis modes need redis-py

    redis = Redis.from_url(config["redis_url"])
    try:
        async with NearCachedDenylist(redis, config["redis_prefix"]) as denylist:
            yield denylist
    finally:
        await redis.aclose()


@asynccontextmanager
async def events_mode(config: Config) -> AsyncIterator[Denylist]:
    """Keeps the deny-set from the revocation events on Kafka."""
    settings = EventsModeSettings(config["kafka_bootstrap"], config["topic_prefix"])
    async with EventsDenylist(settings) as denylist:
        yield denylist


MODES: dict[str, Callable[[Config], AbstractAsyncContextManager[Denylist]]] = {
    "redis": redis_mode,
    "near_cache": near_cache_mode,
    "events": events_mode,
}


def quiz_route(verifier: TokenVerifier) -> Callable[..., Any]:
    user_dependency = require_user(verifier)

    async def next_question(
        user: Annotated[AuthenticatedUser, Depends(user_dependency)],
    ) -> dict[str, str]:
        return {"player": user.user_id}

    return next_question


def build_app(config: Config) -> FastAPI:
    sources: list[Denylist] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient() as http, AsyncExitStack() as stack:
            jwks = JwksCache(config["jwks_url"], http)
            for mode in config["modes"]:
                denylist = await stack.enter_async_context(MODES[mode](config))
                verifier = TokenVerifier(jwks, denylist, config["issuer"], config["audience"])
                app.add_api_route(f"/quiz/{mode}", quiz_route(verifier), methods=["GET"])
                sources.append(denylist)
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/ready")
    async def ready() -> Response:
        waiting = [s for s in sources if not getattr(s, "ready", True)]
        return Response(status_code=503 if waiting or not sources else 200)

    return app


def main() -> None:
    config: Config = json.loads(sys.argv[1])
    app = build_app(config)
    uvicorn.run(app, host="127.0.0.1", port=config["port"], log_level="warning")


if __name__ == "__main__":
    main()
