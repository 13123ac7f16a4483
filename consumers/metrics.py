"""Prometheus metrics of a consumer runner, on a registry of its own so several runners
(and tests) can live in one process."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from consumers.transport import Partition


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.processed = Counter(
            "auth_events_consumer_messages_processed",
            "Messages done with: handled, or skipped as already handled (duplicate)",
            ["group", "topic", "outcome"],
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "auth_events_consumer_dead_letters",
            "Messages sent to <topic>.dlq, by reason: malformed, invalid, handler_failed",
            ["group", "topic", "reason"],
            registry=self.registry,
        )
        self.retries = Counter(
            "auth_events_consumer_retries",
            "Handler attempts that failed and were retried",
            ["group", "topic"],
            registry=self.registry,
        )
        self.lag = Gauge(
            "auth_events_consumer_lag",
            "Messages not yet consumed: end offset minus position, per assigned partition",
            ["group", "topic", "partition"],
            registry=self.registry,
        )
        self._lag_labels: set[tuple[str, str, str]] = set()

    def set_lag(self, group: str, lags: Mapping[Partition, int]) -> None:
        """Replace the lag of every partition; partitions no longer assigned disappear."""
        current = {(group, topic, str(partition)) for topic, partition in lags}
        for labels in self._lag_labels - current:
            self.lag.remove(*labels)
        for (topic, partition), lag in lags.items():
            self.lag.labels(group, topic, str(partition)).set(lag)
        self._lag_labels = current

    def serve(self, port: int, host: str) -> Callable[[], None]:
        """Serve the metrics over HTTP from a daemon thread; returns what stops it."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        return stop
