"""A consumer group that hands each auth event to a handler, at least once.

- Offsets are committed by hand, per batch, once every message of the batch is done
  with: handled, skipped as a duplicate, or in the dead-letter topic. A batch is what
  one poll returns (up to `max_batch`); committing per batch rather than per message
  saves a broker round trip per event, and costs nothing in safety: after a crash the
  uncommitted part of a batch is redelivered, and handled events are then skipped by
  their id (ProcessedEvents) or made harmless by the handler's own idempotency.
- A handler failure is retried with exponential backoff; after `max_attempts` the
  message goes to `<topic>.dlq` with the error in its headers, and the partition moves
  on. A message that is not JSON or fails its schema goes there at once.
- A failure of the kinds in `unavailable` (the handler's own store unreachable) says
  nothing about the message: it is retried with the same backoff until it succeeds or
  the runner stops, never dead-lettered. An outage must not turn an erasure
  (`user.deleted`) into a letter someone has to replay by hand.
- Messages of one partition (one user's events of one type) are handled in order;
  partitions are handled concurrently.
- stop() (wired to SIGTERM/SIGINT by the CLI) finishes the message in progress,
  commits what is done and leaves the rest for the next owner of the partition.
- The broker comes in through a Transport (consumers/transport.py): KafkaTransport in
  production, MemoryBroker in the unit tests of this logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from consumers.dead_letters import dead_letter_headers
from consumers.events import AuthEvent, InvalidMessage, decode
from consumers.metrics import ConsumerMetrics
from consumers.processed import ProcessedEvents
from consumers.schemas import EventSchemas
from consumers.transport import (
    CommitFailed,
    DeadLetterSink,
    Partition,
    PartitionsRevoked,
    Record,
    RecordSource,
    Transport,
)
from quizauth_wire import topic_for

log = logging.getLogger(__name__)

Handler = Callable[[AuthEvent], Awaitable[None]]
# Enough doublings to reach any sensible backoff cap; more would overflow the float.
OUTAGE_BACKOFF_STEPS = 32


@dataclass(frozen=True)
class RunnerConfig:
    group_id: str
    topic_prefix: str = ""
    max_attempts: int = 5
    retry_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    poll_timeout_seconds: float = 1.0
    max_batch: int = 200
    # Exceptions meaning "a dependency is down", retried without limit (see above).
    unavailable: tuple[type[Exception], ...] = ()

    def retry_delay(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (from 1): doubled each time,
        capped."""
        return min(self.max_backoff_seconds, self.retry_backoff_seconds * 2.0 ** (attempt - 1))


class Stopping(Exception):
    """Shutdown was requested while a message waited for a retry: leave it uncommitted."""


