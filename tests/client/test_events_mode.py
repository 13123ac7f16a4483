"""A quiz app on quizauth_client's events mode, against a real auth service process and
the real Kafka: it holds the JWKS URL and Kafka access, no Redis and no secret, and
still refuses logged-out, logged-out-everywhere and revoked-session tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from auth_api.settings import Settings
from auth_api.tokens.key_directory import KeyDirectory
from infra.stack_lib.api import PrivateServer, free_port
from quizauth_client import EventsDenylist, EventsModeSettings, JwksCache, TokenVerifier
from tests.client.test_quiz_client import auth_service
from tests.events.support import outbox_drained
from tests.support.api import bearer, login, register, unique_email
from tests.support.logs import CapturedLogs
from tests.support.polling import eventually
from tests.support.quiz_app import quiz_app
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]
# Generous: the relay publishes at once; this bounds a slow machine, it times nothing.
PROPAGATION_BOUND = 15.0


@asynccontextmanager
async def events_quiz(
    base: str, settings: Settings, events: EventsModeSettings, wait: bool = True
) -> AsyncIterator[tuple[httpx.AsyncClient, EventsDenylist]]:
    """The quiz app on events mode; with `wait`, once its deny-set has caught up."""
    async with httpx.AsyncClient() as http, EventsDenylist(events) as denylist:
        jwks = JwksCache(f"{base}/.well-known/jwks.json", http, refetch_cooldown=0.0)
        verifier = TokenVerifier(jwks, denylist, settings.jwt_issuer, settings.jwt_audience)
        if wait:
            async with asyncio.timeout(30):
                await denylist.caught_up()
        transport = httpx.ASGITransport(app=quiz_app(verifier))
        async with httpx.AsyncClient(transport=transport, base_url="http://quiz") as quiz:
            yield quiz, denylist


def events_of(settings: Settings, bootstrap: str, **overrides: Any) -> EventsModeSettings:
    return EventsModeSettings(bootstrap, settings.kafka_topic_prefix, **overrides)


@asynccontextmanager
async def signing_service(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    keys = tmp_path / "keys"
    if not keys.exists():
        KeyDirectory(keys).generate("ES256", activate=True)
    async with (
        auth_service(settings, keys, tmp_path / "auth.log") as base,
        httpx.AsyncClient(base_url=base) as auth,
    ):
        yield auth


async def sessions_of_one_user(auth: httpx.AsyncClient, count: int) -> list[str]:
    email = unique_email()
    assert (await register(auth, email)).status_code == 201
    return [(await login(auth, email)).json()["access_token"] for _ in range(count)]


async def status_of(quiz: httpx.AsyncClient, token: str) -> int:
    return (await quiz.get("/quiz/next", headers=bearer(token))).status_code


async def refused(quiz: httpx.AsyncClient, *tokens: str) -> None:
    async def all_refused() -> bool:
        return all([await status_of(quiz, t) == 401 for t in tokens])

    await eventually(all_refused, PROPAGATION_BOUND, "the quiz app to refuse the tokens")


def session_of(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["sid"])


async def test_a_quiz_app_with_only_jwks_and_kafka_honours_every_revocation(
    real_settings: SettingsFactory, servers: Servers, tmp_path: Path
) -> None:
    settings = real_settings()
    async with signing_service(settings, tmp_path) as auth:
        events = events_of(settings, servers.kafka_bootstrap)
        async with events_quiz(str(auth.base_url), settings, events) as (quiz, _):
            logged_out, kept = await sessions_of_one_user(auth, 2)
            assert await status_of(quiz, logged_out) == 200
            assert (await auth.post("/auth/logout", headers=bearer(logged_out))).status_code == 204
            await refused(quiz, logged_out)
            assert await status_of(quiz, kept) == 200  # its other session lives on

            ended, caller = await sessions_of_one_user(auth, 2)
            path = f"/auth/sessions/{session_of(ended)}"
            assert (await auth.delete(path, headers=bearer(caller))).status_code == 204
            await refused(quiz, ended)
            assert await status_of(quiz, caller) == 200

            phone, laptop = await sessions_of_one_user(auth, 2)
            assert (await auth.post("/auth/logout-all", headers=bearer(phone))).status_code == 204
            await refused(quiz, phone, laptop)
            assert await status_of(quiz, kept) == 200


async def test_a_quiz_app_started_after_the_revocations_reads_them_back(
    real_settings: SettingsFactory, servers: Servers, tmp_path: Path
) -> None:
    settings = real_settings()
    async with signing_service(settings, tmp_path) as auth:
        logged_out, live = await sessions_of_one_user(auth, 2)
        everywhere = await sessions_of_one_user(auth, 2)
        assert (await auth.post("/auth/logout", headers=bearer(logged_out))).status_code == 204
        assert (
            await auth.post("/auth/logout-all", headers=bearer(everywhere[0]))
        ).status_code == 204
        await outbox_drained(auth)
        events = events_of(settings, servers.kafka_bootstrap)
        async with events_quiz(str(auth.base_url), settings, events) as (quiz, denylist):
            # At once, with no poll: ready means the log has been read back.
            assert [await status_of(quiz, t) for t in (logged_out, *everywhere)] == [401] * 3
            assert await status_of(quiz, live) == 200
            assert denylist.status().applied >= 3


async def create_topics(bootstrap: str, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        await admin.create_topics([NewTopic(t, 1, 1) for t in topics])
    finally:
        await admin.close()


async def test_a_consumer_cut_from_kafka_beyond_the_bound_answers_unavailable(
    real_settings: SettingsFactory, private_kafka: PrivateServer, tmp_path: Path
) -> None:
    settings = real_settings()
    bootstrap = f"127.0.0.1:{private_kafka.port}"
    events = events_of(settings, bootstrap, max_lag_seconds=1.0)
    await create_topics(bootstrap, events.topics)
    async with signing_service(settings, tmp_path) as auth:
        (token,) = await sessions_of_one_user(auth, 1)
        async with events_quiz(str(auth.base_url), settings, events) as (quiz, denylist):
            assert await status_of(quiz, token) == 200
            private_kafka.stop()

            async def unavailable() -> bool:
                return await status_of(quiz, token) == 503

            await eventually(unavailable, PROPAGATION_BOUND, "the quiz app to answer 503")
            response = await quiz.get("/quiz/next", headers=bearer(token))
            assert response.headers["retry-after"] == "1"
            assert not denylist.ready
            private_kafka.start()

            async def back() -> bool:
                return await status_of(quiz, token) == 200

            await eventually(back, 60, "the quiz app to verify again once Kafka is back")


async def test_a_consumer_that_never_reached_kafka_answers_unavailable(
    real_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = real_settings()
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there
    async with signing_service(settings, tmp_path) as auth:
        (token,) = await sessions_of_one_user(auth, 1)
        events = events_of(settings, nowhere)
        async with events_quiz(str(auth.base_url), settings, events, wait=False) as (quiz, _):
            assert await status_of(quiz, token) == 503


async def test_fail_open_accepts_with_a_warning_when_kafka_is_out_of_reach(
    real_settings: SettingsFactory, tmp_path: Path, json_logs: CapturedLogs
) -> None:
    settings = real_settings()
    events = events_of(settings, f"127.0.0.1:{free_port()}", fail_open=True)
    async with signing_service(settings, tmp_path) as auth:
        (token,) = await sessions_of_one_user(auth, 1)
        async with events_quiz(str(auth.base_url), settings, events, wait=False) as (quiz, _):
            assert await status_of(quiz, token) == 200
    assert any("FAILING OPEN" in line["message"] for line in json_logs.lines())
