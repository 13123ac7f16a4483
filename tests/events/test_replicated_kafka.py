"""On the clustered topology's Kafka (three brokers): topics are made with the configured
replication, and a broker killed under load loses no event. Replication factor 3 with
min.insync.replicas 2 means an event is acknowledged only once two brokers hold it, so
losing any one broker loses no acknowledged event, and the two left still accept writes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from pymongo import AsyncMongoClient

from auth_api import container as container_module
from auth_api.app import create_app
from auth_api.events.publisher import KafkaPublisher
from auth_api.model.events import EventType
from auth_api.settings import Settings
from consumers.kafka import ensure_topics
from infra.stack_lib.api import PrivateCluster
from quizauth_wire import topic_for
from quizauth_wire.topics import TopicShape
from tests.conftest import running
from tests.events.broker_kill import (
    OutboxWatch,
    RecordingOutbox,
    copies_by_event,
    duplicate_firsts,
    extra_copies,
    leader_of,
    mismatches,
    order_breaks,
    paced_users,
    recording_backends,
    replication,
)
from tests.events.support import read_topic
from tests.support.polling import eventually

pytestmark = pytest.mark.integration
SettingsFactory = Callable[..., Settings]
REPLICATED = TopicShape(partitions=3, replication_factor=3, min_insync_replicas=2)
# The load: 200 users over 20 s, each registering, logging in twice and logging out.
USERS, LOAD_SECONDS = 200, 20.0
# Long enough that a produce on a busy two-core machine does not time out while every
# broker is up: a timeout resends, and the copies it makes belong to the fault alone.
IO_TIMEOUT_SECONDS = 5.0


def bootstrap_of(cluster: PrivateCluster) -> str:
    return cluster.client_env()["AUTH_KAFKA_BOOTSTRAP"]


async def min_insync_of(bootstrap: str, topic: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, {"min.insync.replicas": None})
        (response,) = await admin.describe_configs([resource])
    finally:
        await admin.close()
    ((_, _, _, _, configs),) = response.resources
    (value,) = (entry[1] for entry in configs if entry[0] == "min.insync.replicas")
    return str(value)


async def test_the_relay_and_the_consumer_make_their_topics_replicated(
    kafka_cluster: PrivateCluster, isolation: dict[str, str]
) -> None:
    bootstrap = bootstrap_of(kafka_cluster)
    assert bootstrap.count(",") == 2, "the bootstrap list names all three brokers"
    events, letters = isolation["kafka_topic_prefix"] + "events", "letters.dlq"
    publisher = KafkaPublisher(bootstrap, 5, REPLICATED)
    try:
        await publisher.ensure_topics([events])
    finally:
        await publisher.close()
    await ensure_topics(bootstrap, [isolation["kafka_topic_prefix"] + letters], 5000, REPLICATED)
    for topic in (events, isolation["kafka_topic_prefix"] + letters):
        partitions = await replication(bootstrap, [topic])
        assert len(partitions) == 3
        assert all(len(replicas) == 3 for replicas, _ in partitions.values())
        assert await min_insync_of(bootstrap, topic) == "2"


async def test_a_broker_killed_under_load_loses_no_event(
    real_settings: SettingsFactory,
    kafka_cluster: PrivateCluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bootstrap = bootstrap_of(kafka_cluster)
    settings = real_settings(
        kafka_bootstrap=bootstrap,
        kafka_topic_partitions=REPLICATED.partitions,
        kafka_replication_factor=REPLICATED.replication_factor,
        kafka_min_insync_replicas=REPLICATED.min_insync_replicas,
        io_timeout_seconds=IO_TIMEOUT_SECONDS,
        register_ip_limit=10_000,
        register_global_limit=10_000,
        login_ip_limit=10_000,
    )
    prefix = settings.kafka_topic_prefix
    topics = [topic_for(t, prefix) for t in EventType]
    recorders: list[RecordingOutbox] = []
    monkeypatch.setattr(container_module, "connected_backends", recording_backends(recorders))
    figures: dict[str, Any] = {}
    async with running(create_app(settings)) as api:

        async def topics_made() -> bool:
            return bool((await api.get("/health/ready")).json()["topics"] == "ok")

        await eventually(topics_made, 30, "the relay to create its replicated topics")
        (recorder,) = recorders
        victim_id = await leader_of(bootstrap, topic_for(EventType.USER_LOGGED_IN, prefix))
        victim = f"kafka-{victim_id}"
        watch = OutboxWatch(recorder)
        watching = asyncio.create_task(watch.run())
        load = asyncio.create_task(paced_users(api, USERS, LOAD_SECONDS))
        await asyncio.sleep(LOAD_SECONDS / 2)
        killed_at = time.time()
        await asyncio.to_thread(kafka_cluster.kill, victim)
        flows = await load

        async def drained() -> bool:
            return bool((await recorder.backlog())[0] == 0)

        await eventually(drained, 90, "the outbox to drain with one broker down")
        watch.stop()
        await watching
        figures["stalled_s"] = round(watch.caught_up_at(killed_at) - killed_at, 1)
        figures["longest_wait_s"] = round(watch.longest_wait(since=killed_at), 1)
        figures["longest_wait_before_kill_s"] = round(watch.longest_wait(until=killed_at), 1)
    restart_began = time.monotonic()
    await asyncio.to_thread(kafka_cluster.start, victim)
    figures["restart_s"] = round(time.monotonic() - restart_began, 1)

    async def back_in_sync() -> bool:
        return all(victim_id in isr for _, isr in (await replication(bootstrap, topics)).values())

    await eventually(back_in_sync, 60, f"{victim} to rejoin every partition's in-sync set")
    figures["in_sync_again_s"] = round(time.monotonic() - restart_began, 1)

    assert [f.statuses for f in flows if not f.succeeded] == [], "requests never wait for Kafka"
    assert await outbox_left(settings) == 0
    assert_recorded_as_requested(recorder, flows)
    records = [r for topic in topics for r in await read_topic(bootstrap, topic, seconds=30)]
    copies = copies_by_event(records, lambda value: str(json.loads(value)["id"]))
    assert list(mismatches(recorder.events, copies, prefix)) == []
    assert list(order_breaks(recorder.order, copies)) == []
    # Copies are made only by resending an event whose acknowledgement the fault took:
    # the first of them was appended while the broker was going or gone.
    disturbed = (
        (killed_at - IO_TIMEOUT_SECONDS) * 1000,
        (killed_at + figures["stalled_s"] + 1) * 1000,
    )
    outside = [
        c for c in duplicate_firsts(copies) if not disturbed[0] <= c.timestamp_ms <= disturbed[1]
    ]
    assert outside == [], "a duplicate in the steady state"
    figures.update(
        killed=victim,
        recorded=len(recorder.events),
        delivered=len(copies),
        messages=len(records),
        duplicated_events=len(duplicate_firsts(copies)),
        extra_copies=extra_copies(copies),
    )
    print(f"\nbroker kill: {json.dumps(figures)}")  # the figures docs/scaling.md quotes


async def outbox_left(settings: Settings) -> int:
    assert settings.mongo_url is not None
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    try:
        users = mongo[settings.mongo_db]["users"]
        return await users.count_documents({"outbox.id": {"$exists": True}})
    finally:
        await mongo.close()


def assert_recorded_as_requested(recorder: RecordingOutbox, flows: list[Any]) -> None:
    """The relay saw each user's four events, in the order the requests made them."""
    assert len(recorder.events) == 4 * len(flows)
    for flow in flows:
        events = [recorder.events[i] for i in recorder.order[flow.user_id]]
        assert [str(e.type) for e in events] == [
            "user.registered",
            "user.logged_in",
            "user.logged_in",
            "user.logged_out",
        ]
        assert [e.data["session_id"] for e in events[1:3]] == flow.session_ids
