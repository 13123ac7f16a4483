"""Request count and latency by route template, and one access log line per request.

A pure ASGI middleware: no Request objects, no body buffering. Labels come from the
matched route's template, never the raw path, so a scanner probing random URLs cannot
create new time series."""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Histogram
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "<unmatched>"  # no route matches the path: a 404
# Matched by a group of routes whose template the router does not expose (an included
# router), yet answered before reaching it: the body-size limit's 413.
NOT_ROUTED = "<not-routed>"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Polled by machines every few seconds: their access lines are DEBUG, not INFO noise.
QUIET_ROUTES = frozenset({"/metrics", "/health/live", "/health/ready"})
MAX_LOGGED_PATH = 256
# Login and registration hash a password (tens of ms); the rest should answer in ms.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "auth_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "auth_http_request_duration_seconds",
    "Time from receiving a request to the end of its response",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)

access_log = logging.getLogger("auth_api.access")


def route_label(scope: Scope, request_scope: Scope) -> str:
    """The template of the route that handled the request (`/auth/login`)."""
    template = getattr(scope.get("route"), "path_format", None)  # set by API routes
    if isinstance(template, str) and template:
        return template
    # Docs, OpenAPI and the page mount leave no route in the scope, and a request refused
    # before routing (413) never reached one: ask the app's routes, in order, against the
    # scope as it came in.
    for route in getattr(scope.get("app"), "routes", ()):
        if isinstance(route, BaseRoute) and route.matches(request_scope)[0] is not Match.NONE:
            template = getattr(route, "path_format", None)
            return template if isinstance(template, str) and template else NOT_ROUTED
    return UNMATCHED_ROUTE


def method_label(scope: Scope) -> str:
    method = str(scope.get("method", ""))
    return method if method in KNOWN_METHODS else "OTHER"


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_scope = dict(scope)  # routing adds to the scope; keep what came in
        started = time.perf_counter()
        # An exception escaping the app is answered 500 by Starlette's outermost layer.
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            elapsed = time.perf_counter() - started
            record(scope, route_label(scope, request_scope), status, elapsed)


def record(scope: Scope, route: str, status: int, seconds: float) -> None:
    method = method_label(scope)
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route, str(status)).observe(seconds)
    level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
    if access_log.isEnabledFor(level):
        client = scope.get("client")
        fields = {
            "method": method,
            "route": route,
            "path": str(scope.get("path", ""))[:MAX_LOGGED_PATH],
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "peer": client[0] if client else None,
        }
        # Built and handed to the logger's filters and handlers as `log` would, without
        # its search of the call stack for a source line, which no access line shows
        # and which cost as much as the rest of the record.
        record = access_log.makeRecord(
            access_log.name, level, __file__, 0, "request", (), None, extra=fields
        )
        access_log.handle(record)
