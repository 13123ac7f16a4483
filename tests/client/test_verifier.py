"""quizauth_client without servers: the JWKS is served by an in-process transport that a
test can take down, and revocation is the service's in-memory twin. Whatever the token
or the auth service does, verification ends in a user or a TokenRejected; and a key set
that cannot be fetched is "unavailable" (503), never an exception (500)."""

# No `from __future__ import annotations`: FastAPI must see the local dependency object.

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI
from redis.asyncio import Redis

from auth_api.security.memory_stores import MemoryRevocationStore
from auth_api.tokens.access import AccessTokenCodec
from auth_api.tokens.keys import KeySet, asymmetric_key, generate_private_key
from infra.stack_lib.api import free_port
from quizauth_client import (
    AuthenticatedUser,
    Denylist,
    EventsDenylist,
    EventsModeSettings,
    JwksCache,
    RedisDenylist,
    TokenRejected,
    TokenVerifier,
    require_user,
)
from tests.support.forgery import b64, parts

ISS, AUD = "quizauth", "quiz-services"
JWKS_URL = "http://auth.test/.well-known/jwks.json"
MAX_AGE, GRACE = 300.0, 900.0


@dataclass
class AuthService:
    """The auth service as a quiz service sees it: a JWKS endpoint that may fail."""

    keys: KeySet
    failure: str | None = None  # None, "down", "error", "not json", "not a key set"
    fetches: int = 0
    codec: AccessTokenCodec = field(init=False)

    def __post_init__(self) -> None:
        self.codec = AccessTokenCodec(self.keys, ISS, AUD, ttl_seconds=900, leeway_seconds=10)

    def token(self) -> str:
        return self.codec.issue("user-1", "session-1").token

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        if self.failure == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if self.failure == "error":
            return httpx.Response(502, text="bad gateway")
        if self.failure == "not json":
            return httpx.Response(200, text="<html>maintenance</html>")
        if self.failure == "not a key set":
            return httpx.Response(200, json=["keys"])
        return httpx.Response(200, json=self.keys.jwks())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Quiz:
    auth: AuthService
    verifier: TokenVerifier
    clock: Clock
    app: httpx.AsyncClient


def es256_keys(kid: str = "es-1") -> KeySet:
    return KeySet(asymmetric_key(kid, "ES256", generate_private_key("ES256")))


@pytest.fixture
async def quiz() -> AsyncIterator[Quiz]:
    auth, clock = AuthService(es256_keys()), Clock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(auth.handle)) as http:
        jwks = JwksCache(
            JWKS_URL, http, max_age=MAX_AGE, refetch_cooldown=5.0, stale_grace=GRACE, clock=clock
        )
        verifier = TokenVerifier(jwks, MemoryRevocationStore(), ISS, AUD)
        transport = httpx.ASGITransport(app=quiz_app(verifier))
        async with httpx.AsyncClient(transport=transport, base_url="http://quiz") as app:
            yield Quiz(auth, verifier, clock, app)


def quiz_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    user_dependency = require_user(verifier)

    @app.get("/quiz/next")
    async def next_question(
        user: Annotated[AuthenticatedUser, Depends(user_dependency)],
    ) -> dict[str, str]:
        return {"player": user.user_id}

    return app


async def rejection(verifier: TokenVerifier, token: str) -> TokenRejected:
    with pytest.raises(TokenRejected) as raised:
        await verifier.verify(token)
    return raised.value


async def test_a_genuine_token_is_accepted(quiz: Quiz) -> None:
    user = await quiz.verifier.verify(quiz.auth.token())
    assert (user.user_id, user.session_id) == ("user-1", "session-1")


