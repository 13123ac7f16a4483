"""Revocation by events: the deny-set is kept from the auth events on Kafka
(`user.logged_out`, `session.revoked`, `user.tokens_revoked`), for quiz services that
have no access to the auth service's Redis. They need the JWKS URL and read access to
those three topics, nothing else.

Each process keeps its own deny-set, so it reads every partition itself: no consumer
group, no committed offsets. At start it reads back the part of the log that can still
matter: every event since (now - keep_seconds), found with offsets_for_times.

Fail closed: a check answers DenylistUnavailable (a 503) until the deny-set is known to
be current, and again whenever it falls behind by more than `max_lag_seconds`. Current
means: for every partition, at a time no older than that bound, the broker reported a
high watermark that this process had already read up to. A revocation is then refused
within `max_lag_seconds` of reaching the log, or the check answers 503.
`fail_open=True` answers from what is held instead, logging a warning: a logged-out
token may then pass until the consumer catches up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from quizauth_client.deny_set import REVOCATION_EVENTS, DenySet, UnreadableEvent, revocation_of
from quizauth_client.denylist import DenylistUnavailable
from quizauth_wire import topic_for

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 10.0
WARN_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class EventsModeSettings:
    bootstrap_servers: str
    topic_prefix: str = ""  # the auth service's AUTH_KAFKA_TOPIC_PREFIX
    # At least the auth service's AUTH_ACCESS_TOKEN_TTL_SECONDS; 3600 is the most it allows.
    token_lifetime_seconds: int = 3600
    leeway_seconds: int = 10  # the TokenVerifier's
    clock_skew_seconds: int = 60  # between the auth service's clock and this one
    max_lag_seconds: float = 5.0
    fail_open: bool = False
    # Passed to AIOKafkaConsumer as they are: security_protocol, sasl_*, ssl_context...
    consumer_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def keep_seconds(self) -> int:
        """How long a revocation matters, and so how far back the log is read at start."""
        return self.token_lifetime_seconds + self.leeway_seconds + self.clock_skew_seconds

    @property
    def topics(self) -> list[str]:
        return [topic_for(event, self.topic_prefix) for event in REVOCATION_EVENTS]


class Freshness:
    """When each partition was last known to be read to its end (its high watermark)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._partitions: frozenset[TopicPartition] = frozenset()
        self._confirmed: dict[TopicPartition, float] = {}

    @property
    def partitions(self) -> frozenset[TopicPartition]:
        return self._partitions

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        # A partition added later counts as behind until it has been read to its end.
        self._partitions = frozenset(partitions)

    def confirm(self, partition: TopicPartition, at: float) -> None:
        self._confirmed[partition] = max(at, self._confirmed.get(partition, at))

    def lag_seconds(self) -> float:
        """Age of the oldest confirmation; infinite before every partition has one."""
        if not self._partitions or any(tp not in self._confirmed for tp in self._partitions):
            return math.inf
        oldest = min(self._confirmed[tp] for tp in self._partitions)
        return max(0.0, self._clock() - oldest)


@dataclass(frozen=True)
class EventsStatus:
    ready: bool
    lag_seconds: float
    partitions: int
    entries: int
    applied: int
    unreadable: int


