"""The contract of the runner's transport, on the in-process twin and on the real
Kafka: the unit tests of the runner (tests/consumers/) hold for Kafka only as far as
the twin keeps the rules checked here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiokafka import AIOKafkaProducer

from consumers.dead_letters import dlq_topic
from consumers.kafka import KafkaTransport, ensure_topics
from consumers.memory import MemoryBroker
from consumers.transport import Headers, Partition, Record, RecordSource, Transport
from quizauth_wire.topics import TopicShape
from tests.conftest import drop_test_topics
from tests.support.servers import Servers


@dataclass
class Harness:
    transport: Transport
    prefix: str
    broker: MemoryBroker | None = None
    bootstrap: str | None = None

    async def create(self, topic: str) -> None:
        if self.broker is not None:
            self.broker.create_topic(topic)
        else:
            assert self.bootstrap is not None
            await ensure_topics(self.bootstrap, [topic], timeout_ms=5000, shape=TopicShape())

    async def publish(self, topic: str, partition: int, key: bytes, value: bytes) -> None:
        headers: Headers = (("trace", key),)
        if self.broker is not None:
            self.broker.publish(topic, key, value, headers, partition=partition)
            return
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        try:
            await producer.start()
            await producer.send_and_wait(
                topic, value, key, partition=partition, headers=list(headers)
            )
        finally:
            await producer.stop()


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.integration)])
async def harness(
    request: pytest.FixtureRequest, isolation: dict[str, str]
) -> AsyncIterator[Harness]:
    prefix = isolation["kafka_topic_prefix"]
    if request.param == "memory":
        broker = MemoryBroker()
        yield Harness(broker, prefix, broker=broker)
        return
    servers: Servers = request.getfixturevalue("servers")
    try:
        yield Harness(
            KafkaTransport(servers.kafka_bootstrap), prefix, bootstrap=servers.kafka_bootstrap
        )
    finally:
        await drop_test_topics(servers, prefix)


async def collect(source: RecordSource, count: int) -> list[Record]:
    """Poll until `count` records came, by partition then offset; fails after 20 s."""
    records: list[Record] = []
    async with asyncio.timeout(20):
        while len(records) < count:
            for batch in (await source.poll(0.2, 100)).values():
                records += batch
    return sorted(records, key=lambda r: (r.partition, r.offset))


async def test_a_group_reads_from_the_first_record_in_order_then_resumes_after_its_commit(
    harness: Harness,
) -> None:
    topic, group = harness.prefix + "user.registered", f"{harness.prefix}group"
    await harness.create(topic)
    for partition, key in [(0, b"a0"), (1, b"b0"), (0, b"a1"), (0, b"a2"), (1, b"b1")]:
        await harness.publish(topic, partition, key, b"value of " + key)
    source = harness.transport.source([topic], group)
    try:
        await source.start()
        records = await collect(source, 5)
        lags = await source.lags()
        await source.commit({Partition(topic, 0): 2, Partition(topic, 1): 2})
    finally:
        await source.stop()

    assert [(r.partition, r.offset, r.key) for r in records] == [
        (0, 0, b"a0"), (0, 1, b"a1"), (0, 2, b"a2"), (1, 0, b"b0"), (1, 1, b"b1"),
    ]  # fmt: skip
    assert all(r.topic == topic and r.value == b"value of " + r.key for r in records if r.key)
    assert all(r.headers == (("trace", r.key),) for r in records)
    assert lags[Partition(topic, 0)] == 0
    assert lags[Partition(topic, 1)] == 0

    again = harness.transport.source([topic], group)
    try:
        await again.start()
        (rest,) = await collect(again, 1)
    finally:
        await again.stop()
    assert (rest.partition, rest.offset, rest.key) == (0, 2, b"a2")


async def test_dead_letters_keep_key_and_value_and_carry_the_headers(harness: Harness) -> None:
    topic = harness.prefix + "user.logged_in"
    # Starting a source creates the topic and its dead-letter topic.
    starter = harness.transport.source([topic], f"{harness.prefix}starter")
    await starter.start()
    await starter.stop()
    failed = Record(topic, 1, 7, b"user-1", b"{not json", (("trace", b"t1"),))
    headers: Headers = (("trace", b"t1"), ("dlq.reason", b"malformed"))
    sink = harness.transport.dead_letters()
    try:
        await sink.start()
        await sink.send(failed, headers)
    finally:
        await sink.stop()

    reader = harness.transport.source([dlq_topic(topic)], f"{harness.prefix}{uuid.uuid4().hex}")
    try:
        await reader.start()
        (letter,) = await collect(reader, 1)
    finally:
        await reader.stop()
    assert (letter.topic, letter.key, letter.value) == (dlq_topic(topic), b"user-1", b"{not json")
    assert letter.headers == headers
