"""Where the relay sends events: Kafka, or an in-process list in embedded mode."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from quizauth_wire.topics import TopicShape, refused_topics

log = logging.getLogger(__name__)


class PublishFailed(Exception):
    """The broker did not acknowledge; the event stays in the outbox."""


class TopicsRefused(PublishFailed):
    """The broker answered, and refused to create topics: a configuration error (say a
    replication factor above the number of brokers), not an outage. Nothing is
    delivered until the topics exist; readiness reports it."""


class EventPublisher(Protocol):
    async def ensure_topics(self, topics: list[str]) -> None: ...

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        """Return only once the broker has acknowledged the message."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class PublishedMessage:
    topic: str
    key: bytes
    value: bytes


@dataclass
class MemoryPublisher:
    """Embedded mode's broker: keeps what was published, for inspection."""

    messages: list[PublishedMessage] = field(default_factory=list)

    async def ensure_topics(self, topics: list[str]) -> None:
        return None

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        self.messages.append(PublishedMessage(topic, key, value))

    async def close(self) -> None:
        return None


class UnreachablePublisher:
    """No broker configured: events stay in the outbox until one is."""

    async def ensure_topics(self, topics: list[str]) -> None:
        raise PublishFailed("no Kafka configured (AUTH_KAFKA_BOOTSTRAP)")

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        raise PublishFailed("no Kafka configured (AUTH_KAFKA_BOOTSTRAP)")

    async def close(self) -> None:
        return None


def producer_config(bootstrap: str, timeout_ms: int) -> dict[str, object]:
    """Durability first: every in-sync replica acknowledges, and retries never duplicate
    or reorder within a partition. aiokafka's defaults (acks=1, no idempotence) do not."""
    return {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "request_timeout_ms": timeout_ms,
        "linger_ms": 2,
        # While the broker is down each send retries until request_timeout_ms; at the
        # default 100 ms that is a reconnect storm. The relay's own backoff does the rest.
        "retry_backoff_ms": 500,
        "client_id": "quizauth-outbox-relay",
    }


class KafkaPublisher:
    def __init__(self, bootstrap: str, timeout_seconds: float, shape: TopicShape) -> None:
        self._bootstrap = bootstrap
        self._shape = shape
        self._timeout_ms = max(1000, int(timeout_seconds * 1000))
        self._producer: AIOKafkaProducer | None = None
        self._started = False
        self._start_lock = asyncio.Lock()

    async def ensure_topics(self, topics: list[str]) -> None:
        """Create the missing topics in `shape`; TopicsRefused names each one the broker
        would not create. A topic that exists is left as it is (another instance may
        have just made it); one with fewer replicas than asked for is logged."""
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap, request_timeout_ms=self._timeout_ms
        )
        try:
            await admin.start()
            existing = {t["topic"]: t for t in await admin.describe_topics()}
            missing = [t for t in topics if t not in existing]
            refused = await self._create(admin, missing) if missing else {}
        except (KafkaError, OSError) as exc:
            raise PublishFailed(f"cannot create topics: {exc!r}") from exc
        finally:
            await admin.close()
        if refused:
            raise TopicsRefused("; ".join(f"{t}: {why}" for t, why in sorted(refused.items())))
        for topic in topics:
            if topic in existing:
                warn_if_under_replicated(existing[topic], self._shape.replication_factor)

    async def _create(self, admin: AIOKafkaAdminClient, topics: list[str]) -> dict[str, str]:
        shape = self._shape
        new = [
            NewTopic(t, shape.partitions, shape.replication_factor, topic_configs=shape.configs)
            for t in topics
        ]
        # The answer carries one error code per topic and does not raise for them.
        response = await admin.create_topics(new)
        return refused_topics(response.topic_errors)

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        try:
            producer = await self._started_producer()
            await producer.send_and_wait(topic, value=value, key=key)
        except (KafkaError, OSError) as exc:
            # A fresh producer next time: cheaper than reasoning about a broken one.
            await self.close()
            raise PublishFailed(repr(exc)) from exc

    async def close(self) -> None:
        producer, self._producer, self._started = self._producer, None, False
        if producer is not None:
            try:
                await producer.stop()
            except (KafkaError, OSError):
                log.debug("producer stop failed", exc_info=True)

    async def _started_producer(self) -> AIOKafkaProducer:
        async with self._start_lock:  # concurrent publishes must not start it twice
            if self._producer is None:
                # Kept before start() so close() can stop it if start() is interrupted.
                config = producer_config(self._bootstrap, self._timeout_ms)
                self._producer, self._started = AIOKafkaProducer(**config), False
            if not self._started:
                await self._producer.start()
                self._started = True
            return self._producer


def warn_if_under_replicated(metadata: dict[str, Any], wanted: int) -> None:
    """An existing topic keeps the replication it was created with: Kafka does not raise
    it when the setting changes. Say so, once per start, rather than trust it silently."""
    replicas = [len(p["replicas"]) for p in metadata.get("partitions", [])]
    if replicas and min(replicas) < wanted:
        log.warning(
            "topic %s has %d replica(s) per partition, fewer than"
            " AUTH_KAFKA_REPLICATION_FACTOR=%d; reassign its partitions to raise it",
            metadata["topic"],
            min(replicas),
            wanted,
        )
