"""Guessing introspection credentials is bounded per client address; a service with
valid credentials elsewhere is never throttled, however often it asks."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import client_at, running
from tests.support.api import assert_problem
from tests.support.sessions import logged_in

SettingsFactory = Callable[..., Settings]
SECRET = "introspection-secret-0123456789"


async def introspect(api: httpx.AsyncClient, token: str, secret: str) -> httpx.Response:
    credentials = base64.b64encode(f"quiz-service:{secret}".encode()).decode()
    return await api.post(
        "/auth/introspect",
        content=f"token={token}",
        headers={
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


async def test_failed_credentials_are_throttled_per_address(
    api_settings: SettingsFactory,
) -> None:
    settings = api_settings(
        introspection_clients=[f"quiz-service:{SECRET}"], introspection_failure_limit=3
    )
    app = create_app(settings)
    async with running(app, ip="198.51.100.66") as guesser:
        _, tokens = await logged_in(guesser)
        token = str(tokens["access_token"])
        for n in range(3):
            assert_problem(
                await introspect(guesser, token, f"guess-{n:020d}"), 401, "INVALID_CLIENT"
            )
        throttled = await introspect(guesser, token, f"guess-{3:020d}")
        assert_problem(throttled, 429, "RATE_LIMITED")
        assert 0 < int(throttled.headers["retry-after"]) <= 300
        # Right credentials from that address wait too: a guess must not be confirmed.
        assert_problem(await introspect(guesser, token, SECRET), 429, "RATE_LIMITED")
        async with client_at(app, "203.0.113.8") as service:
            for _ in range(10):  # successes count nothing
                assert (await introspect(service, token, SECRET)).json()["active"] is True
