"""What the page must never do with user data and tokens, and the headers it is served with."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from auth_api.web import CONTENT_SECURITY_POLICY
from tests.e2e.conftest import OpenPage, PageWatch, Shot
from tests.e2e.steps import log_in, register_through_api
from tests.support.api import PASSWORD, unique_email

pytestmark = pytest.mark.integration

HOSTILE_NAME = "<img src=x onerror=alert(1)><b>bold</b>"
STORAGE_DUMP = """() => ({
    local: JSON.stringify(Object.entries(localStorage)),
    session: JSON.stringify(Object.entries(sessionStorage)),
    cookie: document.cookie,
})"""


async def test_a_display_name_with_html_is_shown_as_text(
    app_url: str, open_page: OpenPage, shot: Shot
) -> None:
    page = await open_page(app_url)
    await page.goto("/")
    await page.click("#show-register")
    await page.fill("#register-email", unique_email("web"))
    await page.fill("#register-display_name", HOSTILE_NAME)
    await page.fill("#register-password", PASSWORD)
    await page.click("#register-form button[type=submit]")

    await expect(page.locator("#profile-name")).to_have_text(HOSTILE_NAME)
    assert await page.locator("#profile-name").text_content() == HOSTILE_NAME
    assert await page.locator("img").count() == 0
    assert await page.locator("#profile-name b").count() == 0
    await shot(page, "html-display-name")


async def test_no_token_in_web_storage_or_readable_cookies(
    app_url: str, open_page: OpenPage
) -> None:
    email = unique_email("web")
    page = await open_page(app_url)
    await page.goto("/")
    await page.click("#show-register")
    await page.fill("#register-email", email)
    await page.fill("#register-password", PASSWORD)
    async with page.expect_response("**/auth/login") as answer:
        await page.click("#register-form button[type=submit]")
    token = (await (await answer.value).json())["access_token"]
    await expect(page.locator("#profile-email")).to_have_text(email)

    stored = await page.evaluate(STORAGE_DUMP)
    assert stored["local"] == "[]"
    assert stored["session"] == "[]"
    assert token not in stored["cookie"]
    assert "quizauth_refresh" not in stored["cookie"]
    assert await page.evaluate("async () => (await indexedDB.databases()).length") == 0


async def test_the_refresh_cookie_is_http_only_and_strict(
    app_url: str, open_page: OpenPage
) -> None:
    email = unique_email("web")
    page = await open_page(app_url)
    await register_through_api(app_url, email)
    await page.goto("/")
    await log_in(page, email)
    await expect(page.locator("#profile-email")).to_have_text(email)

    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert "quizauth_refresh" in cookies, "login set no refresh cookie"
    refresh = cookies["quizauth_refresh"]
    assert refresh["httpOnly"] is True
    assert refresh["sameSite"] == "Strict"
    assert refresh["path"] == "/"  # the production name's __Host- prefix requires it
    assert "quizauth_refresh" not in await page.evaluate("() => document.cookie")


async def test_the_page_is_served_with_security_headers(app_url: str, open_page: OpenPage) -> None:
    page = await open_page(app_url)
    response = await page.goto("/")
    assert response is not None
    assert response.status == 200
    headers = response.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-cache"
    script = await page.request.get("/app.js")
    assert script.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "javascript" in script.headers["content-type"]


async def test_the_policy_blocks_injected_inline_script(
    app_url: str, open_page: OpenPage, watch: PageWatch
) -> None:
    watch.csp_violation_expected = True
    page = await open_page(app_url)
    await page.goto("/")
    directive = await page.evaluate("""() => new Promise((resolve) => {
        document.addEventListener(
            "securitypolicyviolation", (e) => resolve(e.effectiveDirective), { once: true });
        const script = document.createElement("script");
        script.textContent = "window.injected = true";
        document.body.append(script);
    })""")
    assert directive.startswith("script-src")
    assert await page.evaluate("() => window.injected === undefined")
