"""A tiny quiz app protected by quizauth_client, against a real auth service process
that signs with ES256: the quiz app holds no secret, only the JWKS URL. It checks
revocations in Redis on every request (RedisDenylist), or through its near cache
(NearCachedDenylist)."""

# No `from __future__ import annotations`: FastAPI must see the local dependency object.

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from auth_api.settings import Settings
from auth_api.tokens.key_directory import KeyDirectory
from infra.stack_lib.api import free_port
from tests.events.processes import process, service_environment, until_live
from tests.support.api import bearer, registered_token
from tests.support.polling import eventually
from tests.support.quiz_app import quiz_client as shared_quiz_client
from tests.support.sessions import logged_in

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]


@asynccontextmanager
async def auth_service(
    settings: Settings, keys: Path, log: Path, **extra: str
) -> AsyncIterator[str]:
    """`extra`: more settings, by field name (`roles="..."` for AUTH_ROLES)."""
    port = free_port()
    env = service_environment(settings, settings.kafka_bootstrap or "")
    env.update(AUTH_JWT_ALGORITHM="ES256", AUTH_JWT_KEYS_DIR=str(keys))
    env.update({f"AUTH_{name.upper()}": value for name, value in extra.items()})
    args = ["-m", "auth_api", "serve", "--port", str(port)]
    with process(args, env, log):
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as http:
            await until_live(http, log)
        yield base


def quiz_client(
    base: str, settings: Settings, near_cache: bool = False
) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    assert settings.redis_url is not None
    return shared_quiz_client(
        f"{base}/.well-known/jwks.json",
        settings.redis_url,
        settings.redis_prefix,
        settings.jwt_issuer,
        settings.jwt_audience,
        near_cache,
    )


async def test_quiz_app_accepts_live_tokens_and_rejects_revoked_ones_at_once(
    real_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = real_settings()
    KeyDirectory(tmp_path / "keys").generate("ES256", activate=True)
    async with (
        auth_service(settings, tmp_path / "keys", tmp_path / "auth.log") as base,
        httpx.AsyncClient(base_url=base) as auth,
        quiz_client(base, settings) as quiz,
    ):
        _, token = await registered_token(auth)
        ok = await quiz.get("/quiz/next", headers=bearer(token))
        assert ok.status_code == 200
        assert (
            ok.json()["player"] == (await auth.get("/auth/me", headers=bearer(token))).json()["id"]
        )
        assert (await quiz.get("/quiz/next")).status_code == 401
        forged = token[:-3] + "AAA"
        assert (await quiz.get("/quiz/next", headers=bearer(forged))).status_code == 401
        assert (await auth.post("/auth/logout", headers=bearer(token))).status_code == 204
        started = time.monotonic()
        rejected = await quiz.get("/quiz/next", headers=bearer(token))
        assert rejected.status_code == 401
        assert time.monotonic() - started < 1.0


async def test_quiz_app_follows_a_key_rotation(
    real_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = real_settings()
    keys = KeyDirectory(tmp_path / "keys")
    keys.generate("ES256", activate=True)
    async with auth_service(settings, keys.path, tmp_path / "auth1.log") as base:
        async with httpx.AsyncClient(base_url=base) as auth:
            _, old_token = await registered_token(auth)
        async with quiz_client(base, settings) as quiz:
            assert (await quiz.get("/quiz/next", headers=bearer(old_token))).status_code == 200
    new_kid = keys.generate("ES256", activate=True)
    async with (
        auth_service(settings, keys.path, tmp_path / "auth2.log") as base,
        httpx.AsyncClient(base_url=base) as auth,
        quiz_client(base, settings) as quiz,
    ):
        assert (await quiz.get("/quiz/next", headers=bearer(old_token))).status_code == 200
        _, new_token = await registered_token(auth)
        # The quiz app's cache predates new_kid: an unknown kid triggers a refetch.
        response = await quiz.get("/quiz/next", headers=bearer(new_token))
        assert response.status_code == 200, new_kid


async def test_hs256_tokens_are_never_accepted_by_the_client(
    real_settings: SettingsFactory, tmp_path: Path
) -> None:
    # The auth service signs with its shared secret here; the JWKS has no public key, so a
    # verifier without the secret rejects everything rather than trusting an HS256 header.
    settings = real_settings()
    keys = KeyDirectory(tmp_path / "keys")
    keys.generate("ES256", activate=True)
    async with (
        auth_service(settings, keys.path, tmp_path / "auth.log") as base,
        quiz_client(base, settings) as quiz,
    ):
        import jwt  # noqa: PLC0415

        forged = jwt.encode(
            {
                "sub": "x",
                "jti": "j",
                "sid": "s",
                "iat": int(time.time()),
                "exp": int(time.time()) + 60,
                "iss": settings.jwt_issuer,
                "aud": settings.jwt_audience,
                "token_type": "access",
            },
            "guessed-secret-guessed-secret-guessed",
            algorithm="HS256",
            headers={"kid": "hs-anything", "typ": "at+jwt"},
        )
        assert (await quiz.get("/quiz/next", headers=bearer(forged))).status_code == 401


async def end_one_session(auth: httpx.AsyncClient, tokens: dict[str, str | int]) -> None:
    """The user ends this session from another of their sessions."""
    email = str(tokens["email"])
    _, other = await logged_in(auth, email, agent="other device")
    listed = await auth.get("/auth/sessions", headers=bearer(str(other["access_token"])))
    [session_id] = [s["id"] for s in listed.json() if not s["current"]]
    ended = await auth.delete(
        f"/auth/sessions/{session_id}", headers=bearer(str(other["access_token"]))
    )
    assert ended.status_code == 204


REVOKE = {
    "logout": lambda auth, t: auth.post("/auth/logout", headers=bearer(str(t["access_token"]))),
    "logout-all": lambda auth, t: auth.post(
        "/auth/logout-all", headers=bearer(str(t["access_token"]))
    ),
    "ended-session": end_one_session,
}


@pytest.mark.parametrize("how", REVOKE)
async def test_quiz_app_with_the_near_cache_refuses_a_revoked_token(
    real_settings: SettingsFactory, tmp_path: Path, how: str
) -> None:
    settings = real_settings()
    KeyDirectory(tmp_path / "keys").generate("ES256", activate=True)
    async with (
        auth_service(settings, tmp_path / "keys", tmp_path / "auth.log") as base,
        httpx.AsyncClient(base_url=base) as auth,
        quiz_client(base, settings, near_cache=True) as quiz,
    ):
        email, tokens = await logged_in(auth)
        access = str(tokens["access_token"])
        assert (await quiz.get("/quiz/next", headers=bearer(access))).status_code == 200
        assert (await quiz.get("/quiz/next", headers=bearer(access))).status_code == 200
        result = await REVOKE[how](auth, {**tokens, "email": email})
        assert result is None or result.status_code == 204

        async def refused() -> bool:
            return (await quiz.get("/quiz/next", headers=bearer(access))).status_code == 401

        await eventually(refused, 5, f"the quiz app to refuse the token after {how}")
        assert (await quiz.get("/quiz/next", headers=bearer(access))).status_code == 401
