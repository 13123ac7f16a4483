"""The page as a person uses it: register, log in, see the profile, reload, log out."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import DESKTOP, OpenPage, Serve, Shot
from tests.e2e.steps import log_in, register_through_api, wait_for_empty_outbox
from tests.support.api import PASSWORD, unique_email
from tests.support.servers import Servers

pytestmark = pytest.mark.integration

GENERIC_LOGIN_ERROR = "The email or password is incorrect."


async def test_register_log_in_and_log_out(app_url: str, open_page: OpenPage, shot: Shot) -> None:
    email = unique_email("web")
    page = await open_page(app_url)
    await page.goto("/")
    await expect(page.locator("#login-view")).to_be_visible()
    await shot(page, "login-form")

    await page.click("#show-register")
    await page.fill("#register-email", email)
    await page.fill("#register-display_name", "Ada Lovelace")
    await page.fill("#register-password", PASSWORD)
    await expect(page.locator("#register-password-strength")).to_have_text("Strength: Long.")
    await shot(page, "register-form")
    await page.click("#register-form button[type=submit]")
    # A new account is signed straight in.
    await expect(page.locator("#profile-email")).to_have_text(email)
    await expect(page.locator("#profile-name")).to_have_text("Ada Lovelace")

    await page.click("#logout")
    await expect(page.locator("#notice")).to_have_text("You have logged out.")
    await log_in(page, email)
    await expect(page.locator("#profile-email")).to_have_text(email)
    await shot(page, "profile")

    await page.click("#logout")
    await expect(page.locator("#login-view")).to_be_visible()
    await expect(page.locator("#profile-view")).to_be_hidden()
    await expect(page.locator("#profile-email")).to_have_text("")
    await shot(page, "logged-out")


async def test_reload_keeps_the_session_until_logout(
    app_url: str,
    open_page: OpenPage,
    shot: Shot,
    servers: Servers,
    isolation: dict[str, str],
) -> None:
    email = unique_email("web")
    user_id = await register_through_api(app_url, email)
    await wait_for_empty_outbox(servers, isolation["mongo_db"], user_id)
    page = await open_page(app_url, DESKTOP)
    await page.goto("/")
    await log_in(page, email)
    await expect(page.locator("#profile-email")).to_have_text(email)

    await page.reload()
    await expect(page.locator("#profile-email")).to_have_text(email)
    await expect(page.locator("#sessions-card")).to_be_visible()
    await expect(page.locator("#sessions-list .badge")).to_have_text("This device")
    await shot(page, "profile-after-reload")

    await page.click("#logout")
    await expect(page.locator("#login-view")).to_be_visible()
    await page.reload()
    # The logout ended the cookie's session too: a reload no longer restores it.
    await expect(page.locator("#login-view")).to_be_visible()
    await expect(page.locator("#profile-email")).to_have_text("")


async def test_wrong_password_shows_the_generic_error(
    app_url: str, open_page: OpenPage, shot: Shot
) -> None:
    email = unique_email("web")
    await register_through_api(app_url, email)
    page = await open_page(app_url)
    await page.goto("/")
    for attempt in (email, unique_email("nobody")):  # unknown email: the same words
        async with page.expect_response("**/auth/login") as answer:
            await log_in(page, attempt, PASSWORD + "!")
        assert (await answer.value).status == 401
        await expect(page.locator("#login-form-error")).to_have_text(GENERIC_LOGIN_ERROR)
    await expect(page.locator("#profile-view")).to_be_hidden()
    await shot(page, "wrong-password")


async def test_a_weak_password_shows_its_rule(
    app_url: str, open_page: OpenPage, shot: Shot
) -> None:
    page = await open_page(app_url)
    registrations: list[str] = []
    page.on("request", lambda r: registrations.append(r.url) if "/auth/register" in r.url else 0)
    await page.goto("/")
    await page.click("#show-register")
    error = page.locator("#register-password-error")

    await page.fill("#register-email", "quiz.master@example.com")
    await page.fill("#register-password", "Password1")
    await page.click("#register-form button[type=submit]")
    await expect(error).to_have_text("This password is too common; choose a less guessable one.")
    assert await page.evaluate("() => document.activeElement.id") == "register-password"
    await shot(page, "common-password")

    await page.fill("#register-password", "my-quiz.master-pass")
    await expect(error).to_have_text("The password must not contain your email address.")
    await page.fill("#register-password", "short")
    await page.press("#register-password", "Tab")
    await expect(error).to_have_text("Use at least 8 characters.")
    assert registrations == [], "the page sent a password it knew the server would refuse"


async def test_the_servers_password_rule_is_shown_at_its_field(
    app_url: str, open_page: OpenPage, shot: Shot
) -> None:
    page = await open_page(app_url)
    # Without the page's copy of the rules, only the server can refuse the password.
    await page.route("**/password-policy.json", lambda route: route.abort())
    await page.goto("/")
    await page.click("#show-register")
    await page.fill("#register-email", unique_email("web"))
    await page.fill("#register-password", "password123")
    async with page.expect_response("**/auth/register") as answer:
        await page.click("#register-form button[type=submit]")
    assert (await answer.value).status == 422
    await expect(page.locator("#register-password-error")).to_have_text(
        "This password is too common; choose a less guessable one."
    )
    await expect(page.locator("#register-password")).to_have_attribute("aria-invalid", "true")
    await shot(page, "server-weak-password")


async def test_too_many_attempts_show_the_wait(
    serve: Serve, open_page: OpenPage, shot: Shot
) -> None:
    url = await serve(login_account_ip_limit=1, login_window_seconds=120)
    page = await open_page(url)
    await page.goto("/")
    email = unique_email("web")
    await log_in(page, email)
    await expect(page.locator("#login-form-error")).to_have_text(GENERIC_LOGIN_ERROR)
    await log_in(page, email)
    await expect(page.locator("#login-form-error")).to_have_text(
        "Too many attempts. Try again in 2 minutes."
    )
    await expect(page.locator("#login-form button[type=submit]")).to_be_disabled()
    await shot(page, "rate-limited")


async def test_a_guessable_password_shows_why_and_how_to_fix_it(
    app_url: str, open_page: OpenPage, shot: Shot
) -> None:
    """The page cannot judge guessability; the server's reasons all reach the field."""
    page = await open_page(app_url)
    await page.goto("/")
    await page.click("#show-register")
    await page.fill("#register-email", unique_email("web"))
    await page.fill("#register-password", "qwertyuiop123")
    async with page.expect_response("**/auth/register") as answer:
        await page.click("#register-form button[type=submit]")
    problem = await (await answer.value).json()
    assert problem["code"] == "WEAK_PASSWORD"
    messages = [error["message"] for error in problem["errors"]]
    assert len(messages) >= 2, messages
    await expect(page.locator("#register-password-error")).to_have_text(" ".join(messages))
    await shot(page, "guessable-password")