def signed_exactly(auth: AuthService, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A genuine signature over exactly this header (jwt.encode would add `typ: JWT`)."""
    key = auth.keys.active
    encoded = [b64(json.dumps(part).encode()) for part in (header, claims)]
    signing_input = ".".join(encoded).encode()
    signature = jwt.get_algorithm_by_name(key.algorithm).sign(signing_input, key.signing)
    return f"{signing_input.decode()}.{b64(signature)}"


def retyped(auth: AuthService, typ: str | None) -> str:
    header, claims = parts(auth.token())
    header = {k: v for k, v in header.items() if k != "typ"}
    return signed_exactly(auth, header if typ is None else {**header, "typ": typ}, claims)


async def test_a_deeply_nested_header_is_rejected_not_raised(quiz: Quiz) -> None:
    nested = b64(b"[" * 2900) + "." + b64(b"{}") + "." + b64(b"x" * 64)
    assert len(nested) < 4096
    rejected = await rejection(quiz.verifier, nested)
    assert not rejected.unavailable
    response = await quiz.app.get("/quiz/next", headers={"Authorization": f"Bearer {nested}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "é.è.à", b64(b'"kid"') + ".e30.", "x" * 5000],
    ids=["empty", "one part", "garbage", "not ascii", "header not an object", "oversized"],
)
async def test_malformed_tokens_are_rejected_not_raised(quiz: Quiz, token: str) -> None:
    assert not (await rejection(quiz.verifier, token)).unavailable


async def test_the_control_of_the_typ_tests_is_accepted(quiz: Quiz) -> None:
    assert (await quiz.verifier.verify(retyped(quiz.auth, "at+jwt"))).user_id == "user-1"


@pytest.mark.parametrize("typ", [None, "JWT", "id_token+jwt"], ids=["missing", "JWT", "other"])
async def test_a_genuine_signature_on_a_token_not_typed_at_jwt_is_rejected(
    quiz: Quiz, typ: str | None
) -> None:
    assert not (await rejection(quiz.verifier, retyped(quiz.auth, typ))).unavailable


@pytest.mark.parametrize("failure", ["down", "error", "not json", "not a key set"])
async def test_a_key_set_that_cannot_be_fetched_is_unavailable(quiz: Quiz, failure: str) -> None:
    quiz.auth.failure = failure
    token = quiz.auth.token()
    assert (await rejection(quiz.verifier, token)).unavailable
    response = await quiz.app.get("/quiz/next", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    quiz.auth.failure = None
    quiz.clock.now += 5.0  # the refetch cool-down
    assert (await quiz.verifier.verify(token)).user_id == "user-1"


async def test_stale_keys_verify_for_the_grace_period_while_the_service_is_down(
    quiz: Quiz,
) -> None:
    token = quiz.auth.token()
    await quiz.verifier.verify(token)  # keys fetched
    quiz.auth.failure = "down"
    quiz.clock.now += MAX_AGE + GRACE - 1
    assert (await quiz.verifier.verify(token)).user_id == "user-1"
    quiz.clock.now += 2
    assert (await rejection(quiz.verifier, token)).unavailable
    quiz.auth.failure = None
    quiz.clock.now += 5.0
    assert (await quiz.verifier.verify(token)).user_id == "user-1"


async def test_a_down_service_is_asked_once_per_cool_down_not_per_request(quiz: Quiz) -> None:
    token = quiz.auth.token()
    await quiz.verifier.verify(token)
    quiz.auth.failure = "down"
    quiz.clock.now += MAX_AGE + 1
    for _ in range(20):
        await quiz.verifier.verify(token)
    assert quiz.auth.fetches == 2


async def test_an_unknown_key_while_the_service_is_down_is_unavailable(quiz: Quiz) -> None:
    """The key may be a new one the service rotated to: not a reason to log players out."""
    await quiz.verifier.verify(quiz.auth.token())
    quiz.auth.failure = "down"
    rotated = AuthService(es256_keys("es-2"))
    quiz.clock.now += 5.0
    assert (await rejection(quiz.verifier, rotated.token())).unavailable


async def test_an_unknown_key_of_a_reachable_service_is_rejected(quiz: Quiz) -> None:
    await quiz.verifier.verify(quiz.auth.token())
    stranger = AuthService(es256_keys("es-2"))
    quiz.clock.now += 5.0
    assert not (await rejection(quiz.verifier, stranger.token())).unavailable


@pytest.mark.parametrize("mode", ["redis", "events"])
async def test_a_revocation_source_out_of_reach_is_unavailable(quiz: Quiz, mode: str) -> None:
    """Either mode, fail closed: a 503, never an exception and never an acceptance."""
    nowhere = free_port()  # nothing listens there
    async with AsyncExitStack() as stack:
        denylist: Denylist
        if mode == "redis":
            redis = Redis(port=nowhere, socket_connect_timeout=1)
            stack.push_async_callback(redis.aclose)
            denylist = RedisDenylist(redis)
        else:
            denylist = await stack.enter_async_context(
                EventsDenylist(EventsModeSettings(f"127.0.0.1:{nowhere}"))
            )
        verifier = TokenVerifier(quiz.verifier._jwks, denylist, ISS, AUD)
        assert (await rejection(verifier, quiz.auth.token())).unavailable
