"""Browser fixtures: Debian's Chromium driven by Playwright (no browser download), and
the API served over HTTP on the real servers, one server per test with its own data."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Dialog, Page, async_playwright

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import require_services
from tests.e2e.live_server import LiveServer
from tests.support.servers import REPO

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home, which stalls it
# on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / ".cache" / "screenshots"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1024, "height": 800}

Serve = Callable[..., Awaitable[str]]
OpenPage = Callable[..., Awaitable[Page]]
Shot = Callable[[Page, str], Awaitable[None]]


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install Debian's chromium package"
        if require_services():
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


@pytest.fixture
async def serve(real_settings: Callable[..., Settings]) -> AsyncIterator[Serve]:
    """Starts the API on a free port; development mode, so the cookie works over http."""
    started: list[LiveServer] = []

    async def start(**overrides: Any) -> str:
        server = LiveServer(create_app(real_settings(env="development", **overrides)))
        await server.start()
        started.append(server)
        return server.url

    yield start
    for server in started:
        server.stop()


@pytest.fixture
async def app_url(serve: Serve) -> str:
    return await serve()


class PageWatch:
    """Collects what a page reports that a test should never see."""

    def __init__(self) -> None:
        self.page_errors: list[str] = []
        self.csp_violations: list[str] = []
        self.dialogs: list[str] = []
        self.csp_violation_expected = False

    def on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    async def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        await dialog.dismiss()


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
async def open_page(browser: Browser, serve: Serve, watch: PageWatch) -> AsyncIterator[OpenPage]:
    """A page in a fresh browser context (its own cookies) at the given server."""
    contexts = []

    async def open_at(base_url: str, viewport: dict[str, int] = PHONE) -> Page:
        context = await browser.new_context(base_url=base_url, viewport=viewport)
        contexts.append(context)
        context.set_default_timeout(10_000)
        page = await context.new_page()
        page.on("console", watch.on_console)
        page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
        page.on("dialog", watch.on_dialog)
        return page

    yield open_at
    for context in contexts:
        await context.close()
    assert watch.page_errors == [], "uncaught errors in the page"
    assert watch.dialogs == [], "the page opened a dialog"
    if not watch.csp_violation_expected:
        assert watch.csp_violations == [], "the page broke its own Content-Security-Policy"


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shot:
    """Saves a screenshot of the current step under .cache/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"\W+", "-", request.node.name).strip("-")
    steps = iter(range(1, 100))

    async def take(page: Page, step: str) -> None:
        path = SCREENSHOTS / f"{test_name}-{next(steps):02d}-{step}.png"
        await page.screenshot(path=path, full_page=True, animations="disabled")

    return take
