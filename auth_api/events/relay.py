"""Moves recorded events from the outbox to the broker, oldest first per user, and
marks them delivered only after the broker acknowledged them.

Three ways to find events, from cheapest to rarest: a notification from this process
names the user (one document read); a sweep pages through the pending markers, one
per user with undelivered events (nothing to read when all is delivered); a backstop
searches the user collection itself for events without a marker.

Every API process runs a relay, and all of them sweep the same markers. A relay
delivers a user's events only under a lease on that user's marker, taken before it reads
the events and given up after (or lapsing after `lease_seconds` when its holder died): so
in the steady state each event is published once, and a user's events in order. A relay
that finds the lease taken leaves the user to its holder, which finds any event recorded
meanwhile when it removes what it delivered, and goes on with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from auth_api.errors import DependencyUnavailable
from auth_api.events.publisher import EventPublisher, PublishFailed, TopicsRefused
from auth_api.model.clock import SYSTEM_CLOCK, Clock
from auth_api.model.events import EventType, PendingEvent, encode
from auth_api.store.ports import LeaseTerms, Outbox, UserEvents
from auth_api.workers.relay_loop import RelayLoop
from quizauth_wire import topic_for

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class RelayTuning:
    batch_users: int = 100
    # Users whose events are delivered at once. Each delivery ends in a write, and after
    # a Kafka outage a whole page of users is waiting: a hundred writes queued at once
    # would hold the requests' own writes back for seconds.
    concurrent_users: int = 8
    # How often the pending markers are swept, for events no notification pointed at:
    # recorded by another process or one that died, or left by a failed delivery. A
    # sweep reads the markers, never the users; a failure triggers one at once anyway.
    idle_poll_seconds: float = 5.0
    # How often the backstop searches the users for events without a marker (left by an
    # older release, or by a process that died between an event and its marker). It
    # reads the whole user collection on servers without a usable index: rare, and at
    # start, so that an upgrade's waiting events are marked.
    backstop_seconds: float = 600.0
    backstop_batch_users: int = 1000
    max_backoff_seconds: float = 5.0
    # How long a relay's claim on a user outlives the relay: after a crash, that user's
    # events wait this long. Far above one delivery's time (a few publishes of at most
    # the I/O timeout each); a holder renews it when half is gone before a publish.
    lease_seconds: float = 30.0


@dataclass(frozen=True)
class Held:
    """A lease this relay holds: taken when the marker's `v` was `version`, until `until`."""

    user_id: str
    version: str | None
    until: datetime


