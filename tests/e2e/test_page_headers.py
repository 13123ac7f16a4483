"""How the app serves the page beside the API; no server or browser needed."""

from __future__ import annotations

import re
from collections.abc import Callable

from auth_api.app import create_app
from auth_api.passwords.policy import MAX_LENGTH, MIN_LENGTH, common_passwords
from auth_api.settings import Settings
from auth_api.web import CONTENT_SECURITY_POLICY
from tests.conftest import running


async def test_page_files_carry_the_security_headers(
    make_settings: Callable[..., Settings],
) -> None:
    async with running(create_app(make_settings())) as client:
        for path in ("/", "/app.js", "/styles.css"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["cache-control"] == "no-cache"


async def test_the_page_has_no_inline_script_or_style(
    make_settings: Callable[..., Settings],
) -> None:
    async with running(create_app(make_settings())) as client:
        html = (await client.get("/")).text
    assert '<script type="module" src="app.js"></script>' in html
    assert html.count("<script") == 1
    assert "<style" not in html
    assert "style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None  # no inline event handlers


async def test_api_docs_and_errors_are_untouched_by_the_page(
    make_settings: Callable[..., Settings],
) -> None:
    async with running(create_app(make_settings())) as client:
        docs = await client.get("/docs")
        live = await client.get("/health/live")
        missing = await client.get("/auth/no-such-route")
    assert docs.status_code == 200
    assert "content-security-policy" not in docs.headers  # Swagger UI needs inline script
    assert live.json() == {"status": "ok"}
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_the_page_gets_the_servers_password_rules(
    make_settings: Callable[..., Settings],
) -> None:
    async with running(create_app(make_settings())) as client:
        rules = (await client.get("/password-policy.json")).json()
    assert rules["min_length"] == MIN_LENGTH
    assert rules["max_length"] == MAX_LENGTH
    assert set(rules["common"]) == common_passwords()
