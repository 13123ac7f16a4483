"""Cross-origin access for the origins in AUTH_CORS_ORIGINS only, with credentials.

Starlette's CORSMiddleware answers for the listed origins. Every other origin never
reaches it, so its responses carry no CORS header at all (Starlette's own would still
add Allow-Credentials and Expose-Headers to them), and its preflight is routed like any
OPTIONS request: a 405 problem. The allowed origins come from the settings, which refuse
a wildcard."""

from __future__ import annotations

from collections.abc import Collection

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_api.http.problem import problem_response

ALLOWED_METHODS = ("GET", "POST", "DELETE")
# The bearer token, JSON bodies, the cookie path's CSRF header and the cookie opt-in.
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Requested-With", "X-Refresh-Cookie")
# What a page needs to read besides the safelisted headers: when to retry, and the id
# to quote when reporting a problem.
EXPOSED_HEADERS = ("Retry-After", "X-Request-ID")
PREFLIGHT_MAX_AGE_SECONDS = 600


class _ProblemPreflights(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        # A listed origin asking for a method or header the API does not allow.
        detail = bytes(response.body).decode(errors="replace")
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower().startswith("access-control-") or name.lower() == "vary"
        }
        return problem_response(
            400, "CORS_REJECTED", "Cross-origin request refused", detail, headers
        )


class ListedOriginsCors:
    def __init__(self, app: ASGIApp, origins: Collection[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.cors = _ProblemPreflights(
            app,
            allow_origins=sorted(self.origins),
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            allow_credentials=True,
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE_SECONDS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if Headers(scope=scope).get("origin") in self.origins:
            await self.cors(scope, receive, send)
            return

        async def send_varying(message: Message) -> None:
            # Answers differ by Origin, so no cache may hand this one to a listed origin.
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
            await send(message)

        await self.app(scope, receive, send_varying)
