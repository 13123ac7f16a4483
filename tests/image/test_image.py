"""The built image, run as a user runs it (`make image-test`; not part of `pytest`):
the API and the quiz-profiles consumer in containers of the image on the host's network,
against the real MongoDB, Redis and Kafka, with a read-only root filesystem.

Checks, in order: non-root uid; /health/ready; the web page; register, login, /auth/me
and logout; the image's own HEALTHCHECK; the read-only root; the consumer consuming a
registration and stopping on SIGTERM; the API stopping cleanly on SIGTERM."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from consumers.quiz_profiles import COLLECTION
from infra.stack_lib.api import free_port
from tests.conftest import drop_test_data, new_isolation
from tests.image.engine import Container, Engine, find_engine
from tests.support.api import PASSWORD, bearer, unique_email
from tests.support.polling import eventually
from tests.support.servers import Servers

IMAGE = os.environ.get("IMAGE", "quizauth:local")
APP_UID = "10001"
# Seconds between SIGTERM and SIGKILL, as `docker stop` and compose give by default.
GRACE_SECONDS = 10
STARTUP_SECONDS = 60
# An exit by SIGKILL: the container ignored SIGTERM or outlived the grace period.
KILLED = 137


@dataclass(frozen=True)
class Deployment:
    """What the containers of one run share: the servers and their own data."""

    engine: Engine
    servers: Servers
    isolation: dict[str, str]
    tag: str

    def environment(self) -> dict[str, str]:
        return {
            "AUTH_MONGO_URL": self.servers.mongo_url,
            "AUTH_REDIS_URL": self.servers.redis_url,
            "AUTH_KAFKA_BOOTSTRAP": self.servers.kafka_bootstrap,
            "AUTH_MONGO_DB": self.isolation["mongo_db"],
            "AUTH_REDIS_PREFIX": self.isolation["redis_prefix"],
            "AUTH_KAFKA_TOPIC_PREFIX": self.isolation["kafka_topic_prefix"],
            "AUTH_KAFKA_TOPIC_PARTITIONS": "1",
            "AUTH_CONSUMER_MONGO_DB": self.isolation["mongo_db"],
        }

    def start(self, role: str, env: dict[str, str], command: list[str] | None = None) -> Container:
        """A container of the image on the host's network, its root filesystem read-only."""
        options = ["--network", "host", "--read-only", *self.engine.isolation_options()]
        name = f"quizauth-image-test-{self.tag}-{role}"
        return Container.start(
            self.engine, IMAGE, name, {**self.environment(), **env}, options, command
        )


@dataclass(frozen=True)
class Api:
    container: Container
    url: str


@pytest.fixture(scope="module")
def engine() -> Engine:
    found = find_engine()
    if not found.has_image(IMAGE):
        pytest.fail(f"{found.name} has no image {IMAGE}: build it first with `make image`")
    return found


@pytest.fixture(scope="module")
async def deployment(engine: Engine, servers: Servers) -> AsyncIterator[Deployment]:
    isolation = new_isolation()
    yield Deployment(engine, servers, isolation, uuid.uuid4().hex[:8])
    await drop_test_data(servers, isolation)


@pytest.fixture(scope="module")
async def api(deployment: Deployment) -> AsyncIterator[Api]:
    """The image's default command, told where to listen through AUTH_HOST/AUTH_PORT."""
    port = free_port()
    env = {
        "AUTH_HOST": "127.0.0.1",
        "AUTH_PORT": str(port),
        "AUTH_JWT_SECRET": secrets.token_hex(32),
    }
    container = deployment.start("api", env)
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_until_ready(container, url)
        yield Api(container, url)
    finally:
        container.remove()


