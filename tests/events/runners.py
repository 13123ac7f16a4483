"""Running consumers inside a test: a runner in a task, its metrics, its commits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from consumers.kafka import KafkaTransport
from consumers.processed import ProcessedEvents
from consumers.runner import ConsumerRunner, Handler, RunnerConfig


def quick_runner(
    bootstrap: str,
    prefix: str,
    handlers: Mapping[str, Handler],
    processed: ProcessedEvents,
    **tuning: Any,
) -> ConsumerRunner:
    """A runner with short waits: its own group, quick polls and retries."""
    config = RunnerConfig(
        group_id=f"{prefix}quiz",
        topic_prefix=prefix,
        **{"max_attempts": 3, "retry_backoff_seconds": 0.01, "poll_timeout_seconds": 0.2, **tuning},
    )
    return ConsumerRunner(config, handlers, processed, KafkaTransport(bootstrap))


@asynccontextmanager
async def consuming(runner: ConsumerRunner) -> AsyncIterator[ConsumerRunner]:
    """The runner consumes in the background until the block ends; then it stops
    gracefully, and whatever made it fail surfaces here. The block starts once the
    runner's topics exist and it has joined its group."""
    task = asyncio.create_task(runner.run())
    started = asyncio.create_task(runner.started.wait())
    try:
        async with asyncio.timeout(15):
            await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # it failed to start: show why
        yield runner
    finally:
        started.cancel()
        runner.stop()
        async with asyncio.timeout(15):
            await task


def metric(runner: ConsumerRunner, name: str, **labels: str) -> float:
    labels.setdefault("group", runner.group_id)
    value = runner.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


def done_with(runner: ConsumerRunner, topic: str) -> float:
    """Messages of `topic` handled, skipped as duplicates, or dead-lettered."""
    name = "auth_events_consumer_messages_processed_total"
    finished = sum(metric(runner, name, topic=topic, outcome=o) for o in ("handled", "duplicate"))
    letters = "auth_events_consumer_dead_letters_total"
    reasons = ("malformed", "invalid", "handler_failed")
    return finished + sum(metric(runner, letters, topic=topic, reason=r) for r in reasons)


async def committed(bootstrap: str, group: str, topic: str, partitions: int = 3) -> int:
    """The sum of the group's committed offsets over the topic's partitions."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    try:
        await consumer.start()
        offsets = [await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)]
    finally:
        await consumer.stop()
    return sum(offset or 0 for offset in offsets)
