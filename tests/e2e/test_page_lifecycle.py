"""The account lifecycle in the browser, following the real mails: each link is read
from the mail catcher's API, as a person reads their inbox, and opened in the page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from playwright.async_api import Page, expect

from auth_api.app import create_app
from auth_api.settings import Settings
from infra.stack_lib.api import free_port
from tests.e2e.conftest import OpenPage, Shot
from tests.e2e.live_server import LiveServer
from tests.e2e.steps import log_in, register_through_api, wait_for_empty_outbox
from tests.support.api import PASSWORD, unique_email
from tests.support.mailbox import MailpitMailbox, wait_for_mail
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def mail_url(real_settings: Callable[..., Settings], servers: Servers) -> AsyncIterator[str]:
    """The API on a port chosen first, so that the links in its mails point at it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = real_settings(env="development", smtp_url=servers.smtp_url, public_url=url)
    server = LiveServer(create_app(settings), port=port)
    await server.start()
    yield url
    server.stop()


@pytest.fixture
def mailbox(servers: Servers) -> MailpitMailbox:
    return MailpitMailbox(servers.mail_api)


async def signed_up(
    url: str, page: Page, servers: Servers, isolation: dict[str, str], email: str
) -> None:
    user_id = await register_through_api(url, email, display_name="Ada Lovelace")
    await wait_for_empty_outbox(servers, isolation["mongo_db"], user_id)
    await page.goto("/")
    await log_in(page, email)
    await expect(page.locator("#profile-email")).to_have_text(email)


async def test_verify_the_address_from_the_mail(
    mail_url: str,
    open_page: OpenPage,
    shot: Shot,
    servers: Servers,
    isolation: dict[str, str],
    mailbox: MailpitMailbox,
) -> None:
    email = unique_email("web")
    page = await open_page(mail_url)
    await signed_up(mail_url, page, servers, isolation, email)
    badge = page.locator("#verified-badge")
    await expect(badge).to_have_text("Not verified")
    await shot(page, "unverified")
    await page.click("#resend-verification")
    await expect(page.locator("#notice")).to_contain_text("A new link is on its way")
    mail = await wait_for_mail(mailbox, email, "verify_email", count=2)
    assert mail.link.startswith(f"{mail_url}/#/verify-email?token=")
    await page.goto(mail.link)
    await expect(page.locator("#notice")).to_have_text("Your email address is verified.")
    await expect(badge).to_have_text("Verified")
    assert "token=" not in page.url  # the link's token leaves the address bar
    await shot(page, "verified")


async def test_forgot_password_then_reset_from_the_mail(
    mail_url: str,
    open_page: OpenPage,
    shot: Shot,
    servers: Servers,
    isolation: dict[str, str],
    mailbox: MailpitMailbox,
) -> None:
    email = unique_email("web")
    user_id = await register_through_api(mail_url, email)
    await wait_for_empty_outbox(servers, isolation["mongo_db"], user_id)
    page = await open_page(mail_url)
    await page.goto("/")
    await page.click("#show-forgot")
    await page.fill("#forgot-email", email)
    await page.click("#forgot-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("If an account uses this address")
    await shot(page, "forgot-sent")

    mail = await wait_for_mail(mailbox, email, "password_reset")
    await page.goto(mail.link)
    await expect(page.locator("#reset-view")).to_be_visible()
    await page.fill("#reset-new_password", NEW_PASSWORD)
    await shot(page, "reset-form")
    await page.click("#reset-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("Your password was reset")
    await page.wait_for_timeout(1100)  # tokens of the reset's own second are refused
    await log_in(page, email, NEW_PASSWORD)
    await expect(page.locator("#profile-email")).to_have_text(email)

    used = await open_page(mail_url)  # the same link again: it worked once
    await used.goto(mail.link)
    await used.fill("#reset-new_password", "yet another passphrase")
    await used.click("#reset-form button[type=submit]")
    await expect(used.locator("#reset-form-error")).to_contain_text("already used")


async def test_change_password_and_email_download_data_and_delete(
    mail_url: str,
    open_page: OpenPage,
    shot: Shot,
    servers: Servers,
    isolation: dict[str, str],
    mailbox: MailpitMailbox,
) -> None:
    email = unique_email("web")
    page = await open_page(mail_url)
    await signed_up(mail_url, page, servers, isolation, email)

    await page.fill("#password-current_password", "not my password")
    await page.fill("#password-new_password", NEW_PASSWORD)
    await page.click("#password-form button[type=submit]")
    await expect(page.locator("#password-current_password-error")).to_be_visible()
    await page.fill("#password-current_password", PASSWORD)
    await page.click("#password-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("Your password was changed")
    await wait_for_mail(mailbox, email, "password_changed_notice")

    new_email = unique_email("moved")
    await page.fill("#email-new_email", new_email)
    await page.fill("#email-password", NEW_PASSWORD)
    await page.click("#email-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text(f"We sent a link to {new_email}")
    await wait_for_mail(mailbox, email, "email_change_notice")
    confirm = await wait_for_mail(mailbox, new_email, "email_change_confirm")
    await page.goto(confirm.link)
    await expect(page.locator("#notice")).to_contain_text("Your new email address is confirmed")
    await expect(page.locator("#profile-email")).to_have_text(new_email)
    await expect(page.locator("#verified-badge")).to_have_text("Verified")
    await shot(page, "email-changed")

    async with page.expect_download() as download_info:
        await page.click("#export-data")
    download = await download_info.value
    assert download.suggested_filename.startswith("quizauth-export-")
    exported = (await download.path()).read_text()
    assert new_email in exported
    assert "password_hash" not in exported

    await page.fill("#delete-confirmation", "delete")
    await page.fill("#delete-password", NEW_PASSWORD)
    await page.click("#delete-form button[type=submit]")
    await expect(page.locator("#delete-confirmation-error")).to_contain_text("Type DELETE")
    await page.fill("#delete-confirmation", "DELETE")
    await shot(page, "delete-confirmed")
    await page.click("#delete-form button[type=submit]")
    await expect(page.locator("#notice")).to_have_text("Your account was deleted.")
    await expect(page.locator("#login-view")).to_be_visible()
    await log_in(page, new_email, NEW_PASSWORD)
    await expect(page.locator("#login-form-error")).to_be_visible()
