"""Logout, logout everywhere, the session list, and the session.revoked event."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from auth_api.app import create_app
from auth_api.model.session import MAX_SESSIONS_PER_USER
from auth_api.settings import Settings
from tests.conftest import running
from tests.support.api import assert_problem, bearer
from tests.support.sessions import delivered_events, logged_in, me_status, refresh

SettingsFactory = Callable[..., Settings]


async def test_logout_ends_the_sessions_refresh_token(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings())) as api:
        _, tokens = await logged_in(api)
        assert (
            await api.post("/auth/logout", headers=bearer(str(tokens["access_token"])))
        ).status_code == 204
        assert_problem(
            await refresh(api, str(tokens["refresh_token"])), 401, "INVALID_REFRESH_TOKEN"
        )


async def test_logout_kills_every_access_token_of_the_session(
    api_settings: SettingsFactory,
) -> None:
    async with running(create_app(api_settings())) as api:
        _, tokens = await logged_in(api)
        rotated = (await refresh(api, str(tokens["refresh_token"]))).json()
        await api.post("/auth/logout", headers=bearer(rotated["access_token"]))
        assert await me_status(api, str(tokens["access_token"])) == 401


async def test_logout_all_ends_every_session_at_once(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings())) as api:
        email, phone = await logged_in(api, agent="phone")
        _, laptop = await logged_in(api, email, agent="laptop")
        response = await api.post("/auth/logout-all", headers=bearer(str(laptop["access_token"])))
        assert response.status_code == 204
        for tokens in (phone, laptop):
            assert await me_status(api, str(tokens["access_token"])) == 401
            assert (await refresh(api, str(tokens["refresh_token"]))).status_code == 401
        # Tokens issued in the logout-all's own second are refused too (README, Guarantees);
        # a login from the next second on is not.
        await asyncio.sleep(math.ceil(time.time()) - time.time() + 0.01)
        _, fresh = await logged_in(api, email)
        assert await me_status(api, str(fresh["access_token"])) == 200


async def test_sessions_list_shows_the_callers_sessions(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings())) as api:
        email, _phone = await logged_in(api, agent="phone-browser")
        _, laptop = await logged_in(api, email, agent="laptop-browser")
        _, stranger = await logged_in(api)
        response = await api.get("/auth/sessions", headers=bearer(str(laptop["access_token"])))
        assert response.status_code == 200
        sessions = response.json()
        assert {s["user_agent"] for s in sessions} == {"phone-browser", "laptop-browser"}
        current = [s for s in sessions if s["current"]]
        assert [s["user_agent"] for s in current] == ["laptop-browser"]
        assert {"id", "created_at", "last_used_at", "expires_at"} <= set(sessions[0])
        assert (
            len(
                (
                    await api.get("/auth/sessions", headers=bearer(str(stranger["access_token"])))
                ).json()
            )
            == 1
        )


async def test_ending_one_session_leaves_the_others(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings())) as api:
        email, phone = await logged_in(api, agent="phone")
        _, laptop = await logged_in(api, email, agent="laptop")
        laptop_auth = bearer(str(laptop["access_token"]))
        sessions = (await api.get("/auth/sessions", headers=laptop_auth)).json()
        [other] = [s for s in sessions if not s["current"]]
        assert (
            await api.delete(f"/auth/sessions/{other['id']}", headers=laptop_auth)
        ).status_code == 204
        assert await me_status(api, str(phone["access_token"])) == 401
        assert (await refresh(api, str(phone["refresh_token"]))).status_code == 401
        assert await me_status(api, str(laptop["access_token"])) == 200
        # A retry (the first response lost, say) answers as the first did.
        retry = await api.delete(f"/auth/sessions/{other['id']}", headers=laptop_auth)
        assert retry.status_code == 204
        assert await me_status(api, str(phone["access_token"])) == 401
        assert_problem(
            await api.delete("/auth/sessions/no-such-session", headers=laptop_auth),
            404,
            "SESSION_NOT_FOUND",
        )


async def test_no_one_can_end_someone_elses_session(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings())) as api:
        _, victim = await logged_in(api)
        _, attacker = await logged_in(api)
        victim_sessions = (
            await api.get("/auth/sessions", headers=bearer(str(victim["access_token"])))
        ).json()
        target = victim_sessions[0]["id"]
        response = await api.delete(
            f"/auth/sessions/{target}", headers=bearer(str(attacker["access_token"]))
        )
        assert_problem(response, 404, "SESSION_NOT_FOUND")
        assert await me_status(api, str(victim["access_token"])) == 200


async def test_reuse_emits_session_revoked(api_settings: SettingsFactory) -> None:
    app = create_app(api_settings(refresh_grace_seconds=0))
    async with running(app) as api:
        _, tokens = await logged_in(api)
        first = str(tokens["refresh_token"])
        await refresh(api, first)
        await refresh(api, first)
        events = await delivered_events(app, "session.revoked")
    assert [e["data"]["reason"] for e in events] == ["refresh_token_reuse"]
    user_id, session_id, _ = first.split(".")
    assert events[0]["subject"] == user_id
    assert events[0]["data"]["session_ids"] == [session_id]


async def test_logout_emits_one_logged_out_event(api_settings: SettingsFactory) -> None:
    app = create_app(api_settings())
    async with running(app) as api:
        _, tokens = await logged_in(api)
        await api.post("/auth/logout", headers=bearer(str(tokens["access_token"])))
        await api.post("/auth/logout", headers=bearer(str(tokens["access_token"])))
        events = await delivered_events(app, "user.logged_out")
    assert len(events) == 1
    assert events[0]["data"]["scope"] == "session"


async def test_a_session_evicted_by_the_cap_is_revoked_like_a_logout(
    api_settings: SettingsFactory,
) -> None:
    app = create_app(api_settings(login_account_limit=MAX_SESSIONS_PER_USER + 5))
    async with running(app) as api:
        email, oldest = await logged_in(api, agent="oldest")
        for _ in range(MAX_SESSIONS_PER_USER - 1):
            await logged_in(api, email)
        assert await me_status(api, str(oldest["access_token"])) == 200
        _, newest = await logged_in(api, email, agent="newest")
        # Its access token dies with it, not 15 minutes later.
        assert await me_status(api, str(oldest["access_token"])) == 401
        assert (await refresh(api, str(oldest["refresh_token"]))).status_code == 401
        listed = await api.get("/auth/sessions", headers=bearer(str(newest["access_token"])))
        assert len(listed.json()) == MAX_SESSIONS_PER_USER
        assert "oldest" not in {s["user_agent"] for s in listed.json()}
        events = await delivered_events(app, "session.revoked")
    [evicted] = events
    user_id, session_id, _ = str(oldest["refresh_token"]).split(".")
    assert evicted["subject"] == user_id
    assert evicted["data"]["reason"] == "evicted"
    assert evicted["data"]["session_ids"] == [session_id]


async def test_a_logged_out_token_stays_refused_through_the_leeway(
    api_settings: SettingsFactory,
) -> None:
    """Tokens of 1 s with 3 s of leeway: the token is accepted up to 4 s after it was
    issued, and its denial must last that long. Two seconds in, it has expired but is
    still within the leeway, and a denial that ended at `exp` would let it back in."""
    settings = api_settings(access_token_ttl_seconds=1, jwt_leeway_seconds=3)
    async with running(create_app(settings)) as api:
        _, tokens = await logged_in(api)
        access = str(tokens["access_token"])
        assert (await api.post("/auth/logout", headers=bearer(access))).status_code == 204
        await asyncio.sleep(2)
        assert await me_status(api, access) == 401
