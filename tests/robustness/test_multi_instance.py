"""Two real `python -m auth_api serve` processes on one Redis, MongoDB and Kafka, and a
quiz app on quizauth_client that holds only their JWKS URL: what one instance revokes,
it refuses at once, and the other instance and the quiz app within moments (with the
near cache, when Redis's invalidation reaches them; without, at once); login limits
count across both instances. (tests/integration/test_real_servers.py shows the same
with two in-process apps.) Each test runs with the near cache of the denylist on in
both instances and the quiz app (NearCachedDenylist), and off in all three
(RedisDenylist)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from auth_api.tokens.key_directory import KeyDirectory
from infra.stack_lib.api import free_port
from quizauth_client.tracking import INVALIDATION_CHANNEL
from tests.conftest import FAST_HASHING, drop_test_data, new_isolation, session_redis
from tests.events.processes import clean_environment, process, until_live
from tests.support.api import assert_problem, bearer, login, register, unique_email
from tests.support.mailbox import MailpitMailbox, wait_for_mail
from tests.support.polling import eventually
from tests.support.quiz_app import quiz_client
from tests.support.servers import Servers
from tests.support.sessions import logged_in, me_status, refresh

pytestmark = pytest.mark.integration
ACCOUNT_LIMIT = 3


@dataclass(frozen=True)
class Pair:
    first: httpx.AsyncClient
    second: httpx.AsyncClient
    mailbox: MailpitMailbox
    quiz: httpx.AsyncClient  # the quiz app, verifying with the first instance's JWKS
    near_cache: bool


def cluster_environment(
    servers: Servers, isolation: dict[str, str], near_cache: bool = True
) -> dict[str, str]:
    """Both instances' settings: the same servers, secret, database, key and topic prefix."""
    return clean_environment(
        AUTH_REVOCATION_NEAR_CACHE=str(near_cache).lower(),
        AUTH_ENV="test",
        AUTH_JWT_SECRET=secrets.token_urlsafe(48),
        AUTH_MONGO_URL=servers.mongo_url,
        AUTH_REDIS_URL=servers.redis_url,
        AUTH_KAFKA_BOOTSTRAP=servers.kafka_bootstrap,
        **{f"AUTH_{name.upper()}": str(value) for name, value in servers.topology.items()},
        AUTH_MONGO_DB=isolation["mongo_db"],
        AUTH_REDIS_PREFIX=isolation["redis_prefix"],
        AUTH_KAFKA_TOPIC_PREFIX=isolation["kafka_topic_prefix"],
        AUTH_KAFKA_TOPIC_PARTITIONS="1",
        AUTH_LOGIN_ACCOUNT_IP_LIMIT=str(ACCOUNT_LIMIT),
        AUTH_SMTP_URL=servers.smtp_url,
        **{f"AUTH_{name.upper()}": str(value) for name, value in FAST_HASHING.items()},
    )


def serve(processes: contextlib.ExitStack, env: dict[str, str], logs: Path) -> tuple[str, Path]:
    """One `python -m auth_api serve` on a free port, killed (by pid) when `processes`
    closes; its base URL and log file."""
    port = free_port()
    log = logs / f"serve-{port}.log"
    processes.enter_context(process(["-m", "auth_api", "serve", "--port", str(port)], env, log))
    return f"http://127.0.0.1:{port}", log


async def channels_subscribed(redis: Redis) -> int:
    """Connections subscribed to Redis's invalidations: one per near cache that is up."""
    [(_, count)] = await redis.pubsub_numsub(INVALIDATION_CHANNEL)
    return int(count)


# On the clustered topology the services keep no near cache (a cluster refuses its
# channel): the variant would be the direct one again.
MODES = (
    ["direct"] if os.environ.get("AUTH_STACK_TOPOLOGY") == "cluster" else ["near-cache", "direct"]
)


@pytest.fixture(scope="module", params=MODES)
async def pair(
    request: pytest.FixtureRequest, servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Pair]:
    near_cache = request.param == "near-cache"
    isolation = new_isolation()
    env = cluster_environment(servers, isolation, near_cache)
    logs = tmp_path_factory.mktemp("instances")
    # Both sign with one ES256 key, so the quiz app can verify with the public JWKS.
    KeyDirectory(logs / "keys").generate("ES256", activate=True)
    env |= {"AUTH_JWT_ALGORITHM": "ES256", "AUTH_JWT_KEYS_DIR": str(logs / "keys")}
    try:
        async with session_redis(servers) as redis:
            channels_before = await channels_subscribed(redis) if near_cache else 0
            with contextlib.ExitStack() as processes:
                (first_url, first_log), (second_url, second_log) = [
                    serve(processes, env, logs) for _ in range(2)
                ]
                async with (
                    httpx.AsyncClient(base_url=first_url, timeout=10) as first,
                    httpx.AsyncClient(base_url=second_url, timeout=10) as second,
                ):
                    await until_live(first, first_log, 30)
                    await until_live(second, second_log, 30)
                    if near_cache:  # else the near cache would not be what is tested
                        channels = channels_before + 2

                        async def both_up() -> bool:
                            return await channels_subscribed(redis) >= channels

                        await eventually(both_up, 10, "both instances' channels up")
                    jwks_url = f"{first_url}/.well-known/jwks.json"
                    prefix = isolation["redis_prefix"]
                    async with quiz_client(
                        jwks_url,
                        servers.redis_url,
                        prefix,
                        "quizauth",
                        "quiz-services",
                        near_cache,
                        clustered=servers.redis_clustered,
                    ) as quiz:
                        yield Pair(
                            first, second, MailpitMailbox(servers.mail_api), quiz, near_cache
                        )
    finally:
        await drop_test_data(servers, isolation)


