"""quizauth_client's roles and scopes: against a real auth service that signs with
ES256, a quiz app lets in only the roles and scopes its routes ask for, sees a role
change at the next token, and refuses a disabled user's token at once."""

# No `from __future__ import annotations`: FastAPI must see the local dependency objects.

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from redis.asyncio import Redis

from auth_api.settings import Settings
from auth_api.tokens.key_directory import KeyDirectory
from quizauth_client import (
    AuthenticatedUser,
    JwksCache,
    RedisDenylist,
    TokenVerifier,
    install_problem_details,
    require_scope,
    require_user,
)
from tests.admin.cli import cli_environment, users_command
from tests.admin.conftest import admin_settings
from tests.client.test_quiz_client import auth_service
from tests.support.api import assert_problem, bearer, login, registered_token
from tests.support.sessions import refresh

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]
ADMIN_PASSWORD = "the quiz admin's passphrase"


def roles_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_problem_details(app)
    master = require_user(verifier, roles={"quizmaster"})
    grader = require_scope(verifier, "quiz.grade")

    @app.post("/quiz")
    async def create_quiz(
        user: Annotated[AuthenticatedUser, Depends(master)],
    ) -> dict[str, list[str]]:
        return {"roles": sorted(user.roles)}

    @app.post("/quiz/grade")
    async def grade(user: Annotated[AuthenticatedUser, Depends(grader)]) -> dict[str, list[str]]:
        return {"scopes": sorted(user.scopes)}

    return app


@asynccontextmanager
async def quiz(base: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    assert settings.redis_url is not None
    redis = Redis.from_url(settings.redis_url)
    async with httpx.AsyncClient() as http:
        jwks = JwksCache(f"{base}/.well-known/jwks.json", http, refetch_cooldown=0.0)
        verifier = TokenVerifier(
            jwks,
            RedisDenylist(redis, settings.redis_prefix),
            settings.jwt_issuer,
            settings.jwt_audience,
        )
        transport = httpx.ASGITransport(app=roles_app(verifier))
        async with httpx.AsyncClient(transport=transport, base_url="http://quiz") as client:
            yield client
    await redis.aclose()


async def test_roles_and_scopes_gate_the_quiz_routes_and_follow_changes(
    real_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = admin_settings(real_settings)
    KeyDirectory(tmp_path / "keys").generate("ES256", activate=True)
    env = {**cli_environment(settings), "AUTH_JWT_ALGORITHM": "ES256"}
    env["AUTH_JWT_KEYS_DIR"] = str(tmp_path / "keys")
    made = await users_command(
        env,
        "create-admin",
        "--email",
        "quiz-admin@example.com",
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert made.status == 0, made.err
    async with (
        auth_service(
            settings, tmp_path / "keys", tmp_path / "auth.log", roles=env["AUTH_ROLES"]
        ) as base,
        httpx.AsyncClient(base_url=base) as auth,
        quiz(base, settings) as quiz_api,
    ):
        admin = bearer(
            (await login(auth, "quiz-admin@example.com", ADMIN_PASSWORD)).json()["access_token"]
        )
        email, _ = await registered_token(auth)
        tokens = (await login(auth, email)).json()
        player = bearer(tokens["access_token"])
        refused = await quiz_api.post("/quiz", headers=player)
        assert_problem(refused, 403, "FORBIDDEN")
        no_scope = await quiz_api.post("/quiz/grade", headers=player)
        assert_problem(no_scope, 403, "FORBIDDEN")
        assert 'error="insufficient_scope"' in no_scope.headers["www-authenticate"]

        user_id = (await auth.get("/auth/me", headers=player)).json()["id"]
        changed = await auth.put(
            f"/admin/users/{user_id}/roles", json={"roles": ["quizmaster"]}, headers=admin
        )
        assert changed.status_code == 200, changed.text
        assert_problem(await quiz_api.post("/quiz", headers=player), 401, "NOT_AUTHENTICATED")
        renewed = (await refresh(auth, tokens["refresh_token"])).json()
        master = bearer(renewed["access_token"])
        created = await quiz_api.post("/quiz", headers=master)
        assert created.json() == {"roles": ["quizmaster", "user"]}
        graded = await quiz_api.post("/quiz/grade", headers=master)
        assert graded.json() == {"scopes": ["quiz.grade", "quiz.write"]}

        disabled = await auth.post(
            f"/admin/users/{user_id}/disable", json={"reason": "left"}, headers=admin
        )
        assert disabled.status_code == 200
        assert_problem(await quiz_api.post("/quiz", headers=master), 401, "NOT_AUTHENTICATED")
