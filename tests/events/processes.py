"""Real processes of the service and the consumers, for tests about crashes and signals."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from auth_api.settings import Settings
from tests.conftest import FAST_HASHING, TEST_SECRET
from tests.support.polling import eventually
from tests.support.servers import REPO


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without its AUTH_* settings, plus `variables`."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("AUTH_")}
    return {**inherited, **variables}


def service_environment(settings: Settings, kafka_bootstrap: str) -> dict[str, str]:
    """What `python -m auth_api serve` needs to act like `settings`, with this Kafka."""
    return clean_environment(
        AUTH_ENV="test",
        AUTH_JWT_SECRET=TEST_SECRET,
        AUTH_MONGO_URL=settings.mongo_url or "",
        AUTH_REDIS_URL=settings.redis_url or "",
        AUTH_REDIS_MODE=settings.redis_mode.value,
        AUTH_MONGO_DB=settings.mongo_db,
        AUTH_REDIS_PREFIX=settings.redis_prefix,
        AUTH_KAFKA_TOPIC_PREFIX=settings.kafka_topic_prefix,
        AUTH_KAFKA_TOPIC_PARTITIONS=str(settings.kafka_topic_partitions),
        AUTH_KAFKA_REPLICATION_FACTOR=str(settings.kafka_replication_factor),
        AUTH_KAFKA_MIN_INSYNC_REPLICAS=str(settings.kafka_min_insync_replicas),
        AUTH_KAFKA_BOOTSTRAP=kafka_bootstrap,
        **{f"AUTH_{name.upper()}": str(value) for name, value in FAST_HASHING.items()},
    )


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python <args>` from the repository; killed and reaped if still running at the end.
    Output goes to `log`, which a failing test can show."""
    with log.open("ab") as out:
        child = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)


def log_tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


# How long a started process may take to answer. Generous: a loaded 2-core machine takes
# well over 10 s to import and start the app; the wait ends as soon as it answers.
START_SECONDS = 90.0


async def until_live(client: httpx.AsyncClient, log: Path, seconds: float = START_SECONDS) -> None:
    """Wait until the process `client` points at answers /health/live; past `seconds`,
    fail showing the end of its `log`."""

    async def live() -> bool:
        try:
            return (await client.get("/health/live")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await eventually(live, seconds, f"{client.base_url} to answer /health/live")
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n{log_tail(log)}") from None
