"""require_user and require_scope decide on a verified user's roles and scopes: 403 for
what is missing, as problem+json once installed, FastAPI's plain body otherwise. No
server: the verifier is a stand-in that returns a fixed user."""

# No `from __future__ import annotations`: FastAPI must see the local dependency objects.

from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from quizauth_client import (
    AuthenticatedUser,
    TokenRejected,
    install_problem_details,
    require_scope,
    require_user,
)
from tests.support.api import assert_problem

PLAYER = AuthenticatedUser("u-1", "s-1", {}, frozenset({"user"}), frozenset({"quiz.play"}))
MASTER = AuthenticatedUser(
    "u-2", "s-2", {}, frozenset({"user", "quizmaster"}), frozenset({"quiz.play", "quiz.write"})
)


class StandInVerifier:
    def __init__(self, user: AuthenticatedUser | None) -> None:
        self.user = user

    async def verify(self, token: str) -> AuthenticatedUser:
        if self.user is None:
            raise TokenRejected("revoked")
        return self.user


def app_for(verifier: Any, problems: bool = True) -> FastAPI:
    app = FastAPI()
    if problems:
        install_problem_details(app)
    master = require_user(verifier, roles={"quizmaster"})
    writer = require_scope(verifier, "quiz.write")

    @app.get("/master")
    async def for_masters(user: Annotated[AuthenticatedUser, Depends(master)]) -> str:
        return user.user_id

    @app.get("/write")
    async def for_writers(user: Annotated[AuthenticatedUser, Depends(writer)]) -> str:
        return user.user_id

    return app


async def get(app: FastAPI, path: str, bearer_value: str | None = "t") -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer_value}"} if bearer_value else {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://quiz") as client:
        return await client.get(path, headers=headers)


@pytest.mark.parametrize("path", ["/master", "/write"])
async def test_what_the_token_lacks_is_a_403_problem(path: str) -> None:
    response = await get(app_for(StandInVerifier(PLAYER)), path)
    body = assert_problem(response, 403, "FORBIDDEN")
    assert body["type"].endswith("/forbidden")
    assert (await get(app_for(StandInVerifier(MASTER)), path)).json() == "u-2"


async def test_a_missing_scope_is_named_in_the_challenge() -> None:
    response = await get(app_for(StandInVerifier(PLAYER)), "/write")
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="quiz.write"'
    )


async def test_no_token_or_a_rejected_one_is_a_401_problem() -> None:
    assert_problem(
        await get(app_for(StandInVerifier(MASTER)), "/master", None), 401, "NOT_AUTHENTICATED"
    )
    assert_problem(await get(app_for(StandInVerifier(None)), "/master"), 401, "NOT_AUTHENTICATED")


async def test_without_the_handler_the_statuses_hold_in_fastapis_own_body() -> None:
    response = await get(app_for(StandInVerifier(PLAYER), problems=False), "/master")
    assert response.status_code == 403
    assert response.json() == {"detail": "This needs the role quizmaster."}
