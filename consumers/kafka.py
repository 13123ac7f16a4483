"""The runner's transport on Kafka (aiokafka), and the topic creation it shares with
the tail tool."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from consumers.dead_letters import dlq_topic
from consumers.transport import CommitFailed, Headers, Partition, PartitionsRevoked, Record
from quizauth_wire.topics import TopicShape, refused_topics

log = logging.getLogger(__name__)


class TopicCreationFailed(Exception):
    """Kafka could not be asked, or refused to create a topic the consumer reads or
    dead-letters to. The consumer does not start: a dead-letter topic the broker made
    on first use would have the broker's default replication, not the configured one."""


async def ensure_topics(
    bootstrap: str, topics: list[str], timeout_ms: int, shape: TopicShape
) -> None:
    """Create the missing topics in `shape`, as the auth service does. A consumer
    subscribed to a topic that does not exist yet would only notice it at its next
    metadata refresh."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(t, shape.partitions, shape.replication_factor, topic_configs=shape.configs)
            for t in topics
            if t not in existing
        ]
        refused = await _create(admin, missing) if missing else {}
    except (KafkaError, OSError) as exc:
        raise TopicCreationFailed(f"cannot create topics {topics}: {exc!r}") from exc
    finally:
        await admin.close()
    if refused:
        raise TopicCreationFailed("; ".join(f"{t}: {why}" for t, why in sorted(refused.items())))


async def _create(admin: AIOKafkaAdminClient, topics: list[NewTopic]) -> dict[str, str]:
    # The answer carries one error code per topic and does not raise for them.
    response = await admin.create_topics(topics)
    return refused_topics(response.topic_errors)


def as_record(message: Any) -> Record:
    """aiokafka's ConsumerRecord, reduced to what the runner reads."""
    return Record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=tuple(message.headers),
    )


class KafkaRecordSource:
    """A member of the consumer group, committing by hand only."""

    def __init__(
        self,
        bootstrap: str,
        topics: Sequence[str],
        group_id: str,
        timeout_ms: int,
        shape: TopicShape,
    ) -> None:
        self._bootstrap = bootstrap
        self._topics = list(topics)
        self._timeout_ms = timeout_ms
        self._shape = shape
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=group_id,
            client_id=f"{group_id}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a new group starts from the first event
            metadata_max_age_ms=30_000,  # partitions added to a topic are read within 30 s
        )

    async def start(self) -> None:
        # The dead-letter topics too, in the same round trip: a letter must not wait
        # for the broker to create its topic.
        topics = [*self._topics, *map(dlq_topic, self._topics)]
        await ensure_topics(self._bootstrap, topics, self._timeout_ms, self._shape)
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def poll(self, timeout_seconds: float, max_records: int) -> dict[Partition, list[Record]]:
        batches = await self._consumer.getmany(
            timeout_ms=int(timeout_seconds * 1000), max_records=max_records
        )
        return {
            Partition(tp.topic, tp.partition): [as_record(m) for m in messages]
            for tp, messages in batches.items()
        }

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        try:
            await self._consumer.commit({TopicPartition(*p): o for p, o in offsets.items()})
        except CommitFailedError as exc:
            raise PartitionsRevoked(repr(exc)) from exc
        except KafkaError as exc:
            raise CommitFailed(repr(exc)) from exc

    async def lags(self) -> dict[Partition, int]:
        lags: dict[Partition, int] = {}
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is None:  # not fetched from yet
                continue
            with contextlib.suppress(IllegalStateError):  # revoked meanwhile
                position = await self._consumer.position(tp)
                lags[Partition(tp.topic, tp.partition)] = max(0, highwater - position)
        return lags


class KafkaDeadLetterSink:
    """Sends failed messages to `<topic>.dlq`, key and value unchanged, acknowledged by
    every in-sync replica: the source offset is committed only after that ack."""

    def __init__(self, bootstrap: str, timeout_ms: int) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=timeout_ms,
            client_id="quizauth-consumer-dlq",
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, record: Record, headers: Headers) -> None:
        await self._producer.send_and_wait(
            dlq_topic(record.topic), value=record.value, key=record.key, headers=list(headers)
        )


class KafkaTransport:
    """The runner on a Kafka cluster; `io_timeout_seconds` bounds each broker request,
    and missing topics are created in `shape`."""

    def __init__(
        self, bootstrap: str, io_timeout_seconds: float = 5.0, shape: TopicShape | None = None
    ) -> None:
        self._bootstrap = bootstrap
        self._timeout_ms = int(io_timeout_seconds * 1000)
        self._shape = shape or TopicShape()

    def source(self, topics: Sequence[str], group_id: str) -> KafkaRecordSource:
        return KafkaRecordSource(self._bootstrap, topics, group_id, self._timeout_ms, self._shape)

    def dead_letters(self) -> KafkaDeadLetterSink:
        return KafkaDeadLetterSink(self._bootstrap, self._timeout_ms)
