"""The account endpoints, run against the embedded backends and the real servers."""

from __future__ import annotations

import httpx

from tests.support.api import (
    PASSWORD,
    assert_problem,
    bearer,
    login,
    register,
    registered_token,
    unique_email,
)


async def test_register_returns_the_public_profile(api: httpx.AsyncClient) -> None:
    email = unique_email()
    response = await register(api, email, display_name="Quiz Master")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "display_name", "created_at", "email_verified"}
    assert body["email"] == email
    assert body["display_name"] == "Quiz Master"


async def test_duplicate_email_after_normalisation_is_409(api: httpx.AsyncClient) -> None:
    email = unique_email()
    assert (await register(api, email)).status_code == 201
    shouting = "  " + email.upper() + " "
    assert_problem(await register(api, shouting), 409, "EMAIL_ALREADY_REGISTERED")


async def test_login_returns_a_bearer_token_that_is_not_cached(api: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(api, email)
    response = await login(api, email.upper())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert response.headers["cache-control"] == "no-store"


async def test_me_returns_the_callers_profile(api: httpx.AsyncClient) -> None:
    email, token = await registered_token(api)
    response = await api.get("/auth/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["email"] == email


async def test_me_without_valid_token_is_401_with_challenge(api: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}):
        response = await api.get("/auth/me", headers=headers)
        assert_problem(response, 401, "NOT_AUTHENTICATED")
        assert response.headers["www-authenticate"] == "Bearer"


async def test_logout_revokes_the_token(api: httpx.AsyncClient) -> None:
    _, token = await registered_token(api)
    assert (await api.post("/auth/logout", headers=bearer(token))).status_code == 204
    assert_problem(await api.get("/auth/me", headers=bearer(token)), 401, "NOT_AUTHENTICATED")
    assert_problem(await api.post("/auth/logout", headers=bearer(token)), 401, "NOT_AUTHENTICATED")


async def test_logout_leaves_other_tokens_valid(api: httpx.AsyncClient) -> None:
    email, first = await registered_token(api)
    second = (await login(api, email)).json()["access_token"]
    await api.post("/auth/logout", headers=bearer(first))
    assert (await api.get("/auth/me", headers=bearer(second))).status_code == 200


async def test_unknown_email_and_wrong_password_look_the_same(api: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(api, email)
    wrong_password = await login(api, email, PASSWORD + "x")
    unknown_email = await login(api, unique_email(), PASSWORD)
    assert_problem(wrong_password, 401, "INVALID_CREDENTIALS")
    assert wrong_password.status_code == unknown_email.status_code
    assert wrong_password.content == unknown_email.content
    ignored = {"date", "content-length", "x-request-id"}
    assert {k: v for k, v in wrong_password.headers.items() if k not in ignored} == {
        k: v for k, v in unknown_email.headers.items() if k not in ignored
    }


async def test_health(api: httpx.AsyncClient) -> None:
    assert (await api.get("/health/live")).json() == {"status": "ok"}
    ready = await api.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"startup": "ok", "mongodb": "ok", "redis": "ok"}
    assert ready.json()["degraded"] == []


async def test_openapi_declares_bearer_auth(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
    assert schema["paths"]["/auth/me"]["get"]["security"]
    assert (await api.get("/docs")).status_code == 200
