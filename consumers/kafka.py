"""Kafka plumbing shared by the runner and the tail tool: topics and the DLQ producer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

log = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"
# The auth service creates its topics with 3 partitions; missing ones are made alike.
PARTITIONS = 3


def dlq_topic(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


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


def dead_letter_headers(
    record: Any, reason: str, error: str, group: str, attempts: int
) -> list[tuple[str, bytes]]:
    """The original headers, then why and where from the message failed."""
    failure = {
        "dlq.reason": reason,
        "dlq.error": error[:2000],
        "dlq.original_topic": record.topic,
        "dlq.original_partition": str(record.partition),
        "dlq.original_offset": str(record.offset),
        "dlq.consumer_group": group,
        "dlq.attempts": str(attempts),
        "dlq.failed_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    return [*record.headers, *((k, v.encode()) for k, v in failure.items())]


class DeadLetterProducer:
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

    async def send(self, record: Any, headers: list[tuple[str, bytes]]) -> None:
        await self._producer.send_and_wait(
            dlq_topic(record.topic), value=record.value, key=record.key, headers=headers
        )