async def refused_soon(instance: httpx.AsyncClient, access_token: str) -> None:
    """Refused within a bounded wait: the other instance learns of a revocation when
    Redis's invalidation reaches its near cache."""

    async def refused() -> bool:
        return await me_status(instance, access_token) == 401

    await eventually(refused, 5, "the revocation to reach the other instance")
    refused_now = await instance.get("/auth/me", headers=bearer(access_token))
    assert_problem(refused_now, 401, "NOT_AUTHENTICATED")


async def quiz_status(pair: Pair, access_token: str) -> int:
    return (await pair.quiz.get("/quiz/next", headers=bearer(access_token))).status_code


async def quiz_refuses_soon(pair: Pair, access_token: str) -> None:
    """The quiz app refuses within a bounded wait, and keeps refusing."""

    async def refused() -> bool:
        return await quiz_status(pair, access_token) == 401

    await eventually(refused, 5, "the revocation to reach the quiz app")
    assert await quiz_status(pair, access_token) == 401


async def test_a_logout_through_one_instance_holds_on_both(pair: Pair) -> None:
    _, tokens = await logged_in(pair.first)
    access, refresh_token = str(tokens["access_token"]), str(tokens["refresh_token"])
    assert await me_status(pair.second, access) == 200
    assert await me_status(pair.second, access) == 200  # now in the second's near cache
    assert await quiz_status(pair, access) == 200
    assert await quiz_status(pair, access) == 200  # and in the quiz app's
    assert (await pair.first.post("/auth/logout", headers=bearer(access))).status_code == 204
    assert await me_status(pair.first, access) == 401  # its own write: at once
    await refused_soon(pair.second, access)
    await quiz_refuses_soon(pair, access)
    assert_problem(await refresh(pair.second, refresh_token), 401, "INVALID_REFRESH_TOKEN")


async def test_a_logout_everywhere_holds_on_every_instance(pair: Pair) -> None:
    email, on_first = await logged_in(pair.first, agent="laptop")
    _, on_second = await logged_in(pair.second, email, agent="phone")
    for tokens in (on_first, on_second):
        for instance in (pair.first, pair.second):
            assert await me_status(instance, str(tokens["access_token"])) == 200
        assert await quiz_status(pair, str(tokens["access_token"])) == 200
    everywhere = await pair.second.post(
        "/auth/logout-all", headers=bearer(str(on_second["access_token"]))
    )
    assert everywhere.status_code == 204
    for tokens in (on_first, on_second):
        assert await me_status(pair.second, str(tokens["access_token"])) == 401  # at once
        await refused_soon(pair.first, str(tokens["access_token"]))
        await quiz_refuses_soon(pair, str(tokens["access_token"]))
    for tokens in (on_first, on_second):
        assert (await refresh(pair.first, str(tokens["refresh_token"]))).status_code == 401


async def test_an_ended_session_holds_on_every_instance(pair: Pair) -> None:
    email, laptop = await logged_in(pair.first, agent="laptop")
    _, phone = await logged_in(pair.second, email, agent="phone")
    laptop_access, phone_access = str(laptop["access_token"]), str(phone["access_token"])
    for instance in (pair.first, pair.second):
        assert await me_status(instance, laptop_access) == 200
    assert await quiz_status(pair, laptop_access) == 200
    listed = await pair.second.get("/auth/sessions", headers=bearer(phone_access))
    [laptop_session] = [s["id"] for s in listed.json() if not s["current"]]
    ended = await pair.second.delete(
        f"/auth/sessions/{laptop_session}", headers=bearer(phone_access)
    )
    assert ended.status_code == 204
    assert await me_status(pair.second, laptop_access) == 401  # at once
    await refused_soon(pair.first, laptop_access)
    await quiz_refuses_soon(pair, laptop_access)
    assert await me_status(pair.first, phone_access) == 200
    assert await quiz_status(pair, phone_access) == 200


