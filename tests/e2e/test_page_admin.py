"""The admin view in Chromium: an admin searches, pages, edits roles, and disables and
enables accounts after a confirmation; a non-admin never sees it, and the API refuses
their direct calls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from auth_api.settings import Settings
from tests.admin.cli import cli_environment, users_command
from tests.e2e.conftest import OpenPage, Serve, Shot
from tests.e2e.steps import log_in, register_through_api
from tests.support.api import bearer, unique_email

pytestmark = pytest.mark.integration
ROLES = "quizmaster:quiz.write,quiz.grade;reviewer:quiz.read"
ADMIN_PASSWORD = "the page admin's passphrase"
PAGE_SIZE = 20


async def make_admin(settings: Settings) -> str:
    email = unique_email("page-admin")
    made = await users_command(
        cli_environment(settings),
        "create-admin",
        "--email",
        email,
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert made.status == 0, made.err
    return email


@pytest.fixture
async def admin_site(serve: Serve, real_settings: Callable[..., Settings]) -> tuple[str, str]:
    """A server with declared roles, and the email of its admin."""
    url = await serve(roles=ROLES)
    admin = await make_admin(real_settings(env="development", roles=ROLES))
    return url, admin


def row(page: Page, email: str) -> Locator:
    return page.locator(f"#admin-users tr[data-email='{email}']")


async def admin_page(open_page: OpenPage, url: str, admin_email: str) -> Page:
    page = await open_page(url, viewport={"width": 1024, "height": 900})
    await page.goto("/")
    await log_in(page, admin_email, ADMIN_PASSWORD)
    await expect(page.locator("#admin-card")).to_be_visible()
    return page


async def search(page: Page, prefix: str) -> None:
    await page.fill("#admin-email-prefix", prefix)
    await page.click("#admin-search-button")


async def test_an_admin_searches_pages_and_edits_roles(
    admin_site: tuple[str, str], open_page: OpenPage, shot: Shot
) -> None:
    url, admin_email = admin_site
    tag = unique_email("pupil").partition("@")[0]
    pupils = [f"{tag}-{n:02d}@example.com" for n in range(PAGE_SIZE + 2)]
    await asyncio.gather(*(register_through_api(url, email) for email in pupils))
    page = await admin_page(open_page, url, admin_email)
    await search(page, tag.upper())
    rows = page.locator("#admin-users tbody tr")
    await expect(rows).to_have_count(PAGE_SIZE)
    await expect(rows.first).to_have_attribute("data-email", pupils[0])
    await expect(page.locator("#admin-prev")).to_be_disabled()
    await shot(page, "admin-first-page")
    await page.click("#admin-next")
    await expect(rows).to_have_count(2)
    await expect(page.locator("#admin-page")).to_have_text("Page 2")
    await expect(page.locator("#admin-next")).to_be_disabled()
    await page.click("#admin-prev")
    await expect(rows).to_have_count(PAGE_SIZE)

    first = row(page, pupils[0])
    await first.get_by_label("quizmaster").check()
    await first.locator(".admin-save").click()
    await expect(page.locator("#admin-status")).to_have_text(f"Roles of {pupils[0]} saved.")
    await expect(row(page, pupils[0]).get_by_label("quizmaster")).to_be_checked()
    await expect(row(page, pupils[0]).locator(".admin-save")).to_be_disabled()
    await page.select_option("#admin-state", "true")
    await page.click("#admin-search-button")
    await expect(page.locator("#admin-empty")).to_be_visible()


async def test_an_admin_disables_and_enables_after_a_confirmation(
    admin_site: tuple[str, str], open_page: OpenPage, shot: Shot
) -> None:
    url, admin_email = admin_site
    pupil = unique_email("pupil")
    await register_through_api(url, pupil)
    player = await open_page(url)  # the pupil, signed in elsewhere
    await player.goto("/")
    await log_in(player, pupil)
    await expect(player.locator("#profile-email")).to_have_text(pupil)

    page = await admin_page(open_page, url, admin_email)
    await search(page, pupil)
    await row(page, pupil).locator(".admin-disable").click()
    dialog = page.locator("#admin-confirm")
    await expect(dialog).to_be_visible()
    await page.click("#admin-confirm-button")  # no reason yet: refused in place
    await expect(page.locator("#admin-reason-error")).to_be_visible()
    await page.fill("#admin-reason", "Shared the answers")
    await expect(page.locator("#admin-reason-error")).to_be_hidden()
    await shot(page, "admin-confirm-disable")
    await page.click("#admin-confirm-button")
    await expect(dialog).to_be_hidden()
    await expect(row(page, pupil).locator(".status")).to_have_text("Disabled")

    await player.reload()  # the pupil's session ended with the disable
    await expect(player.locator("#login-view")).to_be_visible()
    await log_in(player, pupil)
    await expect(player.locator("#login-form-error")).to_contain_text("disabled")

    await row(page, pupil).locator(".admin-enable").click()
    await page.click("#admin-cancel")
    await expect(dialog).to_be_hidden()
    await expect(row(page, pupil).locator(".status")).to_have_text("Disabled")
    await row(page, pupil).locator(".admin-enable").click()
    await page.click("#admin-confirm-button")
    await expect(row(page, pupil).locator(".status")).to_have_text("Active")
    await shot(page, "admin-enabled-again")
    await player.click("#login-form button[type='submit']")
    await expect(player.locator("#profile-email")).to_have_text(pupil)


async def test_a_non_admin_sees_no_admin_view_and_is_refused_by_the_api(
    admin_site: tuple[str, str], open_page: OpenPage, shot: Shot
) -> None:
    url, _ = admin_site
    email = unique_email("plain")
    user_id = await register_through_api(url, email)
    page = await open_page(url)
    admin_requests: list[str] = []
    page.on("request", lambda r: admin_requests.append(r.url) if "/admin/" in r.url else None)
    await page.goto("/")
    async with page.expect_response("**/auth/login") as login:
        await log_in(page, email)
    token = (await (await login.value).json())["access_token"]
    await expect(page.locator("#profile-email")).to_have_text(email)
    await expect(page.locator("#sessions-card")).to_be_visible()
    await expect(page.locator("#admin-card")).to_be_hidden()
    await shot(page, "no-admin-view")
    assert admin_requests == []

    from_page = await page.evaluate(
        """async (token) => {
            const response = await fetch("/admin/users", {
                headers: { Authorization: `Bearer ${token}` },
            });
            return [response.status, (await response.json()).code];
        }""",
        token,
    )
    assert from_page == [403, "FORBIDDEN"]
    async with httpx.AsyncClient(base_url=url) as api:
        for method, path, body in [
            ("GET", f"/admin/users/{user_id}", None),
            ("PUT", f"/admin/users/{user_id}/roles", {"roles": ["admin"]}),
            ("POST", f"/admin/users/{user_id}/enable", None),
        ]:
            response = await api.request(method, path, json=body, headers=bearer(token))
            assert (response.status_code, response.json()["code"]) == (403, "FORBIDDEN")
        me = await api.get("/auth/me", headers=bearer(token))
        assert me.json()["roles"] == ["user"]