async def wait_until_ready(container: Container, url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:

        async def ready() -> bool:
            if not container.running():
                raise AssertionError(f"the API container exited\n{container.logs_tail()}")
            try:
                return (await client.get("/health/ready")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, STARTUP_SECONDS, f"/health/ready\n{container.logs_tail()}")


@pytest.fixture
async def client(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as http:
        yield http


def test_processes_run_as_the_non_root_user(api: Api) -> None:
    status = api.container.exec("cat", "/proc/1/status")
    ids = {line.split(":")[0]: line.split()[1:] for line in status.stdout.splitlines()}
    assert ids.get("Uid") == [APP_UID] * 4, f"PID 1 runs as uid {ids.get('Uid')}"
    assert ids.get("Gid") == [APP_UID] * 4, f"PID 1 runs as gid {ids.get('Gid')}"
    own = api.container.exec("id", "-u")
    assert own.stdout.strip() == APP_UID, f"`exec` runs as uid {own.stdout.strip()} {own.stderr}"


async def test_ready_with_every_server(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"startup": "ok", "mongodb": "ok", "redis": "ok"}


async def test_the_web_page_is_served(client: httpx.AsyncClient) -> None:
    """The page's files are in the image and readable by the runtime user."""
    response = await client.get("/")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")


async def test_register_login_me_and_logout(client: httpx.AsyncClient) -> None:
    email = unique_email("image")
    credentials = {"email": email, "password": PASSWORD}
    registered = await client.post("/auth/register", json=credentials)
    assert registered.status_code == 201, f"register: {registered.text}"
    logged_in = await client.post("/auth/login", json=credentials)
    assert logged_in.status_code == 200, f"login: {logged_in.text}"
    token = logged_in.json()["access_token"]
    me = await client.get("/auth/me", headers=bearer(token))
    assert me.status_code == 200, f"/auth/me: {me.text}"
    assert me.json()["email"] == email
    logged_out = await client.post("/auth/logout", headers=bearer(token))
    assert logged_out.status_code == 204, f"logout: {logged_out.text}"
    after = await client.get("/auth/me", headers=bearer(token))
    assert after.status_code == 401, f"/auth/me after logout: {after.status_code} {after.text}"


def healthcheck_command(container: Container) -> list[str]:
    test: list[str] = container.inspect()["Config"]["Healthcheck"]["Test"]
    if test[0] == "CMD":
        return test[1:]
    assert test[0] == "CMD-SHELL", f"unexpected HEALTHCHECK {test}"
    return ["/bin/sh", "-c", test[1]]


def test_the_images_healthcheck_passes(api: Api) -> None:
    command = healthcheck_command(api.container)
    passed = api.container.exec(*command)
    assert passed.returncode == 0, f"HEALTHCHECK {command} failed: {passed.stderr[-2000:]}"
    if api.container.engine.name == "podman":
        verdict = api.container.engine.run("healthcheck", "run", api.container.name, check=False)
        assert verdict.returncode == 0, f"podman healthcheck run: {verdict.stdout}{verdict.stderr}"


def test_the_healthcheck_fails_when_nothing_answers(api: Api) -> None:
    """It asks the port in AUTH_PORT: on a port where nothing listens, it fails."""
    command = healthcheck_command(api.container)
    failed = api.container.exec(*command, env={"AUTH_PORT": str(free_port())})
    assert failed.returncode != 0, "the HEALTHCHECK passed with nothing listening"


def test_the_root_filesystem_is_read_only(api: Api) -> None:
    """Every check here ran on a read-only root; /var/tmp would be writable otherwise."""
    assert api.container.inspect()["HostConfig"]["ReadonlyRootfs"] is True
    write = api.container.exec("python", "-c", "open('/var/tmp/probe', 'w')")
    assert write.returncode != 0, "a file could be written on the root filesystem"
    assert "Read-only file system" in write.stderr, write.stderr[-2000:]


@pytest.fixture
def consumer(deployment: Deployment) -> Iterator[tuple[Container, int]]:
    port = free_port()
    command = ["python", "-m", "consumers", "quiz-profiles"]
    command += ["--metrics-port", str(port), "--metrics-host", "127.0.0.1"]
    env = {"AUTH_CONSUMER_GROUP": f"{deployment.isolation['kafka_topic_prefix']}quiz-profiles"}
    container = deployment.start("consumer", env, command)
    try:
        yield container, port
    finally:
        container.remove()


async def test_the_consumer_consumes_a_registration_and_stops_on_sigterm(
    deployment: Deployment, client: httpx.AsyncClient, consumer: tuple[Container, int]
) -> None:
    container, metrics_port = consumer
    registered = await client.post(
        "/auth/register", json={"email": unique_email("consumer"), "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    user_id = registered.json()["id"]
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(deployment.servers.mongo_url)
    profiles = mongo[deployment.isolation["mongo_db"]][COLLECTION]
    try:

        async def profile_exists() -> bool:
            if not container.running():
                raise AssertionError(f"the consumer exited\n{container.logs_tail()}")
            return await profiles.count_documents({"_id": user_id}) == 1

        what = f"the consumer's profile of user {user_id}\n{container.logs_tail()}"
        await eventually(profile_exists, STARTUP_SECONDS, what)
    finally:
        await mongo.close()
    async with httpx.AsyncClient(timeout=5) as http:
        metrics = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
    assert 'outcome="handled"' in metrics, "the consumer's metrics count no handled event"
    assert_stops_cleanly(container, "quiz-profiles stopped")


def assert_stops_cleanly(container: Container, last_words: str) -> None:
    seconds = container.stop(GRACE_SECONDS)
    code = container.exit_code()
    assert code != KILLED, (
        f"{container.name} was killed {GRACE_SECONDS}s after SIGTERM\n{container.logs_tail()}"
    )
    assert code == 0, f"{container.name} exited {code} on SIGTERM\n{container.logs_tail()}"
    assert last_words in container.logs(), (
        f"no '{last_words}' in the log after SIGTERM ({seconds:.1f}s)\n{container.logs_tail()}"
    )


def test_the_api_stops_cleanly_on_sigterm(api: Api) -> None:
    assert_stops_cleanly(api.container, "Application shutdown complete.")
    assert "Finished server process" in api.container.logs(), api.container.logs_tail()
