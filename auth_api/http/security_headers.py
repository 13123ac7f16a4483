"""Headers every response carries, whatever answers it (a route, the page, a problem)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_api.settings import Environment, Settings

# One year: browsers then refuse plain http to this host for that long after one visit
# over https. Without includeSubDomains: sibling hosts are not this service's to bind.
HSTS = "max-age=31536000"


def security_headers(settings: Settings) -> dict[str, str]:
    # nosniff: a browser must not run a JSON body that echoes user input as a script or
    # render it as HTML because its content looks like one.
    headers = {"X-Content-Type-Options": "nosniff"}
    if settings.env is Environment.PRODUCTION:
        # Production is served over https (behind its proxy); development is plain http,
        # where the header would be ignored anyway.
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeaders:
    """Adds the headers to every response that does not set them itself."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