class EventsDenylist:
    """A Denylist for TokenVerifier. `async with EventsDenylist(settings):` or
    start()/stop() around the app's life (a FastAPI lifespan)."""

    def __init__(self, settings: EventsModeSettings, clock: Callable[[], float] = time.time):
        self._settings = settings
        self._clock = clock
        self._deny = DenySet(settings.keep_seconds)
        self._freshness = Freshness(clock)
        self._task: asyncio.Task[None] | None = None
        self._failures = 0  # in a row, for the pause before the next consumer
        self._pruned_at = 0.0
        self._warned_at = -math.inf
        self._current = asyncio.Event()  # set while ready, as the consumer last saw it
        self.applied = 0
        self.unreadable = 0

    async def start(self) -> None:
        """Start following the log; returns at once (checks answer unavailable until the
        deny-set has caught up: see caught_up)."""
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="quizauth-events-mode")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> EventsDenylist:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def ready(self) -> bool:
        return self._freshness.lag_seconds() <= self._settings.max_lag_seconds

    async def caught_up(self) -> None:
        """Return once the deny-set is current (wrap it in asyncio.timeout to bound it)."""
        await self._current.wait()

    def status(self) -> EventsStatus:
        return EventsStatus(
            ready=self.ready,
            lag_seconds=self._freshness.lag_seconds(),
            partitions=len(self._freshness.partitions),
            entries=len(self._deny),
            applied=self.applied,
            unreadable=self.unreadable,
        )

    async def is_revoked(self, jti: str, user_id: str, session_id: str, issued_at: int) -> bool:
        lag = self._freshness.lag_seconds()
        if lag > self._settings.max_lag_seconds:
            self._behind(lag)
        return self._deny.is_revoked(jti, user_id, session_id, issued_at)

    def _behind(self, lag: float) -> None:
        if not self._settings.fail_open:
            raise DenylistUnavailable(f"revocation events {lag:.1f}s behind")
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(
                "events mode FAILING OPEN: revocation events %.1fs behind (bound %.1fs); "
                "revoked tokens may be accepted until the consumer catches up",
                lag,
                self._settings.max_lag_seconds,
            )

    async def _follow(self) -> None:
        """Consume for as long as the app lives; a broken consumer is replaced after a
        pause. Whatever happens, what was learnt stays, and so does its age."""
        while True:
            pause = min(10.0, 0.5 * 2**self._failures)
            self._failures += 1
            try:
                await self._follow_once()
            except (KafkaError, OSError) as exc:
                log.warning("events mode: consumer failed (%r); retrying in %.1fs", exc, pause)
            except Exception:
                # Anything else must not end the following for good (checks would answer
                # 503 for the rest of the process's life): say so loudly, and start over.
                log.exception("events mode: unexpected failure; retrying in %.1fs", pause)
            await asyncio.sleep(pause)

    async def _follow_once(self) -> None:
        consumer = self._new_consumer()
        try:
            await consumer.start()
            await self._seek_to_window(consumer)
            self._failures = 0  # it started: the next failure waits the shortest pause
            await self._consume(consumer)
        finally:
            with contextlib.suppress(KafkaError, OSError):
                await consumer.stop()

    def _new_consumer(self) -> AIOKafkaConsumer:
        options: dict[str, Any] = {
            "group_id": None,  # every partition, and no offsets committed
            "enable_auto_commit": False,
            # Only after the partitions change under us (then positions are reset): read
            # too much rather than skip a revocation. The start position is set by hand.
            "auto_offset_reset": "earliest",
            "fetch_max_wait_ms": 250,  # idle fetches confirm the high watermark this often
            "request_timeout_ms": 10_000,
            "metadata_max_age_ms": 30_000,  # partitions added are read within 30 s
            "client_id": "quizauth-events-mode",
            **self._settings.consumer_options,
        }
        topics = self._settings.topics
        return AIOKafkaConsumer(
            *topics, bootstrap_servers=self._settings.bootstrap_servers, **options
        )

    async def _seek_to_window(self, consumer: AIOKafkaConsumer) -> None:
        """Each partition from its first event of the last keep_seconds. The end offsets
        are read first: an event appended after them is read wherever the search ends."""
        partitions = sorted(consumer.assignment())
        ends = await consumer.end_offsets(partitions)
        since_ms = int(1000 * (self._clock() - self._settings.keep_seconds))
        found = await consumer.offsets_for_times(dict.fromkeys(partitions, since_ms))
        for tp in partitions:
            hit = found.get(tp)
            consumer.seek(tp, hit.offset if hit is not None else ends[tp])
        self._freshness.assign(partitions)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    self._apply(record)
            if consumer.assignment() != self._freshness.partitions:
                # aiokafka reassigned (partitions were added) and reset every position.
                await self._seek_to_window(consumer)
                continue
            await self._confirm(consumer)
            self._housekeeping()

    def _apply(self, record: Any) -> None:
        try:
            revocation = revocation_of(record.value)
        except UnreadableEvent as exc:
            # Nothing can be denied from it; counted, and loud, since it may be one lost.
            self.unreadable += 1
            log.error(
                "events mode: unreadable message %s[%d]@%d: %s",
                record.topic,
                record.partition,
                record.offset,
                exc,
            )
            return
        if revocation is not None:
            # A message without a timestamp (-1) is kept from now: never shorter.
            at = record.timestamp / 1000 if record.timestamp >= 0 else self._clock()
            self._deny.apply(revocation, at)
            self.applied += 1

    async def _confirm(self, consumer: AIOKafkaConsumer) -> None:
        """A partition is current as of the broker's last fetch answer, if everything up
        to the high watermark that answer reported has been applied."""
        for tp in self._freshness.partitions:
            highwater, polled_ms = consumer.highwater(tp), consumer.last_poll_timestamp(tp)
            if highwater is None or polled_ms is None:
                continue  # not fetched yet since the (re)assignment
            if await consumer.position(tp) >= highwater:
                self._freshness.confirm(tp, polled_ms / 1000)

    def _housekeeping(self) -> None:
        now = self._clock()
        if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._pruned_at = now
            self._deny.prune(now)
        ready = self.ready
        if ready != self._current.is_set():
            lag = self._freshness.lag_seconds()
            if ready:
                self._current.set()
                log.info("events mode: revocations current (%.1fs behind)", lag)
            else:
                self._current.clear()
                log.warning("events mode: revocations %.1fs behind; checks unavailable", lag)
