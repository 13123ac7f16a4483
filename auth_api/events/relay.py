"""Moves recorded events from the outbox to the broker, oldest first per user, and
marks them delivered only after the broker acknowledged them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from auth_api.errors import DependencyUnavailable
from auth_api.events.model import EventType, encode
from auth_api.events.publisher import EventPublisher, PublishFailed
from auth_api.users.store import Outbox, UserEvents

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelayTuning:
    batch_users: int = 100
    idle_poll_seconds: float = 1.0
    max_backoff_seconds: float = 5.0


def topic_for(prefix: str, event_type: EventType | str) -> str:
    return f"{prefix}{event_type}"


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        publisher: EventPublisher,
        topic_prefix: str,
        tuning: RelayTuning | None = None,
    ) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._prefix = topic_prefix
        self._tuning = tuning or RelayTuning()
        self._wake = asyncio.Event()
        self._topics_ready = False
        self._stopping = False
        self.published = 0
        self.failed = 0

    def notify(self) -> None:
        """A request recorded an event: deliver it now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the delivery in progress, then return from run()."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.0
        while not self._stopping:
            try:
                delivered = await self.drain_once()
                backoff = 0.0
                if delivered == 0:
                    await self._sleep(self._tuning.idle_poll_seconds)
            except (PublishFailed, DependencyUnavailable) as exc:
                backoff = self._next_backoff(backoff)
                log.warning("outbox relay: delivery paused for %.1fs: %s", backoff, exc)
                await self._sleep(backoff)
            except Exception:
                # A bug or a bad document must never end delivery for good: log it loudly
                # and try again; the events stay in the outbox meanwhile.
                backoff = self._next_backoff(backoff)
                log.exception("outbox relay: unexpected failure, retrying in %.1fs", backoff)
                await self._sleep(backoff)

    def _next_backoff(self, previous: float) -> float:
        return min(self._tuning.max_backoff_seconds, max(0.2, previous * 2))

    async def drain_once(self) -> int:
        """Deliver what is pending now; the number of events delivered."""
        await self._ensure_topics()
        batches = await self._outbox.pending(self._tuning.batch_users)
        results = await asyncio.gather(
            *(self._deliver(batch) for batch in batches), return_exceptions=True
        )
        # Every user's delivery ran to its end; now surface the first failure, if any.
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    async def _deliver(self, batch: UserEvents) -> int:
        delivered: list[str] = []
        try:
            for event in batch.events:  # in order: the next waits for the previous ack
                topic = topic_for(self._prefix, event.type)
                await self._publisher.publish(topic, batch.user_id.encode(), encode(event))
                delivered.append(event.id)
        except PublishFailed:
            self.failed += 1
            raise
        finally:
            if delivered:
                self.published += len(delivered)
                await self._outbox.mark_delivered(batch.user_id, delivered)
        return len(delivered)

    async def _ensure_topics(self) -> None:
        if not self._topics_ready:
            await self._publisher.ensure_topics([topic_for(self._prefix, t) for t in EventType])
            self._topics_ready = True

    async def _sleep(self, seconds: float) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()