class ConsumerRunner:
    def __init__(
        self,
        config: RunnerConfig,
        handlers: Mapping[str, Handler],
        processed: ProcessedEvents,
        transport: Transport,
        schemas: EventSchemas | None = None,
        metrics: ConsumerMetrics | None = None,
    ) -> None:
        self._config = config
        self._handlers = dict(handlers)
        self._processed = processed
        self._transport = transport
        self._schemas = schemas or EventSchemas()
        self.metrics = metrics or ConsumerMetrics()
        if unknown := set(handlers) - set(self._schemas.event_types):
            raise ValueError(f"no schema for event types {sorted(unknown)}")
        self._types_by_topic = {topic_for(t, config.topic_prefix): t for t in handlers}
        self._stop = asyncio.Event()
        self.started = asyncio.Event()  # set once its topics exist and it has joined

    @property
    def topics(self) -> list[str]:
        return list(self._types_by_topic)

    @property
    def group_id(self) -> str:
        return self._config.group_id

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Consume until stop(); raises only if a message can neither be handled nor
        dead-lettered, leaving it uncommitted for the next start."""
        source = self._transport.source(self.topics, self._config.group_id)
        dead_letters = self._transport.dead_letters()
        try:
            await source.start()
            await dead_letters.start()
            self.started.set()
            log.info("consuming %s as group %s", self.topics, self._config.group_id)
            while not self._stop.is_set():
                await self._poll_once(source, dead_letters)
        finally:
            await dead_letters.stop()
            await source.stop()

    async def _poll_once(self, source: RecordSource, dead_letters: DeadLetterSink) -> None:
        batches = await source.poll(self._config.poll_timeout_seconds, self._config.max_batch)
        if batches:
            async with asyncio.TaskGroup() as partitions:
                done = {
                    partition: partitions.create_task(
                        self._process_partition(records, dead_letters)
                    )
                    for partition, records in batches.items()
                }
            offsets = {partition: task.result() for partition, task in done.items()}
            await self._commit(source, {p: o for p, o in offsets.items() if o is not None})
        self.metrics.set_lag(self._config.group_id, await source.lags())

    async def _process_partition(
        self, records: list[Record], dead_letters: DeadLetterSink
    ) -> int | None:
        """The offset to commit: the one after the last message done with."""
        next_offset = None
        for record in records:
            if self._stop.is_set():
                break
            try:
                await self._process(record, dead_letters)
            except Stopping:
                break
            next_offset = record.offset + 1
        return next_offset

    async def _process(self, record: Record, dead_letters: DeadLetterSink) -> None:
        try:
            event = decode(record.value, self._schemas, self._types_by_topic[record.topic])
        except InvalidMessage as exc:
            await self._dead_letter(record, dead_letters, exc.reason, str(exc), attempts=0)
            return
        error = await self._handle_with_retries(event, record.topic)
        if error is not None:
            attempts = self._config.max_attempts
            await self._dead_letter(record, dead_letters, "handler_failed", error, attempts)

    async def _handle_with_retries(self, event: AuthEvent, topic: str) -> str | None:
        """None once handled; the last error when every attempt failed."""
        group = self._config.group_id
        failures = outage = 0
        while True:
            try:
                outcome = await self._handle_once(event)
            except self._config.unavailable as exc:  # not the message's fault: no limit
                outage += 1
                log.warning(
                    "event %s waits for its store: %s: %s", event.id, type(exc).__name__, exc
                )
                self.metrics.retries.labels(group, topic).inc()
                await self._backoff(min(outage, OUTAGE_BACKOFF_STEPS))
            except Exception as exc:  # any other failure: retried, then dead-lettered
                failures += 1
                error = f"{type(exc).__name__}: {exc}"
                log.warning("event %s attempt %d failed: %s", event.id, failures, error)
                if failures >= self._config.max_attempts:
                    return error
                self.metrics.retries.labels(group, topic).inc()
                await self._backoff(failures)
            else:
                self.metrics.processed.labels(group, topic, outcome).inc()
                return None

    async def _handle_once(self, event: AuthEvent) -> str:
        group = self._config.group_id
        if await self._processed.is_processed(group, event.id):
            return "duplicate"
        await self._handlers[event.type](event)
        # A crash right here redelivers the event: handlers must be idempotent themselves.
        await self._processed.mark_processed(group, event.id)
        return "handled"

    async def _backoff(self, attempt: int) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._config.retry_delay(attempt)):
                await self._stop.wait()
        if self._stop.is_set():
            raise Stopping

    async def _dead_letter(
        self,
        record: Record,
        dead_letters: DeadLetterSink,
        reason: str,
        error: str,
        attempts: int,
    ) -> None:
        group = self._config.group_id
        headers = dead_letter_headers(record, reason, error, group, attempts)
        await dead_letters.send(record, headers)
        self.metrics.dead_lettered.labels(group, record.topic, reason).inc()
        log.error(
            "dead-lettered %s[%d]@%d (%s): %s",
            record.topic,
            record.partition,
            record.offset,
            reason,
            error,
        )

    async def _commit(self, source: RecordSource, offsets: dict[Partition, int]) -> None:
        if not offsets:
            return
        try:
            await source.commit(offsets)
        except PartitionsRevoked:
            log.warning("partitions were reassigned before the commit; they will be redelivered")
        except CommitFailed as exc:
            # A later commit covers these offsets; until then a restart redelivers them.
            log.warning("commit failed: %s", exc)
