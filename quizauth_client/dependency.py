"""The FastAPI dependencies a quiz service puts on its routes.

    user: Annotated[AuthenticatedUser, Depends(require_user(verifier))]
    master: Annotated[AuthenticatedUser, Depends(require_user(verifier, roles={"quizmaster"}))]
    writer: Annotated[AuthenticatedUser, Depends(require_scope(verifier, "quiz.write"))]

A missing or refused token is a 401; a token that could not be checked, because the
auth service's Redis or its key set is out of reach, a 503 with Retry-After; and a
valid token without the roles or scopes asked for a 403. With `install_problem_details(app)`
the 403 (and every error these dependencies raise) is an RFC 9457
`application/problem+json` body with a stable `code`; without it, FastAPI renders them
as its usual `{"detail": ...}`, with the same statuses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any, cast

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from quizauth_client.verifier import AuthenticatedUser, TokenRejected, TokenVerifier

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://quizauth.dev/problems/"
Dependency = Callable[[Request], Awaitable[AuthenticatedUser]]


class AuthProblem(HTTPException):
    """An HTTPException that knows its problem code, title and detail."""

    def __init__(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, detail, headers)
        self.code = code

    def problem(self) -> dict[str, Any]:
        title = self.code.replace("_", " ").capitalize()
        return {
            "type": PROBLEM_TYPE_BASE + self.code.lower().replace("_", "-"),
            "title": title,
            "status": self.status_code,
            "detail": self.detail,
            "code": self.code,
        }


def require_user(
    verifier: TokenVerifier, roles: Collection[str] = (), scopes: Collection[str] = ()
) -> Dependency:
    """The caller, verified; with `roles` or `scopes`, only a caller with all of them."""
    wanted_roles, wanted_scopes = frozenset(roles), frozenset(scopes)

    async def dependency(request: Request) -> AuthenticatedUser:
        user = await authenticated(verifier, request)
        if missing := sorted(wanted_roles - user.roles):
            raise forbidden(f"This needs the role {', '.join(missing)}.")
        if missing := sorted(wanted_scopes - user.scopes):
            raise forbidden(f"This needs the scope {' '.join(missing)}.", missing)
        return user

    return dependency


def require_scope(verifier: TokenVerifier, *scopes: str) -> Dependency:
    """`require_user(verifier, scopes=scopes)`: a caller whose token grants every one."""
    return require_user(verifier, scopes=scopes)


async def authenticated(verifier: TokenVerifier, request: Request) -> AuthenticatedUser:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthorized()
    try:
        return await verifier.verify(token)
    except TokenRejected as exc:
        if exc.unavailable:
            raise unavailable() from exc
        raise unauthorized() from exc


def unauthorized() -> HTTPException:
    return AuthProblem(
        401, "NOT_AUTHENTICATED", "a valid bearer token is required", {"WWW-Authenticate": "Bearer"}
    )


def unavailable() -> HTTPException:
    return AuthProblem(
        503, "SERVICE_UNAVAILABLE", "authentication temporarily unavailable", {"Retry-After": "1"}
    )


def forbidden(detail: str, scopes: list[str] | None = None) -> AuthProblem:
    # RFC 6750 section 3.1: a token lacking scope is `insufficient_scope`.
    headers = None
    if scopes:
        challenge = f'Bearer error="insufficient_scope", scope="{" ".join(scopes)}"'
        headers = {"WWW-Authenticate": challenge}
    return AuthProblem(403, "FORBIDDEN", detail, headers)


async def _render(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(AuthProblem, exc)  # registered for AuthProblem only
    return JSONResponse(
        exc.problem(), exc.status_code, headers=exc.headers, media_type=PROBLEM_MEDIA_TYPE
    )


def install_problem_details(app: FastAPI) -> None:
    """Render the errors of these dependencies as application/problem+json."""
    app.add_exception_handler(AuthProblem, _render)
