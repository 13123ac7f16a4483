"""The service as `make run` starts it (development, embedded, no key setting) signs
with a generated ES256 key, and quizauth_client verifies its tokens knowing nothing but
where the service is: the JWKS URL comes from the discovery document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from infra.stack_lib.api import free_port
from quizauth_client import JwksCache, TokenRejected, TokenVerifier
from tests.conftest import FAST_HASHING
from tests.events.processes import clean_environment, process, until_live
from tests.support.api import bearer, registered_token
from tests.support.forgery import parts


class NothingRevoked:
    """The Denylist of this test: it is about keys and signatures; revocation has tests
    of its own (test_quiz_client.py)."""

    async def is_revoked(self, jti: str, user_id: str, session_id: str, issued_at: int) -> bool:
        return False


@asynccontextmanager
async def make_run(log: Path) -> AsyncIterator[str]:
    """`python -m auth_api serve` with the environment `make run` gives it."""
    port = free_port()
    env = clean_environment(
        AUTH_ENV="development",
        **{f"AUTH_{name.upper()}": str(value) for name, value in FAST_HASHING.items()},
    )
    with process(["-m", "auth_api", "serve", "--port", str(port)], env, log):
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as http:
            await until_live(http, log)
        yield base


async def test_quiz_app_verifies_make_run_tokens_from_the_jwks_alone(tmp_path: Path) -> None:
    async with make_run(tmp_path / "auth.log") as base, httpx.AsyncClient() as http:
        async with httpx.AsyncClient(base_url=base) as auth:
            _, token = await registered_token(auth)
            me = (await auth.get("/auth/me", headers=bearer(token))).json()
        discovery = (await http.get(f"{base}/.well-known/openid-configuration")).json()
        jwks = JwksCache(discovery["jwks_uri"], http)
        verifier = TokenVerifier(jwks, NothingRevoked(), discovery["issuer"], "quiz-services")
        user = await verifier.verify(token)
        assert user.user_id == me["id"]
        assert parts(token)[0]["alg"] == "ES256"
        with pytest.raises(TokenRejected):
            await verifier.verify(token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"))
