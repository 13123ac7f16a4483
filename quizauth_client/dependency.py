"""The FastAPI dependency a quiz service puts on its routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request

from quizauth_client.verifier import AuthenticatedUser, TokenRejected, TokenVerifier


def require_user(verifier: TokenVerifier) -> Callable[[Request], Awaitable[AuthenticatedUser]]:
    """`user: Annotated[AuthenticatedUser, Depends(require_user(verifier))]`.
    401 for a missing or refused token; 503 (with Retry-After) when the token could not
    be checked because the auth service's Redis or its key set is out of reach."""

    async def dependency(request: Request) -> AuthenticatedUser:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise unauthorized()
        try:
            return await verifier.verify(token)
        except TokenRejected as exc:
            if exc.unavailable:
                raise unavailable() from exc
            raise unauthorized() from exc

    return dependency


def unauthorized() -> HTTPException:
    return HTTPException(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})


def unavailable() -> HTTPException:
    return HTTPException(503, "authentication temporarily unavailable", {"Retry-After": "1"})
