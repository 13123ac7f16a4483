"""The web page at `/`: the static files of web/, served with headers that stop injected
script, framing and MIME sniffing. Only the page's responses carry them, so /docs (which
needs inline script) is unaffected."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_api.passwords.policy import (
    MAX_LENGTH,
    MIN_LENGTH,
    MIN_LOCAL_PART_CHECK,
    common_passwords,
)

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # The files have no versioned names, so browsers must revalidate (ETag) on every load.
    "Cache-Control": "no-cache",
}


class PageHeaders:
    """Adds PAGE_HEADERS to every response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PAGE_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def password_policy() -> JSONResponse:
    """The password rules of policy.py, so the page checks them as the server will."""
    rules = {
        "min_length": MIN_LENGTH,
        "max_length": MAX_LENGTH,
        "min_local_part_check": MIN_LOCAL_PART_CHECK,
        "common": sorted(common_passwords()),
    }
    return JSONResponse(rules, headers={**PAGE_HEADERS, "Cache-Control": "max-age=3600"})


def install_web_page(app: FastAPI, directory: Path = WEB_DIR) -> None:
    """Serve the page at `/`. Call it after including every API router: a mount at `/`
    matches any path, so routes added after it would never be reached."""
    if not directory.is_dir():
        log.warning("web page not served: %s is not a directory", directory)
        return
    app.add_api_route("/password-policy.json", password_policy, include_in_schema=False)
    app.mount("/", PageHeaders(StaticFiles(directory=directory, html=True)), name="web")
