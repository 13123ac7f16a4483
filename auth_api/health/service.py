"""Readiness: can this process serve requests? Only what is this process's own decides
it: its startup done, its connection to MongoDB, without which no account can be read
or written, and its own creation of the event topics (a broker's refusal is a
configuration error that stops a rollout at its first pod). What all processes share
(Redis, Kafka, the outbox backlog) is reported in the answer and in /metrics, and
alerted on (infra/prometheus/rules.yml), but never makes a process unready: with Redis
down a process still registers and logs users in (on its own limiter), with Kafka down
events wait in the outbox, and an unready fleet would answer nothing at all instead."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from auth_api.errors import DependencyUnavailable
from auth_api.model.clock import SYSTEM_CLOCK, Clock
from auth_api.security.stores import RevocationStore
from auth_api.store.ports import BACKLOG_MAX_USERS, BacklogReading, Outbox, UserStore


@dataclass(frozen=True)
class OutboxBacklog:
    """Undelivered events and the age in seconds of the oldest (0 when none). When not
    `complete`, more users were pending than one reading reads and `events` is a lower
    bound."""

    events: int
    oldest_age_seconds: float
    complete: bool


class BacklogGauge:
    """The outbox backlog as /health/ready and /metrics show it. One reading reads at
    most `max_users` pending markers, and serves every caller for `ttl_seconds` unless
    this process recorded an event since (`invalidate`): anonymous callers cannot make
    the store read more often than that. A failed reading is kept as long. A reading
    that hit the bound (an incident: Kafka away for a while) is kept five times longer,
    events or not: finding its oldest event sorts the markers on servers without a
    usable index."""

    def __init__(
        self,
        outbox: Outbox,
        ttl_seconds: float = 2.0,
        max_users: int = BACKLOG_MAX_USERS,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._outbox = outbox
        self._ttl = ttl_seconds
        self._max_users = max_users
        self._clock = clock
        self._lock = asyncio.Lock()
        self._reading: BacklogReading | None = None
        self._read_at = float("-inf")

    def invalidate(self) -> None:
        """This process recorded an event: read again at the next call, unless the last
        reading hit the bound, which one more event does not change."""
        if self._reading is None or self._reading.complete:
            self._read_at = float("-inf")

    async def read(self) -> OutboxBacklog:
        """Raises DependencyUnavailable when the store cannot be read."""
        reading = await self._cached_reading()
        if reading is None:
            raise DependencyUnavailable("mongodb")
        oldest = reading.oldest
        age = (self._clock.now() - oldest).total_seconds() if oldest else 0.0
        return OutboxBacklog(reading.events, max(age, 0.0), reading.complete)

    async def _cached_reading(self) -> BacklogReading | None:
        async with self._lock:  # concurrent callers share one reading
            if self._clock.monotonic() - self._read_at >= self._current_ttl():
                try:
                    self._reading = await self._outbox.read_backlog(self._max_users)
                except DependencyUnavailable:
                    self._reading = None
                self._read_at = self._clock.monotonic()
            return self._reading

    def _current_ttl(self) -> float:
        incomplete = self._reading is not None and not self._reading.complete
        return self._ttl * 5 if incomplete else self._ttl


# Checks whose failure makes this process unready; the others only degrade it.
REQUIRED_CHECKS = ("startup", "mongodb")


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)
    outbox: dict[str, Any] = field(default_factory=dict)
    # The relay's event topics: "ok", "pending" (Kafka has not answered yet, which the
    # outbox's age covers), "failed: <reason>" (the broker refused to create them: no
    # event can be delivered until the configuration is fixed), or "disabled" (this
    # process runs no relay: AUTH_OUTBOX_RELAY=false).
    topics: str = "disabled"

    @property
    def ready(self) -> bool:
        # The topics: this process's own startup step (creating what it publishes to),
        # so a refusal makes it unready; "pending" (Kafka not reached yet) does not.
        topics_ok = not self.topics.startswith("failed")
        return topics_ok and all(self.checks.get(name) == "ok" for name in REQUIRED_CHECKS)

    @property
    def degraded(self) -> list[str]:
        """Shared servers this process cannot use now: the requests that need them fail
        (Redis: authenticated requests get 503), the others are served."""
        return [n for n, v in self.checks.items() if v != "ok" and n not in REQUIRED_CHECKS]

    def as_dict(self) -> dict[str, Any]:
        status = "ready" if self.ready else "not ready"
        return {
            "status": status,
            "checks": self.checks,
            "degraded": self.degraded,
            "outbox": self.outbox,
            "topics": self.topics,
        }


async def check_readiness(
    started: bool,
    users: UserStore,
    revocations: RevocationStore,
    backlog: BacklogGauge,
    max_age_seconds: int,
    topics: str = "disabled",
) -> Readiness:
    readiness = Readiness(topics=topics)
    readiness.checks["startup"] = "ok" if started else "starting"
    for name, up in (await reachable(users, revocations)).items():
        readiness.checks[name] = "ok" if up else "unavailable"
    readiness.outbox = await outbox_status(backlog, max_age_seconds)
    return readiness


async def reachable(users: UserStore, revocations: RevocationStore) -> dict[str, bool]:
    """Whether this process reaches each server now: one ping each."""
    found = {}
    for name, ping in (("mongodb", users.ping), ("redis", revocations.ping)):
        try:
            await ping()
            found[name] = True
        except DependencyUnavailable:
            found[name] = False
    return found


async def outbox_status(backlog: BacklogGauge, max_age_seconds: int) -> dict[str, Any]:
    """Backlog size and age, shared by every process; stale when the oldest event has
    waited longer than allowed, which means delivery to Kafka is stuck. Information for
    whoever reads it (and the metric the alerts use), not a reason to be unready."""
    try:
        reading = await backlog.read()
    except DependencyUnavailable:
        return {"status": "unknown"}
    age = reading.oldest_age_seconds
    return {
        "status": "stale" if age > max_age_seconds else "ok",
        "backlog": reading.events,
        "backlog_complete": reading.complete,
        "oldest_age_seconds": round(age, 3),
    }
