"""What every Redis mode must give two API instances on one Redis: shared sessions and
revocations, and one login limit. Each mode's suite runs these on its own servers."""

from __future__ import annotations

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import running
from tests.support.api import assert_problem, bearer, login, register, unique_email
from tests.support.sessions import logged_in, me_status, refresh


async def sessions_hold_across_two_instances(settings: Settings) -> None:
    """Login, refresh, logout and logout-all through one instance hold on the other."""
    async with running(create_app(settings)) as first, running(create_app(settings)) as second:
        email, tokens = await logged_in(first)
        access, refresh_token = str(tokens["access_token"]), str(tokens["refresh_token"])
        assert await me_status(second, access) == 200
        refreshed = await refresh(second, refresh_token)
        assert refreshed.status_code == 200, refreshed.text
        assert (await first.post("/auth/logout", headers=bearer(access))).status_code == 204
        assert_problem(
            await second.get("/auth/me", headers=bearer(access)), 401, "NOT_AUTHENTICATED"
        )
        _, other = await logged_in(second, email)
        newest = str(other["access_token"])
        assert await me_status(first, newest) == 200
        assert (await second.post("/auth/logout-all", headers=bearer(newest))).status_code == 204
        assert await me_status(first, newest) == 401
        assert await me_status(first, str(refreshed.json()["access_token"])) == 401
        assert (await refresh(first, str(refreshed.json()["refresh_token"]))).status_code == 401


async def login_limit_is_shared_by_two_instances(settings: Settings) -> None:
    """`settings` allow 3 failed logins per account and address."""
    email = unique_email()
    async with running(create_app(settings)) as first, running(create_app(settings)) as second:
        assert (await register(first, email)).status_code == 201
        for client in (first, second, first):
            assert (await login(client, email, "wrong password!")).status_code == 401
        assert_problem(await login(second, email, "wrong password!"), 429, "RATE_LIMITED")
