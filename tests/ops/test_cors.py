"""Cross-origin access: only the exact origins of AUTH_CORS_ORIGINS, with credentials;
nothing for any other origin, and nothing at all by default."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from pydantic import ValidationError

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import running
from tests.support.api import assert_problem, bearer, registered_token

SettingsFactory = Callable[..., Settings]
LISTED = "https://quiz.example"
PREFLIGHT = {
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "authorization, x-requested-with",
}


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


async def test_a_listed_origin_may_call_with_credentials(make_settings: SettingsFactory) -> None:
    settings = make_settings(cors_origins=f"{LISTED},https://admin.quiz.example")
    async with running(create_app(settings)) as api:
        _, token = await registered_token(api)
        preflight = await api.options("/auth/me", headers={"Origin": LISTED, **PREFLIGHT})
        response = await api.get("/auth/me", headers={"Origin": LISTED, **bearer(token)})
        live = await api.get("/health/live", headers={"Origin": LISTED})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == LISTED
    assert preflight.headers["access-control-allow-credentials"] == "true"
    allowed = {
        h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "content-type", "x-requested-with"} <= allowed
    assert int(preflight.headers["access-control-max-age"]) > 0
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == LISTED
    assert response.headers["access-control-allow-credentials"] == "true"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"retry-after", "x-request-id"} <= exposed
    assert "origin" in live.headers["vary"].lower()


@pytest.mark.parametrize("configured", ["", LISTED])
async def test_any_other_origin_gets_no_cors_header(
    make_settings: SettingsFactory, configured: str
) -> None:
    evil = {"Origin": "https://evil.example"}
    async with running(create_app(make_settings(cors_origins=configured))) as api:
        _, token = await registered_token(api)
        preflight = await api.options("/auth/me", headers={**evil, **PREFLIGHT})
        response = await api.get("/auth/me", headers={**evil, **bearer(token)})
    assert preflight.status_code >= 400
    assert preflight.headers["content-type"].startswith("application/problem+json")
    assert cors_headers(preflight) == {}
    assert response.status_code == 200  # answered, but the browser will not hand it over
    assert cors_headers(response) == {}


async def test_a_listed_origin_asking_for_more_is_refused_as_a_problem(
    make_settings: SettingsFactory,
) -> None:
    async with running(create_app(make_settings(cors_origins=LISTED))) as api:
        response = await api.options(
            "/auth/me",
            headers={
                "Origin": LISTED,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "x-anything",
            },
        )
    assert_problem(response, 400, "CORS_REJECTED")


@pytest.mark.parametrize(
    "origins",
    [
        "*",
        "https://*.quiz.example",
        "https://quiz.example/",
        "https://quiz.example/app",
        "quiz.example",
        "null",
        "https://Quiz.Example",
        f"{LISTED}, *",
    ],
)
def test_settings_accept_only_exact_origins(origins: str) -> None:
    with pytest.raises(ValidationError, match="AUTH_CORS_ORIGINS"):
        Settings(env="development", cors_origins=origins)


def test_settings_parse_a_comma_list_of_origins() -> None:
    settings = Settings(
        env="development", cors_origins="https://quiz.example, http://localhost:5173"
    )
    assert settings.cors_origins == ["https://quiz.example", "http://localhost:5173"]
