"""The runner's transport on Kafka (aiokafka), and the topic creation it shares with
the tail tool."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaError,
    TopicAlreadyExistsError,
)

from consumers.dead_letters import dlq_topic
from consumers.transport import CommitFailed, Headers, Partition, PartitionsRevoked, Record

log = logging.getLogger(__name__)

# The auth service creates its topics with 3 partitions; missing ones are made alike.
PARTITIONS = 3


async def ensure_topics(bootstrap: str, topics: list[str], timeout_ms: int) -> None:
    """Create the missing topics. A consumer subscribed to a topic that does not exist
    yet would only notice it at its next metadata refresh."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, PARTITIONS, 1) for t in topics if t not in existing]
        if missing:
            await admin.create_topics(missing)
    except TopicAlreadyExistsError:
        pass  # someone else created it in between
    except KafkaError as exc:
        # Not fatal: the topics may exist, or be created by the broker on first use.
        log.warning("could not create topics %s: %r", topics, exc)
    finally:
        await admin.close()


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
        self, bootstrap: str, topics: Sequence[str], group_id: str, timeout_ms: int
    ) -> None:
        self._bootstrap = bootstrap
        self._topics = list(topics)
        self._timeout_ms = timeout_ms
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
        await ensure_topics(self._bootstrap, topics, self._timeout_ms)
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
    """The runner on a Kafka cluster; `io_timeout_seconds` bounds each broker request."""

    def __init__(self, bootstrap: str, io_timeout_seconds: float = 5.0) -> None:
        self._bootstrap = bootstrap
        self._timeout_ms = int(io_timeout_seconds * 1000)

    def source(self, topics: Sequence[str], group_id: str) -> KafkaRecordSource:
        return KafkaRecordSource(self._bootstrap, topics, group_id, self._timeout_ms)

    def dead_letters(self) -> KafkaDeadLetterSink:
        return KafkaDeadLetterSink(self._bootstrap, self._timeout_ms)
