"""The web page's refresh cookie: `__Host-` prefixed (Secure, Path=/, no Domain),
HttpOnly, SameSite=Strict, and usable only with the CSRF header from an allowed origin;
over plain http in development, a documented name without the prefix."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from auth_api.app import create_app
from auth_api.http.refresh_cookie import COOKIE_NAME, DEVELOPMENT_COOKIE_NAME
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


def refresh_cookie(response: httpx.Response, name: str = COOKIE_NAME) -> tuple[str, str]:
    header = response.headers["set-cookie"]
    pair = header.split(";", 1)[0]
    assert pair.startswith(f"{name}="), header
    return pair.split("=", 1)[1], header.lower()


def attributes(header: str) -> set[str]:
    return {part.strip() for part in header.split(";")[1:]}


async def cookie_refresh(
    api: httpx.AsyncClient,
    value: str,
    headers: dict[str, str] | None = None,
    name: str = COOKIE_NAME,
) -> httpx.Response:
    cookies = {"Cookie": f"{name}={value}"}
    return await api.post("/auth/refresh", headers={**cookies, **(headers or {})})


async def test_login_puts_the_refresh_token_in_a_host_prefixed_strict_httponly_cookie(
    make_settings: SettingsFactory,
) -> None:
    async with running(create_app(make_settings())) as api:
        response = await cookie_login(api)
    assert response.status_code == 200
    assert "refresh_token" not in response.json()
    assert COOKIE_NAME == "__Host-quizauth_refresh"
    _, header = refresh_cookie(response, COOKIE_NAME)
    # What browsers require of a __Host- cookie: Secure, Path=/ and no Domain.
    assert {"httponly", "samesite=strict", "path=/", "secure"} <= attributes(header)
    assert not any(a.startswith("domain") for a in attributes(header))
    assert any(a.startswith("max-age=") for a in attributes(header))


async def test_development_over_http_uses_the_unprefixed_name(
    make_settings: SettingsFactory,
) -> None:
    async with running(create_app(make_settings(env="development"))) as api:
        value, header = refresh_cookie(await cookie_login(api), DEVELOPMENT_COOKIE_NAME)
        assert "secure" not in attributes(header)
        assert {"httponly", "samesite=strict", "path=/"} <= attributes(header)
        response = await cookie_refresh(api, value, WEB, name=DEVELOPMENT_COOKIE_NAME)
        assert response.status_code == 200


async def test_outside_development_the_unprefixed_name_is_not_read(
    make_settings: SettingsFactory,
) -> None:
    """A cookie without the prefix could have been planted by a sibling host or over
    plain http: outside development it is no refresh token."""
    async with running(create_app(make_settings())) as api:
        value, _ = refresh_cookie(await cookie_login(api))
        planted = await cookie_refresh(api, value, WEB, name=DEVELOPMENT_COOKIE_NAME)
        assert_problem(planted, 401, "INVALID_REFRESH_TOKEN")
        assert (await cookie_refresh(api, value, WEB)).status_code == 200


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
        cleared = response.headers["set-cookie"]
        assert cleared.startswith(f"{COOKIE_NAME}=")
        assert {"max-age=0", "path=/", "secure"} <= attributes(cleared.lower())
        assert (await cookie_refresh(api, value, WEB)).status_code == 401
