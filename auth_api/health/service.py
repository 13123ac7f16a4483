"""Readiness: can this instance serve requests and deliver its events?"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auth_api.errors import DependencyUnavailable
from auth_api.model.clock import utc_now
from auth_api.security.stores import RevocationStore
from auth_api.store.ports import Outbox, UserStore


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
        servers_ok = all(value == "ok" for value in self.checks.values())
        topics_ok = not self.topics.startswith("failed")
        return servers_ok and topics_ok and self.outbox.get("status") == "ok"

    def as_dict(self) -> dict[str, Any]:
        status = "ready" if self.ready else "not ready"
        return {
            "status": status,
            "checks": self.checks,
            "outbox": self.outbox,
            "topics": self.topics,
        }


async def check_readiness(
    users: UserStore,
    revocations: RevocationStore,
    outbox: Outbox,
    max_age_seconds: int,
    topics: str = "disabled",
) -> Readiness:
    readiness = Readiness(topics=topics)
    for name, ping in (("mongodb", users.ping), ("redis", revocations.ping)):
        try:
            await ping()
            readiness.checks[name] = "ok"
        except DependencyUnavailable:
            readiness.checks[name] = "unavailable"
    readiness.outbox = await outbox_status(outbox, max_age_seconds)
    return readiness


async def outbox_backlog(outbox: Outbox) -> tuple[int, float]:
    """Undelivered events and the age in seconds of the oldest (0 when none), read from
    the store now; raises DependencyUnavailable when it cannot be read. Shared with the
    /metrics scrape, which presents it its own way."""
    count, oldest = await outbox.backlog()
    age = (utc_now() - oldest).total_seconds() if oldest else 0.0
    return count, age


async def outbox_status(outbox: Outbox, max_age_seconds: int) -> dict[str, Any]:
    """Backlog size and age; stale when the oldest event has waited longer than allowed,
    which means delivery to Kafka is stuck."""
    try:
        count, age = await outbox_backlog(outbox)
    except DependencyUnavailable:
        return {"status": "unknown"}
    status = "stale" if age > max_age_seconds else "ok"
    return {"status": status, "backlog": count, "oldest_age_seconds": round(age, 3)}
