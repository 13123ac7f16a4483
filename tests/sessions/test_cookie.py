"""The web page's refresh cookie: HttpOnly, SameSite=Strict, scoped to the refresh path,
and usable only with the CSRF header from an allowed origin."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import running
from tests.support.api import PASSWORD, assert_problem, bearer, register, unique_email

SettingsFactory = Callable[..., Settings]
WEB = {"X-Requested-With": "quizauth-web"}


async def cookie_login(api: httpx.AsyncClient) -> httpx.Response:
    email = unique_email()
    await register(api, email)
    return await api.post(
        "/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"X-Refresh-Cookie": "1"},
    )


def refresh_cookie(response: httpx.Response) -> tuple[str, str]:
    header = response.headers["set-cookie"]
    value = header.split(";", 1)[0].split("=", 1)[1]
    return value, header.lower()


async def cookie_refresh(
    api: httpx.AsyncClient, value: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    cookies = {"Cookie": f"quizauth_refresh={value}"}
    return await api.post("/auth/refresh", headers={**cookies, **(headers or {})})


async def test_login_puts_the_refresh_token_in_a_strict_httponly_cookie(
    make_settings: SettingsFactory,
) -> None:
    async with running(create_app(make_settings())) as api:
        response = await cookie_login(api)
    assert response.status_code == 200
    assert "refresh_token" not in response.json()
    _, header = refresh_cookie(response)
    for attribute in ("httponly", "samesite=strict", "path=/auth/refresh", "secure", "max-age="):
        assert attribute in header


async def test_development_cookie_is_not_secure(make_settings: SettingsFactory) -> None:
    async with running(create_app(make_settings(env="development"))) as api:
        _, header = refresh_cookie(await cookie_login(api))
    assert "secure" not in header


async def test_cookie_refresh_needs_the_csrf_header(make_settings: SettingsFactory) -> None:
    async with running(create_app(make_settings())) as api:
        value, _ = refresh_cookie(await cookie_login(api))
        assert_problem(await cookie_refresh(api, value), 403, "CSRF_REJECTED")
        response = await cookie_refresh(api, value, WEB)
        assert response.status_code == 200
        assert "refresh_token" not in response.json()
        rotated, _ = refresh_cookie(response)
        assert rotated != value
        me = await api.get("/auth/me", headers=bearer(response.json()["access_token"]))
        assert me.status_code == 200


async def test_cookie_refresh_refuses_foreign_origins(make_settings: SettingsFactory) -> None:
    settings = make_settings(web_origins=["https://quiz.example"])
    async with running(create_app(settings)) as api:
        value, _ = refresh_cookie(await cookie_login(api))
        evil = await cookie_refresh(api, value, {**WEB, "Origin": "https://evil.example"})
        assert_problem(evil, 403, "CSRF_REJECTED")
        allowed = await cookie_refresh(api, value, {**WEB, "Origin": "https://quiz.example"})
        assert allowed.status_code == 200
        same = await cookie_refresh(
            api, refresh_cookie(allowed)[0], {**WEB, "Origin": "http://testserver"}
        )
        assert same.status_code == 200


async def test_logout_clears_the_cookie(make_settings: SettingsFactory) -> None:
    async with running(create_app(make_settings())) as api:
        login = await cookie_login(api)
        value, _ = refresh_cookie(login)
        response = await api.post("/auth/logout", headers=bearer(login.json()["access_token"]))
        assert response.status_code == 204
        cleared = response.headers["set-cookie"].lower()
        assert "quizauth_refresh=" in cleared
        assert "max-age=0" in cleared
        assert (await cookie_refresh(api, value, WEB)).status_code == 401
