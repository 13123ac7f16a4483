"""The delivery guarantee: events recorded while Kafka is down, or by a process that was
killed before publishing, still reach Kafka, in order per user; readiness tells when
delivery is stuck."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from auth_api.app import create_app
from auth_api.settings import Settings
from infra.stack_lib.api import PrivateServer, free_port
from tests.conftest import running
from tests.events.processes import log_tail, process, service_environment, until_live
from tests.events.support import envelopes, outbox_drained, read_topic, validator
from tests.support.api import login, register, unique_email
from tests.support.polling import eventually
from tests.support.servers import Servers

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]


async def test_events_recorded_while_kafka_is_down_arrive_in_order_after_it_returns(
    real_settings: SettingsFactory, private_kafka: PrivateServer
) -> None:
    bootstrap = f"127.0.0.1:{private_kafka.port}"
    settings = real_settings(
        kafka_bootstrap=bootstrap, register_ip_limit=100, io_timeout_seconds=1.0
    )
    emails = [unique_email() for _ in range(20)]
    async with running(create_app(settings)) as api:
        private_kafka.stop()
        user_ids = []
        for email in emails:
            response = await register(api, email)
            assert response.status_code == 201, response.text
            user_ids.append(response.json()["id"])
        for email in emails[:10]:  # two logins each: an order to keep within the topic too
            for _ in range(2):
                assert (await login(api, email)).status_code == 200
        ready = (await api.get("/health/ready")).json()
        assert ready["outbox"]["backlog"] == 40
        private_kafka.start()
        await outbox_drained(api, seconds=30)

    prefix = settings.kafka_topic_prefix
    registered = await read_topic(bootstrap, prefix + "user.registered")
    logged_in = await read_topic(bootstrap, prefix + "user.logged_in")
    assert sorted(e["subject"] for e in envelopes(registered)) == sorted(user_ids)
    assert len(logged_in) == 20
    assert len({e["id"] for e in envelopes(registered + logged_in)}) == 40
    assert_in_order_per_user(registered, logged_in)


def assert_in_order_per_user(registered: list[Any], logged_in: list[Any]) -> None:
    """Each user's logins sit in one partition in the order they happened, and were
    published after (never before) the user's registration."""
    published_at = {record.key: record.timestamp for record in registered}
    logins: dict[bytes, list[Any]] = defaultdict(list)
    for record in logged_in:  # by partition and offset: each user's publication order
        logins[record.key].append(record)
    assert len(logins) == 10
    for key, records in logins.items():
        assert len({r.partition for r in records}) == 1
        times = [e["data"]["logged_in_at"] for e in envelopes(records)]
        assert times == sorted(times)
        assert published_at[key] <= records[0].timestamp


async def test_an_event_recorded_by_a_killed_process_is_published_after_restart(
    real_settings: SettingsFactory,
    servers: Servers,
    test_db: AsyncDatabase[dict[str, Any]],
    tmp_path: Path,
) -> None:
    settings = real_settings()
    log = tmp_path / "service.log"
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens: the event cannot leave
    port = free_port()
    serve = ["-m", "auth_api", "serve", "--port", str(port)]
    with process(serve, service_environment(settings, nowhere), log) as first:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await until_live(client, log)
            response = await register(client)
        assert response.status_code == 201, response.text
        user_id = response.json()["id"]
        stored = await test_db["users"].find_one({"_id": user_id})
        assert stored is not None
        assert [event["type"] for event in stored["outbox"]] == ["user.registered"]
        os.kill(first.pid, signal.SIGKILL)
        assert await asyncio.to_thread(first.wait, 10) == -signal.SIGKILL

    topic = settings.kafka_topic_prefix + "user.registered"
    with process(serve, service_environment(settings, servers.kafka_bootstrap), log):

        async def delivered() -> bool:
            return len(await read_topic(servers.kafka_bootstrap, topic)) > 0

        await eventually(delivered, 20, f"the event\n{log_tail(log)}")
    (record,) = await read_topic(servers.kafka_bootstrap, topic)
    (envelope,) = envelopes([record])
    validator("user.registered").validate(envelope)
    assert envelope["subject"] == user_id
    assert envelope["id"] == stored["outbox"][0]["id"]


async def test_readiness_reports_a_stale_backlog_and_stays_ready(
    real_settings: SettingsFactory,
) -> None:
    """Kafka away and events waiting is shared by every process: shown and alerted on,
    never a reason for the process to stop serving requests."""
    unreachable = f"127.0.0.1:{free_port()}"
    stuck = real_settings(
        kafka_bootstrap=unreachable, outbox_max_age_seconds=1, io_timeout_seconds=0.5
    )
    async with running(create_app(stuck)) as api:
        for _ in range(2):
            assert (await register(api)).status_code == 201
        assert (await api.get("/health/ready")).json()["outbox"]["backlog"] == 2

        async def stale() -> bool:
            outbox = (await api.get("/health/ready")).json()["outbox"]
            return bool(outbox["status"] == "stale")

        await eventually(stale, 10, "the backlog to be reported stale")
        ready = await api.get("/health/ready")
        body = ready.json()
    assert ready.status_code == 200, json.dumps(body)
    assert body["status"] == "ready"
    assert body["checks"] == {"startup": "ok", "mongodb": "ok", "redis": "ok"}
    assert body["degraded"] == []
    assert body["outbox"]["status"] == "stale"
    assert body["outbox"]["backlog"] == 2
    assert body["outbox"]["oldest_age_seconds"] > 1
    # The same data with a reachable Kafka: the backlog drains.
    async with running(create_app(real_settings(outbox_max_age_seconds=1))) as api:
        await outbox_drained(api)
        ready = await api.get("/health/ready")
    assert ready.status_code == 200, json.dumps(ready.json())
