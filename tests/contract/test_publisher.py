"""The contract every EventPublisher keeps, on the in-process twin and on the real
Kafka: topics made idempotently, a publish that returns once the message is stored,
per-key order, and a close that can be repeated and after which publishing resumes
(the relay carries on with the same publisher after a failure closed it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from auth_api.events.publisher import (
    EventPublisher,
    KafkaPublisher,
    MemoryPublisher,
    PublishedMessage,
    PublishFailed,
    UnreachablePublisher,
)
from infra.stack_lib.api import free_port
from quizauth_wire.topics import TopicShape
from tests.conftest import drop_test_topics
from tests.events.support import read_topic
from tests.support.servers import Servers


@dataclass
class Harness:
    """A publisher, its own topic prefix, and a way to read back what it stored."""

    publisher: EventPublisher
    prefix: str
    bootstrap: str | None = None

    def topic(self, name: str) -> str:
        return self.prefix + name

    async def stored(self, topic: str) -> list[PublishedMessage]:
        """What `topic` holds, by partition then offset: per key, in publication order."""
        if isinstance(self.publisher, MemoryPublisher):
            return [m for m in self.publisher.messages if m.topic == topic]
        assert self.bootstrap is not None
        records = await read_topic(self.bootstrap, topic)
        return [PublishedMessage(r.topic, r.key, r.value) for r in records]


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.integration)])
async def harness(
    request: pytest.FixtureRequest, isolation: dict[str, str]
) -> AsyncIterator[Harness]:
    prefix = isolation["kafka_topic_prefix"]
    if request.param == "memory":
        yield Harness(MemoryPublisher(), prefix)
        return
    servers: Servers = request.getfixturevalue("servers")
    # Two partitions, so that per-key order is more than the order of one log.
    publisher = KafkaPublisher(servers.kafka_bootstrap, timeout_seconds=5, shape=TopicShape(2))
    try:
        yield Harness(publisher, prefix, servers.kafka_bootstrap)
    finally:
        await publisher.close()
        await drop_test_topics(servers, prefix)


async def test_ensure_topics_can_be_repeated_and_run_concurrently(harness: Harness) -> None:
    first, second, third = (harness.topic(n) for n in ("one", "two", "three"))
    publisher = harness.publisher
    await publisher.ensure_topics([first, second])
    await publisher.ensure_topics([first, second])
    # Two service instances starting at once, one topic new to both.
    await asyncio.gather(
        publisher.ensure_topics([second, third]), publisher.ensure_topics([second, third])
    )
    for topic in (first, second, third):
        await publisher.publish(topic, b"k", topic.encode())
        assert await harness.stored(topic) == [PublishedMessage(topic, b"k", topic.encode())]


async def test_a_published_message_is_stored_when_publish_returns(harness: Harness) -> None:
    topic = harness.topic("user.registered")
    await harness.publisher.ensure_topics([topic])
    await harness.publisher.publish(topic, b"user-1", b'{"id":"e1"}')
    # No waiting: publish returned after the acknowledgement, so the message is there.
    assert await harness.stored(topic) == [PublishedMessage(topic, b"user-1", b'{"id":"e1"}')]


async def test_each_key_keeps_its_order_when_keys_are_published_concurrently(
    harness: Harness,
) -> None:
    topic = harness.topic("user.logged_in")
    await harness.publisher.ensure_topics([topic])
    keys = [f"user-{n}".encode() for n in range(4)]

    async def publish_in_order(key: bytes) -> None:
        # As the relay does: one user's events one after the other, users side by side.
        for number in range(8):
            await harness.publisher.publish(topic, key, key + b":%d" % number)

    await asyncio.gather(*map(publish_in_order, keys))
    stored = await harness.stored(topic)
    assert len(stored) == 32
    for key in keys:
        values = [m.value for m in stored if m.key == key]
        assert values == [key + b":%d" % n for n in range(8)]


async def test_close_can_be_repeated_and_a_closed_publisher_publishes_again(
    harness: Harness,
) -> None:
    topic = harness.topic("user.logged_out")
    await harness.publisher.ensure_topics([topic])
    await harness.publisher.publish(topic, b"k", b"before")
    await harness.publisher.close()
    await harness.publisher.close()
    await harness.publisher.publish(topic, b"k", b"after")
    assert [m.value for m in await harness.stored(topic)] == [b"before", b"after"]


@pytest.mark.parametrize("unreachable", ["no_broker_configured", "nothing_listening"])
async def test_without_a_broker_every_call_fails_with_publish_failed(unreachable: str) -> None:
    """What the relay counts on to keep the event in the outbox and retry later."""
    publisher: EventPublisher = (
        UnreachablePublisher()
        if unreachable == "no_broker_configured"
        else KafkaPublisher(f"127.0.0.1:{free_port()}", timeout_seconds=1, shape=TopicShape(1))
    )
    with pytest.raises(PublishFailed):
        await publisher.ensure_topics(["t"])
    with pytest.raises(PublishFailed):
        await publisher.publish("t", b"k", b"v")
    await publisher.close()
    await publisher.close()
