"""Refresh rotation, reuse detection, the concurrent-refresh race and session lifetimes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import running
from tests.support.api import assert_problem
from tests.support.sessions import logged_in, me_status, refresh

SettingsFactory = Callable[..., Settings]


async def test_login_returns_a_refresh_token(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings())) as api:
        _, tokens = await logged_in(api)
    refresh_token = str(tokens["refresh_token"])
    assert len(refresh_token.rsplit(".", 1)[1]) >= 43  # 256 bits of base64url
    # The nearer deadline of the two: the 7-day idle timeout, not the 30-day lifetime.
    assert 7 * 86400 - 5 <= int(tokens["refresh_expires_in"]) <= 7 * 86400


async def test_refresh_rotates_and_spends_the_old_token(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings(refresh_grace_seconds=0))) as api:
        _, tokens = await logged_in(api)
        response = await refresh(api, str(tokens["refresh_token"]))
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        rotated = response.json()
        assert rotated["refresh_token"] != tokens["refresh_token"]
        assert await me_status(api, rotated["access_token"]) == 200
        again = await refresh(api, rotated["refresh_token"])
        assert again.status_code == 200


async def test_reuse_of_a_spent_token_revokes_the_whole_session(
    api_settings: SettingsFactory,
) -> None:
    async with running(create_app(api_settings(refresh_grace_seconds=0))) as api:
        _, tokens = await logged_in(api)
        first = str(tokens["refresh_token"])
        second = (await refresh(api, first)).json()
        third = (await refresh(api, second["refresh_token"])).json()
        # The thief replays the first token: the whole family dies.
        assert_problem(await refresh(api, first), 401, "REFRESH_TOKEN_REUSED")
        assert_problem(await refresh(api, third["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")
        for access in (tokens["access_token"], second["access_token"], third["access_token"]):
            assert await me_status(api, str(access)) == 401


async def test_other_sessions_survive_a_reuse(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings(refresh_grace_seconds=0))) as api:
        email, victim = await logged_in(api)
        _, other = await logged_in(api, email)
        first = str(victim["refresh_token"])
        await refresh(api, first)
        await refresh(api, first)
        assert await me_status(api, str(other["access_token"])) == 200
        assert (await refresh(api, str(other["refresh_token"]))).status_code == 200


async def test_concurrent_refreshes_without_grace_admit_at_most_one(
    api_settings: SettingsFactory,
) -> None:
    async with running(create_app(api_settings(refresh_grace_seconds=0))) as api:
        _, tokens = await logged_in(api)
        token = str(tokens["refresh_token"])
        responses = await asyncio.gather(*(refresh(api, token) for _ in range(10)))
    assert sum(r.status_code == 200 for r in responses) <= 1
    assert all(r.status_code in {200, 401} for r in responses)


async def test_concurrent_refreshes_within_grace_rotate_once(
    api_settings: SettingsFactory,
) -> None:
    async with running(create_app(api_settings(refresh_grace_seconds=5))) as api:
        _, tokens = await logged_in(api)
        token = str(tokens["refresh_token"])
        responses = await asyncio.gather(*(refresh(api, token) for _ in range(10)))
        successors = {r.json()["refresh_token"] for r in responses if r.status_code == 200}
        # One rotation: every caller that got through holds the same successor.
        assert len(successors) == 1
        [successor] = successors
        assert (await refresh(api, successor)).status_code == 200


async def test_a_retry_within_grace_gets_the_same_successor(
    api_settings: SettingsFactory,
) -> None:
    async with running(create_app(api_settings(refresh_grace_seconds=5))) as api:
        _, tokens = await logged_in(api)
        token = str(tokens["refresh_token"])
        first = (await refresh(api, token)).json()
        retry = (await refresh(api, token)).json()
        assert retry["refresh_token"] == first["refresh_token"]


async def test_retry_after_grace_is_reuse(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings(refresh_grace_seconds=1))) as api:
        _, tokens = await logged_in(api)
        token = str(tokens["refresh_token"])
        successor = (await refresh(api, token)).json()["refresh_token"]
        await asyncio.sleep(1.2)
        assert_problem(await refresh(api, token), 401, "REFRESH_TOKEN_REUSED")
        assert (await refresh(api, successor)).status_code == 401


async def test_idle_session_expires(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings(session_idle_seconds=1))) as api:
        _, tokens = await logged_in(api)
        await asyncio.sleep(1.2)
        assert_problem(
            await refresh(api, str(tokens["refresh_token"])), 401, "INVALID_REFRESH_TOKEN"
        )


async def test_absolute_lifetime_ends_even_a_busy_session(api_settings: SettingsFactory) -> None:
    settings = api_settings(session_lifetime_seconds=2, refresh_grace_seconds=0)
    async with running(create_app(settings)) as api:
        _, tokens = await logged_in(api)
        token = str(tokens["refresh_token"])
        for _ in range(3):
            await asyncio.sleep(0.8)
            response = await refresh(api, token)
            if response.status_code != 200:
                break
            token = response.json()["refresh_token"]
        assert_problem(response, 401, "INVALID_REFRESH_TOKEN")


async def test_malformed_and_forged_refresh_tokens_are_401(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings())) as api:
        _, tokens = await logged_in(api)
        user_id, session_id, _ = str(tokens["refresh_token"]).split(".")
        for bad in ("x", "a.b", "a.b.c.d", f"{user_id}.{session_id}.forged", "." * 3):
            assert_problem(await refresh(api, bad), 401, "INVALID_REFRESH_TOKEN")
        assert_problem(await api.post("/auth/refresh"), 401, "INVALID_REFRESH_TOKEN")
        # A forged guess is not evidence of theft: the session is still alive.
        assert (await refresh(api, str(tokens["refresh_token"]))).status_code == 200
