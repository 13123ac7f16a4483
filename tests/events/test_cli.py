"""`python -m consumers` as operators run it: a real process, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from auth_api.app import create_app
from auth_api.settings import Settings
from consumers.__main__ import parse_args
from consumers.quiz_profiles import COLLECTION
from infra.stack_lib.api import free_port
from tests.conftest import running
from tests.events.processes import clean_environment, log_tail, process
from tests.events.runners import committed
from tests.events.support import outbox_drained
from tests.support.api import register
from tests.support.polling import eventually
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]


async def test_quiz_profiles_serves_metrics_and_stops_cleanly_on_sigterm(
    real_settings: SettingsFactory,
    servers: Servers,
    test_db: AsyncDatabase[dict[str, Any]],
    tmp_path: Path,
) -> None:
    settings = real_settings()
    async with running(create_app(settings)) as api:
        user_id = (await register(api)).json()["id"]
        await outbox_drained(api)
    group, port, log = f"{settings.kafka_topic_prefix}cli", free_port(), tmp_path / "consumer.log"
    env = clean_environment(
        AUTH_KAFKA_BOOTSTRAP=servers.kafka_bootstrap,
        AUTH_KAFKA_TOPIC_PREFIX=settings.kafka_topic_prefix,
        AUTH_MONGO_URL=servers.mongo_url,
        AUTH_CONSUMER_MONGO_DB=settings.mongo_db,
        AUTH_CONSUMER_POLL_TIMEOUT_SECONDS="0.2",
        # Soon, should the first prune fail on a busy server.
        AUTH_CONSUMER_PRUNE_INTERVAL_SECONDS="0.5",
    )
    # A record from a month ago, older than the retention: the consumer prunes it.
    stale = {"_id": f"{group}:stale", "processed_at": datetime.now(UTC) - timedelta(days=30)}
    await test_db["processed_events"].insert_one(stale)
    command = ["-m", "consumers", "quiz-profiles", "--group", group]
    command += ["--metrics-port", str(port), "--metrics-host", "127.0.0.1"]
    with process(command, env, log) as consumer:

        async def profile_exists() -> bool:
            return await test_db[COLLECTION].count_documents({"_id": user_id}) == 1

        await eventually(profile_exists, 20, f"the profile\n{log_tail(log)}")

        async def stale_record_pruned() -> bool:
            return await test_db["processed_events"].count_documents({"_id": stale["_id"]}) == 0

        await eventually(stale_record_pruned, 10, f"the pruning\n{log_tail(log)}")
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        consumer.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(consumer.wait, 15) == 0, log_tail(log)
    assert "quiz-profiles stopped" in log.read_text(), log_tail(log)

    topic = settings.kafka_topic_prefix + "user.registered"
    labels = f'group="{group}",outcome="handled",topic="{topic}"'
    assert f"auth_events_consumer_messages_processed_total{{{labels}}} 1.0" in metrics
    assert f'auth_events_consumer_lag{{group="{group}",partition=' in metrics
    assert await committed(servers.kafka_bootstrap, group, topic) == 1


def test_the_command_line_names_its_options() -> None:
    args = parse_args(["tail", "a", "b", "--from-beginning", "--limit", "3"])
    assert (args.topics, args.from_beginning, args.limit) == (["a", "b"], True, 3)
    args = parse_args(["quiz-profiles", "--group", "g", "--metrics-port", "9100"])
    assert (args.group, args.metrics_port) == ("g", 9100)
