"""Renders every error as RFC 9457 application/problem+json, in one place."""

from __future__ import annotations

import logging
import re
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from auth_api.errors import AuthServiceError, DependencyUnavailable, FieldProblem, InvalidInput

log = logging.getLogger(__name__)
PROBLEM_TYPE_BASE = "https://quizauth.dev/problems/"
MEDIA_TYPE = "application/problem+json"
# The body every error has, declared so that clients and the schema fuzzer can rely on it.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "error": {"type": "string", "description": "The OAuth error code, on OAuth endpoints"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
PROBLEM: dict[str, Any] = {
    "description": "Problem details",
    "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
}


def problem_with_header(name: str, description: str) -> dict[str, Any]:
    header = {"description": description, "schema": {"type": "string"}, "required": True}
    return {**PROBLEM, "headers": {name: header}}


# A missing, malformed, forged, expired or revoked access token.
NOT_AUTHENTICATED = problem_with_header("WWW-Authenticate", "The Bearer challenge")
# Throttled, or a backing server is down.
RETRY_LATER = problem_with_header("Retry-After", "Seconds to wait before retrying")
# What every endpoint behind a bearer token may answer besides its own errors.
BEARER_PROBLEMS: dict[int | str, dict[str, Any]] = {401: NOT_AUTHENTICATED, 503: RETRY_LATER}
# Answered before the endpoint runs: unparsable (400), oversized (413) or invalid (422) input.
INPUT_PROBLEMS: dict[int | str, dict[str, Any]] = {400: PROBLEM, 413: PROBLEM, 422: PROBLEM}
# What any request may get, whatever its route: a body over AUTH_MAX_BODY_BYTES (413, from
# http/middleware.py, GET included) or a request line and headers over
# AUTH_MAX_HEADER_BYTES (431, from the HTTP server itself: http/server_protocol.py).
TOO_LARGE: dict[int | str, dict[str, Any]] = {413: PROBLEM, 431: PROBLEM}

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
# Statuses Starlette raises itself, mapped to our stable codes.
HTTP_CODES = {
    400: "MALFORMED_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_body(status, code, title, detail, **extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def problem_body(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": PROBLEM_TYPE_BASE + code.lower().replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def error_body(error: AuthServiceError) -> dict[str, Any]:
    """The problem body of a service error, with the per-field problems of invalid input."""
    extra: dict[str, Any] = {}
    if error.oauth_error is not None:
        extra["error"] = error.oauth_error
    if isinstance(error, InvalidInput):
        extra["errors"] = [{"field": p.field, "message": p.message} for p in error.problems]
    return problem_body(error.status, error.code, error.title, error.detail, **extra)


def render(error: AuthServiceError) -> JSONResponse:
    return JSONResponse(
        error_body(error), status_code=error.status, headers=error.headers(), media_type=MEDIA_TYPE
    )


async def on_service_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(AuthServiceError, exc)
    if isinstance(exc, DependencyUnavailable):
        log.warning("dependency unavailable: %s (%s)", exc.dependency, exc.__cause__)
    return render(exc)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(RequestValidationError, exc)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(
            400, "MALFORMED_JSON", "Malformed JSON", "The request body is not valid JSON."
        )
    return render(InvalidInput([field_problem(e) for e in errors]))


def field_problem(error: Any) -> FieldProblem:
    location = [str(part) for part in error.get("loc", ()) if part != "body"]
    return FieldProblem(".".join(location) or "body", str(error.get("msg", "Invalid value")))


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(HTTPException, exc)
    status, headers = exc.status_code, dict(exc.headers or {})
    if status in {404, 405} and (methods := api_methods_at(request)):
        # The web page, mounted at `/`, answers the methods an API path lacks (404, or 405
        # allowing GET): the path belongs to the API, and so does the answer.
        status, headers = 405, {**headers, "Allow": ", ".join(sorted(methods))}
    code = HTTP_CODES.get(status, "HTTP_ERROR")
    title = code.replace("_", " ").capitalize()
    detail = exc.detail if isinstance(exc.detail, str) and status == exc.status_code else title
    return problem_response(status, code, title, detail, headers)


def api_methods_at(request: Request) -> set[str]:
    """The documented methods of the API path the request targets, if it targets one."""
    path: str = request.scope["path"]
    methods: set[str] = set()
    for pattern, documented in api_routes(request.app):
        if pattern.fullmatch(path):
            methods |= documented
    return methods


def api_routes(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each documented path as a compiled pattern with its methods, built once per app:
    every 404 of the page (a missing static file) comes through here."""
    routes: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        app.state, "api_routes", None
    )
    if routes is None:
        routes = [
            (compile_path(template)[0], frozenset(m.upper() for m in ops) & HTTP_METHODS)
            for template, ops in app.openapi()["paths"].items()
        ]
        app.state.api_routes = routes
    return routes


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    response = render(AuthServiceError("An unexpected error occurred."))
    # Starlette answers this outside every middleware, so the headers the middleware
    # adds to every other response are added here.
    response.headers.update(getattr(request.app.state, "security_headers", {}))
    return response


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AuthServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)
