"""GET /metrics: the process-wide counters plus the event-delivery state of this app,
read at scrape time (outbox backlog from the store, relay counters from the relay), and
the state of its near cache of the denylist when it has one.
Behind a bearer token when AUTH_METRICS_TOKEN is set; on a port of its own when
AUTH_METRICS_PORT is (metrics_server.py)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.registry import Collector

from auth_api.api.deps import ContainerDep
from auth_api.api.mail_metrics import mail_exposition
from auth_api.errors import DependencyUnavailable, NotAuthenticated
from auth_api.events.relay import OutboxRelay
from auth_api.health.service import BacklogGauge, reachable
from auth_api.security.redis_stores import RedisRevocationStore
from auth_api.security.stores import RevocationStore
from quizauth_client.near_cache import NearCache

log = logging.getLogger(__name__)
router = APIRouter()


@dataclass(frozen=True)
class OutboxReading:
    readable: bool
    backlog: int = 0
    oldest_age_seconds: float = 0.0
    complete: bool = True


async def read_outbox(backlog: BacklogGauge) -> OutboxReading:
    try:
        reading = await backlog.read()
    except DependencyUnavailable as exc:
        log.warning("metrics: outbox backlog unreadable: %s", exc)
        return OutboxReading(readable=False)
    return OutboxReading(True, reading.events, reading.oldest_age_seconds, reading.complete)


# The states of the relay's event topics (Container.topics_status), by their first word.
TOPIC_STATES = ("ok", "pending", "failed", "disabled")


def topic_states(status: str) -> dict[str, bool]:
    return {state: status.startswith(state) for state in TOPIC_STATES}


class DeliveryCollector(Collector):
    """One scrape's view of event delivery and of the servers this process reaches;
    built per request, so apps never share it."""

    def __init__(
        self, outbox: OutboxReading, relay: OutboxRelay, topics: str, servers: dict[str, bool]
    ) -> None:
        self._outbox = outbox
        self._relay = relay
        self._topics = topics
        self._servers = servers

    def collect(self) -> Iterator[Metric]:
        reachable = GaugeMetricFamily(
            "auth_dependency_reachable",
            "1 when this process reached the server at this scrape (one ping); Redis "
            "unreachable makes authenticated requests 503 but not the process unready",
            labels=["dependency"],
        )
        for name, up in sorted(self._servers.items()):
            reachable.add_metric([name], 1 if up else 0)
        yield reachable
        yield GaugeMetricFamily(
            "auth_outbox_relay_paused",
            "1 while this process's relay backs off after a failed round (Kafka or "
            "MongoDB refusing); 0 while it delivers or has nothing to deliver",
            value=1 if self._relay.paused else 0,
        )
        yield GaugeMetricFamily(
            "auth_outbox_readable",
            "1 when the outbox backlog could be read from the user store at this scrape",
            value=1 if self._outbox.readable else 0,
        )
        if self._outbox.readable:
            yield GaugeMetricFamily(
                "auth_outbox_backlog_events",
                "Events recorded but not yet acknowledged by Kafka (a lower bound when "
                "auth_outbox_backlog_complete is 0)",
                value=self._outbox.backlog,
            )
            yield GaugeMetricFamily(
                "auth_outbox_backlog_complete",
                "1 when the backlog counts every pending user; 0 when there were more "
                "than one reading reads",
                value=1 if self._outbox.complete else 0,
            )
            yield GaugeMetricFamily(
                "auth_outbox_oldest_event_age_seconds",
                "Age of the oldest undelivered event; grows while delivery is stuck",
                value=self._outbox.oldest_age_seconds,
            )
        yield CounterMetricFamily(
            "auth_events_published",
            "Events acknowledged by Kafka and removed from the outbox by this process",
            value=self._relay.published,
        )
        yield CounterMetricFamily(
            "auth_events_publish_failures",
            "Deliveries stopped by a failed publish (one per user batch; retried later)",
            value=self._relay.failed,
        )
        yield StateSetMetricFamily(
            "auth_event_topics",
            "The relay's event topics: ok, pending (Kafka not reached yet), failed (the"
            " broker refused to create them; nothing is delivered), disabled (no relay here)",
            value=topic_states(self._topics),
        )


class NearCacheCollector(Collector):
    """The near cache of the denylist: whether it answers now, and how reads went."""

    def __init__(self, cache: NearCache) -> None:
        self._cache = cache

    def collect(self) -> Iterator[Metric]:
        cache, stats = self._cache, self._cache.stats
        yield GaugeMetricFamily(
            "auth_revocation_near_cache_live",
            "1 while the near cache may answer: its invalidation channel is up",
            value=1 if cache.live else 0,
        )
        yield GaugeMetricFamily(
            "auth_revocation_near_cache_keys",
            "Keys held in the copy: the denylist's, and introspection failure counters",
            value=len(cache),
        )
        reads = CounterMetricFamily(
            "auth_revocation_near_cache_reads",
            "Revocation checks (and peeks at introspection failure counters), by where the "
            "answer came from: the copy, Redis while the channel was up (a miss), or Redis "
            "while it was down",
            labels=["source"],
        )
        for source, count in (
            ("copy", stats.hits),
            ("redis_miss", stats.fetches),
            ("redis_channel_down", stats.direct),
        ):
            reads.add_metric([source], count)
        yield reads
        yield CounterMetricFamily(
            "auth_revocation_near_cache_channel_losses",
            "Times the invalidation channel went down after being up (the copy is emptied)",
            value=cache.channel_losses,
        )


def near_cache_of(revocations: RevocationStore) -> NearCache | None:
    return revocations.near_cache if isinstance(revocations, RedisRevocationStore) else None


def exposition(
    outbox: OutboxReading,
    relay: OutboxRelay,
    topics: str,
    servers: dict[str, bool],
    near_cache: NearCache | None = None,
) -> bytes:
    delivery = CollectorRegistry(auto_describe=False)
    delivery.register(DeliveryCollector(outbox, relay, topics, servers))
    if near_cache is not None:
        delivery.register(NearCacheCollector(near_cache))
    return generate_latest(REGISTRY) + generate_latest(delivery)


def require_metrics_token(authorization: str | None, token: str) -> None:
    scheme, _, presented = (authorization or "").partition(" ")
    # Compared in constant time: the token is a secret, and this is its only check.
    valid = scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), token.encode())
    if not valid:
        raise NotAuthenticated


@router.get("/metrics", include_in_schema=False)
async def metrics(container: ContainerDep, request: Request) -> Response:
    if (token := container.settings.metrics_token) is not None:
        require_metrics_token(request.headers.get("authorization"), token.get_secret_value())
    reading = await read_outbox(container.backlog)
    backends = container.backends
    servers = await reachable(backends.users, backends.revocations)
    near_cache = near_cache_of(backends.revocations)
    body = exposition(reading, container.relay, container.topics_status, servers, near_cache)
    body += mail_exposition(container.mail_relay)
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)
