"""Where the relay sends events: Kafka, or an in-process list in embedded mode."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

log = logging.getLogger(__name__)


class PublishFailed(Exception):
    """The broker did not acknowledge; the event stays in the outbox."""


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
    def __init__(self, bootstrap: str, timeout_seconds: float, partitions: int) -> None:
        self._bootstrap = bootstrap
        self._partitions = partitions
        self._timeout_ms = max(1000, int(timeout_seconds * 1000))
        self._producer: AIOKafkaProducer | None = None
        self._started = False
        self._start_lock = asyncio.Lock()

    async def ensure_topics(self, topics: list[str]) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap, request_timeout_ms=self._timeout_ms
        )
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [
                NewTopic(t, num_partitions=self._partitions, replication_factor=1)
                for t in topics
                if t not in existing
            ]
            if missing:
                await admin.create_topics(missing)
        except TopicAlreadyExistsError:
            pass  # another instance created it first
        except (KafkaError, OSError) as exc:
            raise PublishFailed(f"cannot create topics: {exc!r}") from exc
        finally:
            await admin.close()

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