def relay_identity() -> str:
    """Names this relay in the leases it holds: the host (the pod) and process, for
    whoever reads the markers, and a random part, unique even when a pid is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class OutboxRelay(RelayLoop):
    expected_failures = (PublishFailed, DependencyUnavailable)
    first_backoff_seconds = 0.2

    def __init__(
        self,
        outbox: Outbox,
        publisher: EventPublisher,
        topic_prefix: str,
        tuning: RelayTuning | None = None,
        clock: Clock = SYSTEM_CLOCK,
        identity: str | None = None,
    ) -> None:
        self._tuning = tuning or RelayTuning()
        super().__init__("outbox relay", self._tuning.max_backoff_seconds, log)
        self.identity = identity or relay_identity()
        self._clock = clock
        self._outbox = outbox
        self._publisher = publisher
        self._prefix = topic_prefix
        self._last_sweep = float("-inf")
        self._last_backstop = float("-inf")
        # "pending" until the topics are known to exist: not tried yet, or Kafka did not
        # answer; "ok"; or "failed: <reason>" when the broker refused to create them.
        self.topics = "pending"
        self.published = 0
        self.failed = 0

    def _after_failure(self) -> None:
        # After any failure the next round sweeps everything: nothing waits for a hint.
        self._last_sweep = float("-inf")

    async def _next_round(self) -> None:
        now = self._clock.monotonic()
        if now >= self._last_backstop + self._tuning.backstop_seconds:
            # Set first: a failing backstop must not hold back the sweeps behind it.
            self._last_backstop = now
            await self.restore_markers()
            self._last_sweep = float("-inf")  # deliver what it marked
        until_sweep = self._last_sweep + self._tuning.idle_poll_seconds - self._clock.monotonic()
        if until_sweep <= 0:
            # The hints stay: a hinted user whose marker write failed is on no page.
            self._last_sweep = self._clock.monotonic()
            await self.drain_once()
        elif self._hinted:
            await self._drain_hinted()
        else:
            until_backstop = self._last_backstop + self._tuning.backstop_seconds - now
            await self._sleep(min(until_sweep, until_backstop))

    async def restore_markers(self) -> None:
        """The backstop: mark every user holding events without a marker, page by page."""
        after: str | None = ""
        while after is not None:
            after = await self._outbox.restore_markers(self._tuning.backstop_batch_users, after)

    async def _drain_hinted(self) -> None:
        users, self._hinted = self._hinted, set()
        await self._ensure_topics()
        await self._deliver_users(sorted(users))

    async def drain_once(self) -> int:
        """Deliver the users of one page of markers no other relay holds; the number of
        events delivered. Their markers go with their events, so the next page holds the
        next users; a user whose delivery fails holds back no other in its page."""
        await self._ensure_topics()
        page = await self._outbox.unleased_page(self._tuning.batch_users, self._clock.now())
        delivered = await self._deliver_users(page.user_ids)
        if page.full:
            self._last_sweep = float("-inf")  # more may wait: sweep on now
        return delivered

    async def _deliver_users(self, user_ids: list[str]) -> int:
        """Lease these users, read the events of those leased in one go, deliver them."""
        held = {h.user_id: h for h in await self._bounded(user_ids, self._lease) if h}
        batches = await self._outbox.events_of(list(held))
        for user_id in held.keys() - {batch.user_id for batch in batches}:
            await self._settle_empty(held[user_id])
        return sum(await self._bounded(batches, lambda b: self._deliver(b, held[b.user_id])))

    async def _bounded(self, items: Iterable[T], work: Callable[[T], Awaitable[R]]) -> list[R]:
        """`work` on every item, a few at a time: after a Kafka outage a whole page is
        waiting, and a hundred writes at once would hold the requests' own writes back.
        Every item's work runs to its end; then the first failure, if any, is raised."""
        slots = asyncio.Semaphore(self._tuning.concurrent_users)

        async def one(item: T) -> R:
            async with slots:
                return await work(item)

        results = await asyncio.gather(*map(one, items), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [r for r in results if not isinstance(r, BaseException)]

    async def _lease(self, user_id: str) -> Held | None:
        now = self._clock.now()
        until = now + timedelta(seconds=self._tuning.lease_seconds)
        lease = await self._outbox.lease(user_id, LeaseTerms(self.identity, now, until))
        return Held(user_id, lease.version, until) if lease else None

    async def _settle_empty(self, held: Held) -> None:
        """Leased, yet no event: delivered meanwhile by a former holder, or the marker was
        made by the lease. Dropped unless an event came since; then it is ours to do."""
        if not await self._outbox.drop_if_unchanged(held.user_id, held.version):
            self.notify(held.user_id)

    async def _deliver(self, batch: UserEvents, held: Held) -> int:
        delivered: list[PendingEvent] = []
        more = failed = False
        try:
            await self._publish_in_order(batch, held, delivered)
        except Exception:
            failed = True
            raise
        finally:
            if delivered:
                self.published += len(delivered)
                more = await self._outbox.mark_delivered(batch.user_id, delivered)
            await self._after_delivery(batch.user_id, more, failed)
        return len(delivered)

    async def _publish_in_order(
        self, batch: UserEvents, held: Held | None, delivered: list[PendingEvent]
    ) -> None:
        for event in batch.events:  # in order: the next waits for the previous ack
            held = await self._renewed(held)
            if held is None:
                return  # the lease lapsed and another relay took it: the rest is its
            topic = topic_for(event.type, self._prefix)
            try:
                await self._publisher.publish(topic, batch.user_id.encode(), encode(event))
            except PublishFailed:
                self.failed += 1
                raise
            delivered.append(event)

    async def _renewed(self, held: Held | None) -> Held | None:
        """The lease, renewed once half of it is gone; None when it can no longer be had."""
        if held is None:
            return None
        left = (held.until - self._clock.now()).total_seconds()
        if left > self._tuning.lease_seconds / 2:
            return held
        return await self._lease(held.user_id)

    async def _after_delivery(self, user_id: str, more: bool, failed: bool) -> None:
        if failed:
            # Let any relay retry it (this one too, after its backoff).
            with contextlib.suppress(DependencyUnavailable):
                await self._outbox.release(user_id, self.identity)
        elif more:
            # Events came meanwhile: keep the lease, and deliver them next round.
            self.notify(user_id)

    async def _ensure_topics(self) -> None:
        """Until this succeeds nothing is published: a topic the broker would create on
        first use gets its defaults, not the configured replication."""
        if self.topics == "ok":
            return
        try:
            await self._publisher.ensure_topics([topic_for(t, self._prefix) for t in EventType])
        except TopicsRefused as exc:
            self.topics = f"failed: {exc}"
            raise
        self.topics = "ok"
