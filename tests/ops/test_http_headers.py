"""Headers every response carries, and those of responses holding a user's data."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import running
from tests.support.api import PASSWORD, bearer, registered_token, unique_email

SettingsFactory = Callable[..., Settings]


async def fail() -> None:
    raise RuntimeError("a bug")


def with_failing_route(app: FastAPI) -> FastAPI:
    # First, ahead of the page mounted at `/`, which would answer the path otherwise.
    app.router.routes.insert(0, APIRoute("/failing", fail))
    return app


async def server_error(app: FastAPI) -> httpx.Response:
    """The 500 a bug causes; Starlette re-raises the bug after answering, for servers
    to log, which this transport must not pass on to the test."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get("/failing")


async def every_kind_of_response(app: FastAPI, api: httpx.AsyncClient) -> dict[str, httpx.Response]:
    email, token = await registered_token(api)
    return {
        "json": await api.get("/auth/me", headers=bearer(token)),
        "problem": await api.get("/auth/me"),
        "not found": await api.get("/auth/nothing-here"),
        "too large": await api.post(
            "/auth/login", content=b"x" * 20_000, headers={"content-type": "application/json"}
        ),
        "no content": await api.post("/auth/logout", headers=bearer(token)),
        "page": await api.get("/"),
        "metrics": await api.get("/metrics"),
        "docs": await api.get("/docs"),
        "login": await api.post("/auth/login", json={"email": email, "password": PASSWORD}),
        "server error": await server_error(app),
    }


async def test_every_response_says_nosniff(make_settings: SettingsFactory) -> None:
    app = with_failing_route(create_app(make_settings()))
    async with running(app) as api:
        responses = await every_kind_of_response(app, api)
    assert responses["server error"].status_code == 500
    missing = [
        kind
        for kind, r in responses.items()
        if r.headers.get("x-content-type-options") != "nosniff"
    ]
    assert missing == []


async def test_user_data_is_never_cached(make_settings: SettingsFactory) -> None:
    async with running(create_app(make_settings())) as api:
        _, token = await registered_token(api)
        for path in ("/auth/me", "/auth/sessions"):
            response = await api.get(path, headers=bearer(token))
            assert response.status_code == 200, path
            assert response.headers["cache-control"] == "no-store", path


async def test_production_responses_require_https_from_then_on(
    real_settings: SettingsFactory,
) -> None:
    # Production refuses hashing below OWASP's floor: the cheapest setting it accepts.
    hashing = {"argon2_memory_kib": 7168, "argon2_time_cost": 5, "bcrypt_rounds": 10}
    app = with_failing_route(create_app(real_settings(env="production", **hashing)))
    async with running(app) as api:
        responses = await every_kind_of_response(app, api)
    missing = [
        kind
        for kind, r in responses.items()
        if r.headers.get("strict-transport-security") != "max-age=31536000"
    ]
    assert missing == []


async def test_outside_production_there_is_no_hsts(make_settings: SettingsFactory) -> None:
    for env in ("development", "test"):
        async with running(create_app(make_settings(env=env))) as api:
            response = await api.post(
                "/auth/login", json={"email": unique_email(), "password": PASSWORD}
            )
        assert "strict-transport-security" not in response.headers, env
