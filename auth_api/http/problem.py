"""Renders every error as RFC 9457 application/problem+json, in one place."""

from __future__ import annotations

import logging
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from auth_api.errors import AuthServiceError, DependencyUnavailable, FieldProblem, InvalidInput

log = logging.getLogger(__name__)
PROBLEM_TYPE_BASE = "https://quizauth.dev/problems/"
MEDIA_TYPE = "application/problem+json"
PROBLEM: dict[str, Any] = {"description": "Problem details", "content": {MEDIA_TYPE: {}}}

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
    body = {
        "type": PROBLEM_TYPE_BASE + code.lower().replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def render(error: AuthServiceError) -> JSONResponse:
    extra: dict[str, Any] = {}
    if isinstance(error, InvalidInput):
        extra["errors"] = [{"field": p.field, "message": p.message} for p in error.problems]
    return problem_response(
        error.status, error.code, error.title, error.detail, error.headers(), **extra
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
    code = HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    title = code.replace("_", " ").capitalize()
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem_response(exc.status_code, code, title, detail, dict(exc.headers or {}))


async def on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem_response(
        500, "INTERNAL_ERROR", "Internal error", "An unexpected error occurred."
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AuthServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)
