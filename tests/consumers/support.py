"""The runner on the in-process broker: valid and broken messages, a runner with tiny
waits, and bounded waiting that polls every millisecond."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from consumers.memory import MemoryBroker
from consumers.processed import MemoryProcessedEvents, ProcessedEvents
from consumers.runner import ConsumerRunner, Handler, RunnerConfig
from consumers.transport import Partition, Transport

GROUP = "quiz"
TOPIC = "user.registered"


def registration(display_name: str = "Ada", event_id: str | None = None) -> dict[str, Any]:
    """A user.registered envelope as the auth service publishes it."""
    user_id, at = str(uuid.uuid4()), "2026-01-01T12:00:00.000Z"
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "urn:quizauth:auth-api",
        "type": "user.registered",
        "time": at,
        "subject": user_id,
        "datacontenttype": "application/json",
        "schemaversion": "1",
        "data": {
            "user_id": user_id,
            "email": f"{user_id[:8]}@example.com",
            "display_name": display_name,
            "registered_at": at,
        },
    }


def encoded(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope).encode()


def memory_runner(
    transport: Transport,
    handlers: Mapping[str, Handler],
    processed: ProcessedEvents | None = None,
    **tuning: Any,
) -> ConsumerRunner:
    """A runner whose every wait is a few milliseconds at most."""
    quick = {"max_attempts": 3, "retry_backoff_seconds": 0.001, "poll_timeout_seconds": 0.005}
    config = RunnerConfig(group_id=GROUP, **{**quick, **tuning})
    return ConsumerRunner(config, handlers, processed or MemoryProcessedEvents(), transport)


async def until(check: Callable[[], bool], what: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds}s waiting for {what}")
        await asyncio.sleep(0.001)


@asynccontextmanager
async def running(runner: ConsumerRunner) -> AsyncIterator[asyncio.Task[None]]:
    """The runner consumes in the background during the block, then stops; whatever made
    it fail surfaces here. The block may stop it itself and await the task."""
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: runner.started.is_set() or task.done(), "the runner to start")
        if task.done():
            task.result()
        yield task
    finally:
        runner.stop()
        async with asyncio.timeout(5):
            await task


def committed(broker: MemoryBroker, topic: str = TOPIC) -> int:
    """The sum of the group's committed offsets over the topic's partitions."""
    return sum(broker.committed(GROUP, p) or 0 for p in broker.topic_partitions(topic))


def all_committed(broker: MemoryBroker, topic: str = TOPIC) -> Callable[[], bool]:
    def done() -> bool:
        partitions = broker.topic_partitions(topic)
        return all((broker.committed(GROUP, p) or 0) == broker.end_offset(p) for p in partitions)

    return done


def headers_of(headers: tuple[tuple[str, bytes], ...]) -> dict[str, str]:
    return {key: value.decode() for key, value in headers}


def metric(runner: ConsumerRunner, name: str, **labels: str) -> float:
    value = runner.metrics.registry.get_sample_value(name, {"group": GROUP, **labels})
    return value or 0.0


def on_partition(number: int) -> Partition:
    return Partition(TOPIC, number)
