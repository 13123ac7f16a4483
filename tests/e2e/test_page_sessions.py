"""The sessions list: every signed-in browser, and logging out the others."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import OpenPage, Serve, Shot
from tests.e2e.steps import log_in, register_through_api, wait_for_empty_outbox
from tests.support.api import unique_email
from tests.support.servers import Servers

pytestmark = pytest.mark.integration


async def test_log_out_other_sessions(
    app_url: str,
    open_page: OpenPage,
    shot: Shot,
    servers: Servers,
    isolation: dict[str, str],
) -> None:
    email = unique_email("web")
    user_id = await register_through_api(app_url, email, display_name="Ada Lovelace")
    await wait_for_empty_outbox(servers, isolation["mongo_db"], user_id)
    other = await open_page(app_url)  # another browser: its own cookie jar
    await other.goto("/")
    await log_in(other, email)
    await expect(other.locator("#profile-email")).to_have_text(email)

    page = await open_page(app_url)
    await page.goto("/")
    await log_in(page, email)
    sessions = page.locator("#sessions-list li")
    await expect(sessions).to_have_count(2)
    await expect(page.locator("#sessions-list .badge")).to_have_count(1)
    await shot(page, "profile-two-sessions")

    await page.click("#logout-others")
    await expect(sessions).to_have_count(1)
    await expect(page.locator("#notice")).to_have_text("Logged out 1 other session.")
    await expect(page.locator("#logout-others")).to_be_hidden()
    await shot(page, "other-sessions-ended")

    await other.reload()  # its cookie no longer restores a session
    await expect(other.locator("#login-view")).to_be_visible()
    await expect(page.locator("#profile-email")).to_have_text(email)


async def test_the_token_is_refreshed_before_it_expires(
    serve: Serve, open_page: OpenPage, servers: Servers, isolation: dict[str, str]
) -> None:
    url = await serve(access_token_ttl_seconds=3)
    email = unique_email("web")
    user_id = await register_through_api(url, email)
    await wait_for_empty_outbox(servers, isolation["mongo_db"], user_id)
    page = await open_page(url)
    await page.goto("/")
    async with page.expect_response("**/auth/login") as login:
        await log_in(page, email)
    first_token = (await (await login.value).json())["access_token"]
    await expect(page.locator("#profile-email")).to_have_text(email)

    async with page.expect_response("**/auth/refresh", timeout=10_000) as renewal:
        pass  # the page renews on its own, shortly before the 3 s token expires
    assert (await renewal.value).status == 200
    async with page.expect_request("**/auth/logout") as logout:
        await page.click("#logout")
    assert (await logout.value).headers["authorization"] != f"Bearer {first_token}"
    await expect(page.locator("#notice")).to_have_text("You have logged out.")