async def test_login_failures_spread_over_both_instances_share_one_limit(pair: Pair) -> None:
    email = unique_email("guessed")
    assert (await register(pair.first, email)).status_code == 201
    instances = [pair.first, pair.second] * ACCOUNT_LIMIT
    for instance in instances[:ACCOUNT_LIMIT]:
        assert (await login(instance, email, "wrong password!")).status_code == 401
    throttled = await login(instances[ACCOUNT_LIMIT], email, "wrong password!")
    assert_problem(throttled, 429, "RATE_LIMITED")
    assert int(throttled.headers["retry-after"]) > 0
    assert (await login(pair.first, email)).status_code == 429  # even the right password


@pytest.mark.parametrize(("size", "status"), [(9 * 1024, 401), (60 * 1024, 431)])
async def test_the_server_bounds_the_request_head(pair: Pair, size: int, status: int) -> None:
    """Through the real HTTP server: under AUTH_MAX_HEADER_BYTES (16 KiB) the app answers
    its 401; over it the server answers 431 before the app sees the request."""
    try:
        response = await pair.first.get(
            "/auth/me", headers={"Authorization": "Bearer " + "x" * size}
        )
    except httpx.RemoteProtocolError:
        pytest.fail("the server dropped the connection instead of answering")
    if status == 431:
        assert_problem(response, 431, "HEADERS_TOO_LARGE")
    else:
        assert_problem(response, 401, "NOT_AUTHENTICATED")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert (await pair.first.get("/health/live")).status_code == 200


async def test_the_server_stops_reading_a_head_that_never_ends(pair: Pair) -> None:
    """A header that goes on and on: the server refuses it after about the limit and
    closes, rather than buffering all it is sent (httptools alone would)."""
    url = pair.first.base_url
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Endless: ")
    sent, answer, chunk = 0, b"", b"a" * 16384
    try:
        async with asyncio.timeout(30):
            while sent < 16 * 1024 * 1024 and not answer:
                try:
                    writer.write(chunk)
                    await writer.drain()
                except ConnectionError:
                    break  # closed by the server: what this test wants
                sent += len(chunk)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.01):
                        answer = await reader.read(100)
    finally:
        writer.close()
    assert sent < 2 * 1024 * 1024, "the server kept reading a 2 MiB head"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer
    assert (await pair.first.get("/health/live")).status_code == 200


async def test_a_password_reset_kills_tokens_on_every_instance_at_once(pair: Pair) -> None:
    email = unique_email()
    assert (await register(pair.first, email)).status_code == 201
    tokens = [(await login(client, email)).json() for client in (pair.first, pair.second)]
    for client in (pair.first, pair.second):
        for issued in tokens:
            assert await me_status(client, issued["access_token"]) == 200
    forgot = await pair.second.post("/auth/password/forgot", json={"email": email})
    assert forgot.status_code == 202
    mail = await wait_for_mail(pair.mailbox, email, "password_reset")
    body = {"token": mail.token, "new_password": "a brand new passphrase"}
    assert (await pair.first.post("/auth/password/reset", json=body)).status_code == 204
    for client in (pair.first, pair.second):  # at once: no waiting, on both instances
        for issued in tokens:
            assert await me_status(client, issued["access_token"]) == 401
            answer = await refresh(client, issued["refresh_token"])
            assert answer.status_code == 401
    used = await pair.second.post("/auth/password/reset", json=body)
    assert_problem(used, 400, "INVALID_TOKEN")


async def kill_invalidation_channels(redis: Redis) -> int:
    """Close, from the server's side, every connection subscribed to the invalidations
    (here: the second instance's, the first's and the quiz app's); how many."""
    clients = await redis.client_list(_type="pubsub")
    channels = [c["id"] for c in clients if "t" in c["flags"] or c.get("cmd") == "subscribe"]
    for client_id in channels:
        await redis.client_kill_filter(_id=client_id)
    return len(channels)


async def test_a_logout_while_the_channels_are_cut_is_refused_at_once(
    pair: Pair, servers: Servers
) -> None:
    """Fail closed: with every near cache's channel cut just before a logout, the other
    instance and the quiz app refuse the token on their very next check, without the
    invalidation they never got, and still once their channels are back."""
    _, tokens = await logged_in(pair.first)
    access = str(tokens["access_token"])
    for _ in range(2):  # the second check answers from the copies
        assert await me_status(pair.second, access) == 200
        assert await quiz_status(pair, access) == 200
    async with session_redis(servers) as redis:
        # Direct checks have no channel to cut: the logout must hold at once all the same.
        before = await channels_subscribed(redis) if pair.near_cache else 0
        killed = await kill_invalidation_channels(redis) if pair.near_cache else 0
        assert (await pair.first.post("/auth/logout", headers=bearer(access))).status_code == 204
        assert await me_status(pair.second, access) == 401
        assert await quiz_status(pair, access) == 401

        async def back() -> bool:
            return await channels_subscribed(redis) >= before

        if pair.near_cache:
            await eventually(back, 10, "the channels back")
    assert killed >= (3 if pair.near_cache else 0)
    assert await me_status(pair.second, access) == 401
    assert await quiz_status(pair, access) == 401
