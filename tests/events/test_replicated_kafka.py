"""On the clustered topology's Kafka (three brokers): topics are made with the configured
replication, and a broker killed under load loses no event. Replication factor 3 with
min.insync.replicas 2 means an event is acknowledged only once two brokers hold it, so
losing any one broker loses no acknowledged event, and the two left still accept writes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from fastapi import FastAPI
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
    DeliveryWatch,
    RecordingOutbox,
    UserFlow,
    copies_by_event,
    duplicate_firsts,
    extra_copies,
    leader_of,
    mismatches,
    order_breaks,
    paced_users,
    recording_backends,
    replication,
    unexplained_duplicates,
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
        partitions = await described(bootstrap, topic)
        assert len(partitions) == 3
        assert all(len(replicas) == 3 for replicas, _ in partitions.values())
        assert await settled_min_insync_of(bootstrap, topic) == "2"


async def settled_min_insync_of(bootstrap: str, topic: str) -> str:
    """The topic's min.insync.replicas, once the broker asked reports it: like its
    partitions, a new topic's configuration reaches the brokers a moment later."""
    found: list[str] = []

    async def reported() -> bool:
        try:
            found.append(await min_insync_of(bootstrap, topic))
        except ValueError:  # not among the configs the broker answered with yet
            return False
        return True

    await eventually(reported, 30, f"the brokers to report {topic}'s min.insync.replicas")
    return found[-1]


async def described(bootstrap: str, topic: str) -> dict[tuple[str, int], Any]:
    """The topic's partitions, once the broker asked has learnt of the new topic: the
    controller tells the brokers a moment after it answered the creation."""
    found: dict[tuple[str, int], Any] = {}

    async def known() -> bool:
        found.update(await replication(bootstrap, [topic]))
        return bool(found)

    await eventually(known, 30, f"the brokers to know {topic}")
    return found


@dataclass
class Run:
    """What happened to one app under load while a broker was killed."""

    flows: list[UserFlow]
    recorder: RecordingOutbox
    watch: DeliveryWatch
    victim_id: int
    killed_at: float  # wall time

    @property
    def victim(self) -> str:
        return f"kafka-{self.victim_id}"


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
    recorders: list[RecordingOutbox] = []
    monkeypatch.setattr(container_module, "connected_backends", recording_backends(recorders))
    run = await load_with_a_broker_killed(create_app(settings), recorders, kafka_cluster)
    figures = await restart_the_broker(kafka_cluster, run, settings.kafka_topic_prefix)
    topics = [topic_for(t, settings.kafka_topic_prefix) for t in EventType]
    records = [r for topic in topics for r in await read_topic(bootstrap, topic, seconds=30)]
    copies = copies_by_event(records, lambda value: str(json.loads(value)["id"]))
    figures.update(
        killed=run.victim,
        recorded=len(run.recorder.events),
        delivered=len(copies),
        messages=len(records),
        duplicated_events=len(duplicate_firsts(copies)),
        extra_copies=extra_copies(copies),
        publish_failures_before_kill=run.watch.failures_until(run.killed_at),
    )
    print(f"\nbroker kill: {json.dumps(figures)}")  # the figures docs/scaling.md quotes

    assert [f.statuses for f in run.flows if not f.succeeded] == [], "requests wait for no broker"
    assert await outbox_left(settings) == 0
    assert_recorded_as_requested(run.recorder, run.flows)
    assert list(mismatches(run.recorder.events, copies, settings.kafka_topic_prefix)) == []
    assert list(order_breaks(run.recorder.order, copies)) == []
    failures = run.watch.failure_times()
    assert unexplained_duplicates(copies, failures, IO_TIMEOUT_SECONDS) == [], failures


async def load_with_a_broker_killed(
    app: FastAPI, recorders: list[RecordingOutbox], cluster: PrivateCluster
) -> Run:
    """USERS users over LOAD_SECONDS; halfway, SIGKILL to the broker leading partition 0
    of user.logged_in; then wait until everything recorded has been delivered."""
    bootstrap = bootstrap_of(cluster)
    async with running(app) as api:
        settings: Settings = app.state.container.settings
        relay = app.state.container.relay

        async def topics_made() -> bool:
            return bool((await api.get("/health/ready")).json()["topics"] == "ok")

        await eventually(topics_made, 30, "the relay to create its replicated topics")
        victim_id = await known_leader(
            bootstrap, topic_for(EventType.USER_LOGGED_IN, settings.kafka_topic_prefix)
        )
        (recorder,) = recorders
        watch = DeliveryWatch(recorder, lambda: int(relay.failed))
        watching = asyncio.create_task(watch.run())
        load = asyncio.create_task(paced_users(api, USERS, LOAD_SECONDS))
        await asyncio.sleep(LOAD_SECONDS / 2)
        killed_at = time.time()
        await asyncio.to_thread(cluster.kill, f"kafka-{victim_id}")
        flows = await load

        async def drained() -> bool:
            return bool((await recorder.backlog())[0] == 0)

        await eventually(drained, 90, "the outbox to drain with one broker down")
        watch.stop()
        await watching
    return Run(flows, recorder, watch, victim_id, killed_at)


async def known_leader(bootstrap: str, topic: str) -> int:
    """Partition 0's leader, once the broker asked knows the new topic."""
    leaders: list[int | None] = []

    async def known() -> bool:
        leaders.append(await leader_of(bootstrap, topic))
        return leaders[-1] is not None

    await eventually(known, 30, f"a leader for {topic}")
    return int(leaders[-1] or 0)


async def restart_the_broker(cluster: PrivateCluster, run: Run, prefix: str) -> dict[str, Any]:
    """Start the killed broker again and wait until it is back in every in-sync set;
    the delivery figures of the run and the restart's."""
    killed_at, watch = run.killed_at, run.watch
    figures: dict[str, Any] = {
        "stalled_s": round(watch.caught_up_at(killed_at) - killed_at, 1),
        "longest_wait_s": round(watch.longest_wait(since=killed_at), 1),
        "longest_wait_before_kill_s": round(watch.longest_wait(until=killed_at), 1),
    }
    began = time.monotonic()
    await asyncio.to_thread(cluster.start, run.victim)
    figures["restart_s"] = round(time.monotonic() - began, 1)
    topics = [topic_for(t, prefix) for t in EventType]
    bootstrap = bootstrap_of(cluster)

    async def back_in_sync() -> bool:
        partitions = await replication(bootstrap, topics)
        every = len(partitions) == len(topics) * REPLICATED.partitions
        return every and all(run.victim_id in isr for _, isr in partitions.values())

    await eventually(back_in_sync, 60, f"{run.victim} to rejoin every partition's in-sync set")
    figures["in_sync_again_s"] = round(time.monotonic() - began, 1)
    return figures


async def outbox_left(settings: Settings) -> int:
    assert settings.mongo_url is not None
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    try:
        users = mongo[settings.mongo_db]["users"]
        return await users.count_documents({"outbox.id": {"$exists": True}})
    finally:
        await mongo.close()


def assert_recorded_as_requested(recorder: RecordingOutbox, flows: list[UserFlow]) -> None:
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
